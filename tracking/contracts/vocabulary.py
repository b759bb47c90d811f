"""One mapping table per contract from the canonical order statuses to that contract's words.

A row maps one canonical status, optionally only for orders matching `when` (order field
lookups, e.g. `{"delivery_type": "pickup"}` or `{"returned_at__isnull": False}`), to a word.
The same rows answer both directions: the word an order shows (`word_for`), and the orders a
word filters (`q_for`), so a filter by a word finds exactly the orders that show it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from orders.models import OrderStatus


@dataclass(frozen=True)
class Row:
    status: OrderStatus
    word: str
    when: Mapping[str, Any] = field(default_factory=dict)

    def q(self) -> Q:
        return Q(status=self.status, **self.when)

    def holds_for(self, order: Any) -> bool:
        if _get(order, "status") != self.status:
            return False
        for lookup, expected in self.when.items():
            if lookup.endswith("__isnull"):
                if (_get(order, lookup.removesuffix("__isnull")) is None) != expected:
                    return False
            elif _get(order, lookup) != expected:
                return False
        return True


def _get(order: Any, name: str) -> Any:
    return order[name] if isinstance(order, Mapping) else getattr(order, name)


class StatusVocabulary:
    """`rows` must give every canonical status a word (checked at import); `unused_words` are
    words the contract documents that no canonical status maps to: they filter nothing."""

    def __init__(self, rows: Iterable[Row], *, unused_words: Iterable[str] = ()) -> None:
        self.rows = tuple(rows)
        self.unused_words = tuple(unused_words)
        uncovered = [s for s in OrderStatus if not any(r.status == s and not r.when for r in self.rows)]
        # A status with conditional rows must end with an unconditional one (the fallback).
        if uncovered:
            raise ValueError(f"no unconditional word for {', '.join(uncovered)}")

    @property
    def words(self) -> list[str]:
        return list(dict.fromkeys([*(row.word for row in self.rows), *self.unused_words]))

    def word_for(self, order: Any) -> str:
        """The word of an order (a model instance or a dict with the fields the rows read)."""
        return next(row.word for row in self.rows if row.holds_for(order))

    def word_for_status(self, status: str) -> str:
        """The word of a status with no conditions (for events, which carry the status only)."""
        return next(row.word for row in self.rows if row.status == status and not row.when)

    def q_for(self, word: str) -> Q:
        """The orders that show `word`; KeyError for a word the contract does not have."""
        if word not in self.words:
            raise KeyError(word)
        query = Q(pk__in=[])
        for status in OrderStatus:
            rows = [row for row in self.rows if row.status == status]
            taken = Q(pk__in=[])
            for row in rows:  # first matching row wins, as in word_for
                if row.word == word:
                    query |= row.q() & ~taken
                taken |= row.q()
        return query

    def table(self) -> list[tuple[str, str, str]]:
        """(canonical status, condition, word) rows, as docs/contracts/ prints them."""
        return [
            (row.status.value, ", ".join(CONDITION_NAMES[(k, v)] for k, v in row.when.items()) or "-", row.word)
            for row in self.rows
        ]


# How docs/contracts/ names the conditions rows use.
CONDITION_NAMES = {
    ("delivery_type", "pickup"): "self-pickup order",
    ("returned_at__isnull", False): "after a return",
}
