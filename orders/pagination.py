"""Page-number pagination by default (seed 001), cursor pagination on request (seed 002).

`?page=2&page_size=50` answers `count/next/previous/results`; `?pagination=cursor` (first
page) or `?cursor=<next_cursor>` answers `has_more/next_cursor/results`. Page sizes are
capped at `ORDERFLOW_API_MAX_PAGE_SIZE`.
"""

from base64 import b64decode
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from rest_framework import pagination
from rest_framework.response import Response

from orders.errors import ValidationFailed

PAGE = "page"
CURSOR = "cursor"


def _positive_int(request, name: str) -> int | None:
    raw = request.query_params.get(name)
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

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None
        try:
            # DRF's own decoding lets any junk through as "the first page"; a client that sends
            # junk should hear about it.
            tokens = parse_qs(b64decode(encoded.encode("ascii"), validate=True).decode("ascii"), strict_parsing=True)
            if set(tokens) - {"o", "r", "p"}:
                raise ValueError(encoded)
            return super().decode_cursor(request)
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
        mode = request.query_params.get("pagination") or (CURSOR if CURSOR in request.query_params else PAGE)
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
        _positive_int(request, "page")
        _positive_int(request, "page_size")
        return super().paginate_queryset(queryset, request, view)
