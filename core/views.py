"""How the API answers requests it cannot route: RFC 7807, never HTML or a 500.

`not_found` answers unrouted paths under /api/ (also under DEBUG, through the catch-all at
the end of `config.api_urls`).
"""

import json

from django.conf import settings
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found

from core.errors import PROBLEM_CONTENT_TYPE, NotFound, problem_body


def _problem_404(detail: str) -> HttpResponse:
    body = problem_body(status=404, code="not_found", title=NotFound.title, detail=detail)
    return HttpResponse(json.dumps(body), status=404, content_type=PROBLEM_CONTENT_TYPE)


def _routed(path: str) -> bool:
    try:
        return resolve(path).func is not api_not_found
    except Resolver404:
        return False


def not_found(request, exception=None):
    if not request.path.startswith("/api/"):
        return page_not_found(request, exception)
    if not request.path.endswith("/") and _routed(request.path + "/"):
        # Every API path ends with a slash, and APPEND_SLASH cannot redirect a POST: say so.
        return _problem_404(f"No endpoint at this path; did you mean {request.path}/ (with a trailing slash)?")
    return _problem_404("No endpoint at this path.")


@csrf_exempt  # a 404 changes nothing; CSRF's 403 page would hide it
def api_not_found(request, *args, **kwargs):
    """The last route under /api/, so unknown API paths answer problem+json whatever DEBUG says.

    Being a route, it stops CommonMiddleware's APPEND_SLASH, so the redirect for a read is made
    here (as before); a write cannot be redirected and gets the 404 naming the right path.
    """
    safe = request.method in ("GET", "HEAD")
    if safe and settings.APPEND_SLASH and not request.path.endswith("/") and _routed(request.path + "/"):
        return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return not_found(request)
