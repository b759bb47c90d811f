"""Page-number pagination by default (the order-process API), cursor pagination on request (the three-status order API).

`?page=2&page_size=50` answers `count/next/previous/results`; `?pagination=cursor` (first
page) or `?cursor=<next_cursor>` answers `has_more/next_cursor/results`. Page sizes are
capped at `ORDERFLOW_API_MAX_PAGE_SIZE`.
"""

from base64 import b64decode
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from rest_framework import pagination
from rest_framework.response import Response

from core.errors import ValidationFailed

PAGE = "page"
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)  # PostgreSQL's limit
CURSOR = "cursor"


def _one(request, name: str) -> str | None:
    """The parameter's value; given twice it is a 400, as the filters do, not "the last one wins"."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ValidationFailed({name: ["Give one value only."]})
    return values[0] if values else None


def _positive_int(request, name: str) -> int | None:
    raw = _one(request, name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise ValidationFailed({name: ["Must be a whole number of at least 1."]})
    return int(raw)


def _page_size(request) -> int:
    size = _positive_int(request, "page_size") or settings.ORDERFLOW_API_PAGE_SIZE
    return min(size, settings.ORDERFLOW_API_MAX_PAGE_SIZE)


class _PageNumber(pagination.PageNumberPagination):
    page_size_query_param = "page_size"

    def get_page_size(self, request):
        return _page_size(request)

    def get_paginated_response(self, data):
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

    def __init__(self, ordering: tuple[str, ...]):
        self.ordering = ordering

    def get_page_size(self, request):
        return _page_size(request)

    def get_ordering(self, request, queryset, view):
        return self.ordering

    def paginate_queryset(self, queryset, request, view=None):
        self.model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def _check_position(self, position: str | None) -> None:
        """The position must be a value of the first ordering field, or the query would fail."""
        if position is None:
            return
        value = self.model._meta.get_field(self.ordering[0].lstrip("-")).to_python(position)
        if isinstance(value, datetime):
            value.astimezone(UTC)  # out of range once in UTC: OverflowError
            if value.utcoffset() is not None and abs(value.utcoffset()) > MAX_UTC_OFFSET:
                raise ValueError(position)

    def decode_cursor(self, request):
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
            self._check_position(cursor.position)
            return cursor
        except Exception:
            raise ValidationFailed({"cursor": ["Not a cursor this API gave out."]}) from None

    def next_cursor(self) -> str | None:
        link = self.get_next_link()
        if link is None:
            return None
        return parse_qs(urlsplit(link).query)[self.cursor_query_param][0]

    def get_paginated_response(self, data):
        return Response({"has_more": self.has_next, "next_cursor": self.next_cursor(), "results": data})


class PageOrCursorPagination(pagination.BasePagination):
    """Either kind, chosen per request. `ordering` must end with a unique field for cursors."""

    ordering: tuple[str, ...] = ("-placed_at", "-id")

    def paginate_queryset(self, queryset, request, view=None):
        mode = _one(request, "pagination") or (CURSOR if CURSOR in request.query_params else PAGE)
        if mode not in (PAGE, CURSOR):
            raise ValidationFailed({"pagination": ["Must be one of: page, cursor."]})
        _positive_int(request, "page_size")
        if mode == CURSOR:
            self._paginator = _Cursor(self.ordering)
        else:
            _positive_int(request, "page")
            self._paginator = _PageNumber()
            queryset = queryset.order_by(*self.ordering)
        return self._paginator.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return self._paginator.get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
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

    def get_schema_operation_parameters(self, view):
        def param(name, description, schema):
            return {"name": name, "required": False, "in": "query", "description": description, "schema": schema}

        return [
            param("page", "Page number (page mode).", {"type": "integer", "minimum": 1}),
            param(
                "page_size",
                f"Results per page, at most {settings.ORDERFLOW_API_MAX_PAGE_SIZE}.",
                {"type": "integer", "minimum": 1},
            ),
            param(
                "pagination",
                "`cursor` for cursor pagination from the first page.",
                {"type": "string", "enum": [PAGE, CURSOR]},
            ),
            param("cursor", "The `next_cursor` of the previous page (cursor mode).", {"type": "string"}),
        ]


class PagePagination(_PageNumber):
    """Page-number pagination only, for lists with an order of their own (nearest first)."""

    def paginate_queryset(self, queryset, request, view=None):
        if _one(request, "pagination") not in (None, "", PAGE) or CURSOR in request.query_params:
            raise ValidationFailed({"pagination": ["This list pages by number only (page, page_size)."]})
        _positive_int(request, "page")
        _positive_int(request, "page_size")
        return super().paginate_queryset(queryset, request, view)
