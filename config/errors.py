"""How the API answers requests it cannot route or parse: RFC 7807, never HTML or a 500.

`not_found` answers unrouted paths under /api/ (also under DEBUG, through the catch-all at
the end of `config.api_urls`); `StrictJSONParser` turns JSON that Python can decode but the
API cannot store (too deep, NaN/Infinity, numbers out of range) into a 400.
"""

import json
import math

from django.conf import settings
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _problem_404(detail: str) -> HttpResponse:
    # Imported here: DRF imports this module (the parser setting) while orders.errors is loading.
    from orders.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE

    body = {
        "type": PROBLEM_TYPE_BASE + "not-found",
        "title": "Not found",
        "status": 404,
        "detail": detail,
        "code": "not_found",
    }
    return HttpResponse(json.dumps(body), status=404, content_type=PROBLEM_CONTENT_TYPE)


def _routed(path: str) -> bool:
    try:
        return resolve(path).func is not api_not_found
    except Resolver404:
        return False


def not_found(request, exception=None):
    if not request.path.startswith("/api/"):
        from config.problems import not_found as page_not_found  # see _problem_404

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


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"Number out of range: {text[:40]}")
    return number


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _holds_nul(value) -> bool:
    """Whether a NUL character is in any key or string of the decoded body (PostgreSQL's text
    and jsonb cannot store one)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, but every body Python cannot turn into storable JSON is a ParseError."""

    def parse(self, stream, media_type=None, parser_context=None):
        text = stream.read() if stream is not None else b""
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            data = json.loads(text.decode(encoding), parse_float=_finite_float, parse_constant=_no_constant)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        except ValueError as exc:  # includes UnicodeDecodeError and ints beyond Python's digit limit
            raise ParseError(f"JSON parse error - {exc}") from None
        if _holds_nul(data):
            raise ParseError("JSON parse error - strings must not contain NUL (\\u0000).")
        return data
