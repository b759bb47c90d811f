"""Unrouted paths under /api/ answer like the API does (RFC 7807), not with an HTML page."""

import json

from django.http import HttpResponse
from django.views.defaults import page_not_found

from orders.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE


def not_found(request, exception):
    if not request.path.startswith("/api/"):
        return page_not_found(request, exception)
    body = {
        "type": PROBLEM_TYPE_BASE + "not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No endpoint at this path.",
        "code": "not_found",
    }
    return HttpResponse(json.dumps(body), status=404, content_type=PROBLEM_CONTENT_TYPE)
