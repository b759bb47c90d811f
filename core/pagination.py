"""Page-number pagination by default (the order-process API), cursor pagination on request (the three-status order API).

`?page=2&page_size=50` answers `count/next/previous/results`; `?pagination=cursor` (first
page) or `?cursor=<next_cursor>` answers `has_more/next_cursor/results`. Page sizes are
capped at `ORDERFLOW_API_MAX_PAGE_SIZE`.

A page-mode `count` is exact up to `LongListPaginator.EXACT_UP_TO` (1,000) and PostgreSQL's
estimate above (see LongListPaginator): counting a restaurant's year of orders exactly would read
every one of them for every page.
"""

import json
from base64 import b64decode
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Field, Model, QuerySet
from rest_framework import pagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationFailed

PAGE = "page"
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)  # PostgreSQL's limit
CURSOR = "cursor"


def _one(request: Request, name: str) -> str | None:
    """The parameter's value; given twice it is a 400, as the filters do, not "the last one wins"."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ValidationFailed({name: ["Give one value only."]})
    return values[0] if values else None


def _positive_int(request: Request, name: str) -> int | None:
    raw = _one(request, name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise ValidationFailed({name: ["Must be a whole number of at least 1."]})
    return int(raw)


# `_positive_int`'s bounds, as the schema states them.
WHOLE_NUMBER = {"type": "integer", "minimum": 1, "maximum": 999_999_999}


def _page_size(request: Request) -> int:
    size: int = _positive_int(request, "page_size") or settings.ORDERFLOW_API_PAGE_SIZE
    most: int = settings.ORDERFLOW_API_MAX_PAGE_SIZE
    return min(size, most)


def planner_estimate(queryset: Any) -> int | None:
    """How many rows PostgreSQL's planner expects `queryset` to hold (EXPLAIN: its statistics, no
    row read); None where there is no such estimate (another database, not a queryset)."""
    query = getattr(queryset, "query", None)
    if query is None:
        return None
    connection = connections[getattr(queryset, "db", "default")]
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = query.sql_with_params()
    except EmptyResultSet:  # a list that cannot hold a row (`.none()`, `__in` an empty list)
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class LongListPaginator(Paginator):  # type: ignore[type-arg]  # Django's Paginator takes no type arguments at run time
    """Page numbers over lists that grow without end (a restaurant's year of orders).

    Counting a list exactly reads every row it holds, so each page would cost more the longer the
    history. This one first asks PostgreSQL's planner how long the list is (EXPLAIN: statistics,
    no row read). A list it expects to hold at most `EXACT_UP_TO` rows (a customer's, a courier's,
    a small restaurant's, a search for a rare piece of a number) is counted exactly, reading at
    most `EXACT_UP_TO` + 1 rows (`COUNT(*)` over a `LIMIT`), and given PostgreSQL's estimate if it
    holds more after all. A list the planner expects to be longer is counted only as far as one
    page and one row: if that finds fewer, that is its exact length (the planner was wrong); if
    not, the list is given the estimate. Either way the count never reads more than a bounded
    number of rows, and is never less than what was counted. The last pages of a huge list may
    then come out empty, or the estimate may stop short of them; cursor pagination
    (`?pagination=cursor`) reaches every row of any list. Other databases (SQLite) have no
    estimate: there the list is counted up to `EXACT_UP_TO` + 1 rows, and past that the count
    is that.
    """

    EXACT_UP_TO = 1_000

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if not isinstance(object_list, QuerySet):
            return super().count
        estimate = planner_estimate(object_list)
        most = self.EXACT_UP_TO if estimate is None or estimate <= self.EXACT_UP_TO else int(self.per_page)
        # Unordered: the scan stops at the limit (an ordered one would sort every row first).
        counted = object_list.order_by()[: most + 1].count()
        if counted <= most:
            return counted
        return max(counted, estimate or 0)


class _PageNumber(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    django_paginator_class = LongListPaginator

    def get_page_size(self, request: Request) -> int:
        return _page_size(request)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        def param(name: str, description: str) -> dict[str, Any]:
            return {"name": name, "required": False, "in": "query", "description": description, "schema": WHOLE_NUMBER}

        return [
            param("page", "Page number."),
            param("page_size", f"Results per page, at most {settings.ORDERFLOW_API_MAX_PAGE_SIZE}."),
        ]

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None  # noqa: S101 -- paginate_queryset ran first, as DRF calls them
        return Response(
            {
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )


class _Cursor(pagination.CursorPagination):
    page_size_query_param = "page_size"
    ordering: tuple[str, ...]

    def __init__(self, ordering: tuple[str, ...]):
        self.ordering = ordering

    def get_page_size(self, request: Request) -> int:
        return _page_size(request)

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: APIView | None) -> tuple[str, ...]:
        return self.ordering

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list[Any] | None:
        self.model: type[Model] = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def _check_position(self, position: str | None) -> None:
        """The position must be a value of the first ordering field, or the query would fail."""
        if position is None:
            return
        field = cast("Field[Any, Any]", self.model._meta.get_field(self.ordering[0].lstrip("-")))
        value = field.to_python(position)
        if isinstance(value, datetime):
            value.astimezone(UTC)  # out of range once in UTC: OverflowError
            offset = value.utcoffset()
            if offset is not None and abs(offset) > MAX_UTC_OFFSET:
                raise ValueError(position)

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        encoded = _one(request, self.cursor_query_param)
        if not encoded:
            return None
        try:
            # DRF's own decoding lets any junk through as "the first page"; a client that sends
            # junk should hear about it.
            tokens = parse_qs(b64decode(encoded.encode("ascii"), validate=True).decode("ascii"), strict_parsing=True)
            if set(tokens) - {"o", "r", "p"} or any(len(values) > 1 for values in tokens.values()):
                raise ValueError(encoded)
            cursor = super().decode_cursor(request)
            if cursor is not None:
                self._check_position(None if cursor.position is None else str(cursor.position))
            return cursor
        except Exception:
            raise ValidationFailed({"cursor": ["Not a cursor this API gave out."]}) from None

    def next_cursor(self) -> str | None:
        link = self.get_next_link()
        if link is None:
            return None
        return parse_qs(urlsplit(link).query)[self.cursor_query_param][0]

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"has_more": self.has_next, "next_cursor": self.next_cursor(), "results": data})


class PageOrCursorPagination(pagination.BasePagination):
    """Either kind, chosen per request. `ordering` must end with a unique field for cursors."""

    ordering: tuple[str, ...] = ("-placed_at", "-id")

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list[Any] | None:
        mode = _one(request, "pagination") or (CURSOR if CURSOR in request.query_params else PAGE)
        if mode not in (PAGE, CURSOR):
            raise ValidationFailed({"pagination": ["Must be one of: page, cursor."]})
        _positive_int(request, "page_size")
        self._paginator: _Cursor | _PageNumber
        if mode == CURSOR:
            self._paginator = _Cursor(self.ordering)
        else:
            _positive_int(request, "page")
            self._paginator = _PageNumber()
            queryset = queryset.order_by(*self.ordering)
        return self._paginator.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        return self._paginator.get_paginated_response(data)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "description": "Page mode answers count/next/previous; cursor mode answers has_more/next_cursor.",
            "required": ["results"],
            "properties": {
                "count": {"type": "integer", "example": 42},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "has_more": {"type": "boolean"},
                "next_cursor": {"type": "string", "nullable": True},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        def param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
            return {"name": name, "required": False, "in": "query", "description": description, "schema": schema}

        return [
            param("page", "Page number (page mode).", WHOLE_NUMBER),
            param("page_size", f"Results per page, at most {settings.ORDERFLOW_API_MAX_PAGE_SIZE}.", WHOLE_NUMBER),
            param(
                "pagination",
                "`cursor` for cursor pagination from the first page.",
                {"type": "string", "enum": [PAGE, CURSOR]},
            ),
            param("cursor", "The `next_cursor` of the previous page (cursor mode).", {"type": "string"}),
        ]


class PagePagination(_PageNumber):
    """Page-number pagination only, for lists with an order of their own (nearest first)."""

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list[Any] | None:
        if _one(request, "pagination") not in (None, "", PAGE) or CURSOR in request.query_params:
            raise ValidationFailed({"pagination": ["This list pages by number only (page, page_size)."]})
        _positive_int(request, "page")
        _positive_int(request, "page_size")
        return super().paginate_queryset(queryset, request, view)
