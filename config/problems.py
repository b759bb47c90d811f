"""Errors raised outside DRF, answered as RFC 7807 problem details like the API's own.

Django's handlers (`handler400`, `handler403`, `handler500`, the CSRF failure view), the
request-size limits (413) and the hostile-input guard all answer through `problem_http_response`,
so a client sees one error shape whichever layer refused it. Each answer has a stable `code`.
"""

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse

from orders.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE

# code -> (status, title): titles are fixed per code, as the API's are.
DJANGO_PROBLEMS = {
    "invalid_characters": (400, "The request contains characters that cannot be stored"),
    "bad_request": (400, "The request could not be understood"),
    "forbidden": (403, "You may not do this"),
    "csrf_failed": (403, "The CSRF check failed"),
    "not_found": (404, "Not found"),
    "request_too_large": (413, "The request is too large"),
    "server_error": (500, "Something went wrong on our side"),
}


def problem_http_response(code: str, detail: str, *, status: int | None = None) -> HttpResponse:
    default_status, title = DJANGO_PROBLEMS[code]
    status = status or default_status
    body = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    return HttpResponse(json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE)


def too_large_detail() -> str:
    return f"Request bodies are limited to {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."


def bad_request(request, exception=None):
    """`handler400`: Django's SuspiciousOperation family; an oversized body is a 413."""
    if isinstance(exception, RequestDataTooBig):
        return problem_http_response("request_too_large", too_large_detail())
    if isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)):
        return problem_http_response("request_too_large", "The request has too many fields or files.")
    return problem_http_response("bad_request", "The request could not be understood.")


def permission_denied(request, exception=None):
    return problem_http_response("forbidden", "You may not do this.")


def server_error(request):
    return problem_http_response("server_error", "The error has been logged; please try again later.")


def not_found(request, exception=None):
    return problem_http_response("not_found", "No page at this path.")


def csrf_failure(request, reason=""):
    return problem_http_response(
        "csrf_failed", "A signed-in browser session must send its CSRF token; API clients send a Bearer token."
    )
