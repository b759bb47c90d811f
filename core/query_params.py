"""Every list endpoint names the query parameters it reads; any other one is a 400 naming it.

A misspelt or unsupported filter that is silently ignored answers a different question than
the one asked (an unfiltered list that looks filtered), so it is refused instead.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from core.errors import ValidationFailed

# What the native page/cursor pagination reads (core.pagination).
PAGINATION_PARAMS = frozenset({"page", "page_size", "pagination", "cursor"})
PAGE_PARAMS = frozenset({"page", "page_size", "pagination"})


class UnknownQueryParameter(ValidationFailed):
    code = "unknown_query_parameter"
    title = "The request has a query parameter this endpoint does not know"


def unknown_query_params(names: Iterable[str], known: Iterable[str]) -> list[str]:
    known = set(known)
    return sorted({name for name in names if name not in known})


def query_params_check(query_params: Mapping[str, Any], known: Iterable[str]) -> None:
    """Raise `unknown_query_parameter` (400) naming every parameter not in `known`."""
    unknown = unknown_query_params(query_params.keys(), known)
    if unknown:
        raise UnknownQueryParameter(
            {name[:60]: ["This endpoint has no such query parameter."] for name in unknown},
            detail=f"Unknown query parameter: {', '.join(name[:60] for name in unknown)}.",
        )
