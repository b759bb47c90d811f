"""Finding orders by a piece of their number (the API's `search`, the staff admin's search box).

A piece of a number ("X7", "7K2A") matches anywhere in it, in either case. `number ILIKE '%X7%'`
alone reads every order of the list to find them, and counts them by reading every order again,
so a search would cost more every day. In PostgreSQL each order's number is also indexed by its
bigrams, its pairs of neighbouring characters (`ORD-20261203-X7K2AB` -> `OR`, `RD`, `D-`, ...,
`X7`, `7K`, ...; the GIN index order_number_grams_idx over `orderflow_number_grams(number)`,
migration 0011): a number holding "7K2A" holds its bigrams `7K`, `K2` and `2A`, so the index finds
the few orders that hold all of them and the `ILIKE` keeps those that hold them in that order.
A piece of one or two characters (one bigram at most) is held by a share of all orders that does
not shrink as history grows ("X7" by about one order in forty): those are found by reading the
newest orders in order until the page is full, which costs the same at any length of history.
Other databases (SQLite) look for the piece alone.
"""

from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import ArrayField
from django.db import connections, models
from django.db.models import Func, Q, QuerySet
from django.utils.text import smart_split, unescape_string_literal

from orders.models import Order

GRAMS_ALIAS = "number_grams"
# A word of the admin's search that names more customers than this is looked up by a subquery
# (correct, and as slow as a search that broad is anyway); fewer are given to the index as values.
CUSTOMERS_AS_VALUES = 500


class NumberGrams(Func):
    """`orderflow_number_grams(number)`: the distinct bigrams of the number, in upper case."""

    function = "orderflow_number_grams"
    output_field = ArrayField(models.TextField())


def number_grams(piece: str) -> list[str]:
    """The bigrams an order number holding `piece` holds (upper case); none for a single
    character, or for a piece whose upper case PostgreSQL and Python might not agree on."""
    if not piece.isascii():
        return []
    upper = piece.upper()
    return sorted({upper[i : i + 2] for i in range(len(upper) - 1)})


def _with_grams(queryset: QuerySet[Order]) -> QuerySet[Order]:
    if connections[queryset.db].vendor == "postgresql" and GRAMS_ALIAS not in queryset.query.annotations:
        return queryset.alias(**{GRAMS_ALIAS: NumberGrams("number")})
    return queryset


def _number_holds(queryset: QuerySet[Order], piece: str) -> Q:
    holds = Q(number__icontains=piece)
    grams = number_grams(piece)
    if len(grams) < 2 or GRAMS_ALIAS not in queryset.query.annotations:
        # One or two characters: a piece that short is held by a share of all orders that does
        # not shrink with history, so the newest orders, read in order until a page is full,
        # hold enough of them; the index would hand over every order ever placed that holds it.
        return holds
    return Q(**{f"{GRAMS_ALIAS}__contains": grams}) & holds


def orders_with_number_holding(queryset: QuerySet[Order], piece: str) -> QuerySet[Order]:
    """The orders of `queryset` whose number holds `piece` (the API's `search`)."""
    queryset = _with_grams(queryset)
    return queryset.filter(_number_holds(queryset, piece))


def orders_matching_search(queryset: QuerySet[Order], search_term: str) -> QuerySet[Order]:
    """The staff admin's search box: every word (quoted words keep their spaces) is in the
    order's number, or in its customer's username or email."""
    queryset = _with_grams(queryset)
    users = get_user_model().objects.all()
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if not bit:
            continue
        customers = users.filter(Q(username__icontains=bit) | Q(email__icontains=bit)).values_list("pk", flat=True)
        named = list(customers[: CUSTOMERS_AS_VALUES + 1])
        # As values, the customer index answers this branch next to the number's (a BitmapOr);
        # a subquery there would make PostgreSQL read every order.
        by_customer = Q(customer_id__in=named) if len(named) <= CUSTOMERS_AS_VALUES else Q(customer_id__in=customers)
        queryset = queryset.filter(_number_holds(queryset, bit) | by_customer)
    return queryset
