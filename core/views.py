"""How the service answers what no view answers: RFC 7807 (a browser asking for a page outside
/api/ gets the 404 page), never a bare status.

`not_found` answers unrouted paths under /api/ (also under DEBUG, through the catch-all at
the end of `config.api_urls`) and anywhere else; Django's other handlers (`handler400`,
`handler403`, `handler500`, the CSRF failure view) answer through `problem_http_response`, so a
client sees one error shape whichever layer refused it, each with a stable `code`.
"""

import json
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, HttpResponseServerError
from django.template import loader
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found

from core.errors import (
    PROBLEM_CONTENT_TYPE,
    NotFound,
    TooManyRequests,
    application_error_http_response,
    database_unavailable_http_response,
    is_database_unavailable,
    problem_body,
    problem_http_response,
)
from core.throttling import LoginAttempt, client_address


def _problem_404(detail: str) -> HttpResponse:
    body = problem_body(status=404, code="not_found", title=NotFound.title, detail=detail)
    return HttpResponse(json.dumps(body), status=404, content_type=PROBLEM_CONTENT_TYPE)


def _routed(path: str) -> bool:
    try:
        return resolve(path).func is not api_not_found
    except Resolver404:
        return False


def _wants_a_page(request: HttpRequest) -> bool:
    """A browser asking for a page (it prefers HTML) gets the 404 page; every other client, problem+json."""
    return bool(request.get_preferred_type([PROBLEM_CONTENT_TYPE, "application/json", "text/html"]) == "text/html")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not request.path.startswith("/api/"):
        if _wants_a_page(request):
            return page_not_found(request, exception)
        return problem_http_response("not_found", "No page at this path.")
    if not request.path.endswith("/") and _routed(request.path + "/"):
        # Every API path ends with a slash, and APPEND_SLASH cannot redirect a POST: say so.
        return _problem_404(f"No endpoint at this path; did you mean {request.path}/ (with a trailing slash)?")
    return _problem_404("No endpoint at this path.")


@csrf_exempt  # a 404 changes nothing; CSRF's 403 page would hide it
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """The last route under /api/, so unknown API paths answer problem+json whatever DEBUG says.

    Being a route, it stops CommonMiddleware's APPEND_SLASH, so the redirect for a read is made
    here (as before); a write cannot be redirected and gets the 404 naming the right path.
    """
    safe = request.method in ("GET", "HEAD")
    if safe and settings.APPEND_SLASH and not request.path.endswith("/") and _routed(request.path + "/"):
        return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return not_found(request)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """`handler400`: Django's SuspiciousOperation family; an oversized body is a 413."""
    if isinstance(exception, RequestDataTooBig):
        return problem_http_response(
            "request_too_large", f"Request bodies are limited to {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    if isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)):
        return problem_http_response("request_too_large", "The request has too many fields or files.")
    return problem_http_response("bad_request", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_http_response("forbidden", "You may not do this.")


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: a browser asking for a page gets the 500 page (rendered without the request
    or a database, either of which may be what failed); every other client, problem+json.

    Django calls it while handling the exception, from whichever layer raised it (a middleware
    reading the session, a view): PostgreSQL out of reach is a 503 with Retry-After for everyone."""
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable_http_response()
    if not request.path.startswith("/api/") and _wants_a_page(request):
        return HttpResponseServerError(loader.get_template("500.html").render())
    return problem_http_response("server_error", "The error has been logged; please try again later.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A sign-in form posted without its CSRF token still presented a password: it is counted as a
    failed attempt (and refused with 429 once over the limit), so skipping the token is no way
    around the guessing limit."""
    username, password = request.POST.get("username"), request.POST.get("password")
    sign_in_pages = (settings.LOGIN_URL, reverse("admin:login"))
    if request.method == "POST" and request.path in sign_in_pages and username and password is not None:
        attempt = LoginAttempt(username=username, address=client_address(request))
        try:
            attempt.check()
        except TooManyRequests as exc:
            return application_error_http_response(exc)
        attempt.failed()
    return problem_http_response(
        "csrf_failed", "A signed-in browser session must send its CSRF token; API clients send a Bearer token."
    )
