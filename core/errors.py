"""Domain errors and their one mapping to RFC 7807 problem details.

Services raise `ApplicationError` subclasses; views never build error bodies.
Each error has a stable `code` that clients can switch on.
"""

import json
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status as http
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://orderflow.dev/problems/"


class ApplicationError(Exception):
    status_code: int = http.HTTP_400_BAD_REQUEST
    code: str = "application_error"
    title: str = "The request could not be completed"

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra: Any) -> None:
        # A more specific code for this occurrence (e.g. Forbidden "not_assigned_courier").
        if code is not None:
            self.code = code
        self.detail = detail or self.title
        self.extra = extra
        super().__init__(self.detail)


class ValidationFailed(ApplicationError):
    code = "validation_error"
    title = "The request is not valid"

    def __init__(self, errors: dict[str, list[str]], detail: str | None = None) -> None:
        super().__init__(detail or "One or more fields are not valid.", errors=errors)
        self.errors = errors


class NotFound(ApplicationError):
    status_code = http.HTTP_404_NOT_FOUND
    code = "not_found"
    title = "Not found"


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class Forbidden(ApplicationError):
    status_code = http.HTTP_403_FORBIDDEN
    code = "forbidden"
    title = "You may not do this"


class Conflict(ApplicationError):
    status_code = http.HTTP_409_CONFLICT
    code = "conflict"
    title = "The order is not in a state that allows this"


class InvalidTransition(ApplicationError):
    """400, as the order-process document's clients expect ("Handle 400: Invalid status transition");
    a contract whose document says otherwise re-states it (the three-status API's cancel: 409)."""

    code = "invalid_transition"
    title = "This status change is not allowed from the current status"


class RestaurantClosed(Conflict):
    """Outside the restaurant's hours; `reopens_at` says when it takes orders again."""

    code = "restaurant_closed"
    title = "The restaurant is closed"


class RestaurantPaused(Conflict):
    """The kitchen paused its intake; `reopens_at` is the pause's end, when it has one."""

    code = "restaurant_paused"
    title = "The restaurant is not taking orders right now"


class SlotFull(Conflict):
    """The kitchen's slot for the time asked for is full; `next_free_slots` lists times with room."""

    code = "slot_full"
    title = "That time is fully booked"


class PreconditionFailed(ApplicationError):
    """`If-Match` named a version of the order that is no longer current (RFC 9110 412)."""

    status_code = http.HTTP_412_PRECONDITION_FAILED
    code = "precondition_failed"
    title = "The order has changed since the version you sent"


class OtpInvalid(ApplicationError):
    code = "otp_invalid"
    title = "The code is not correct"


class OtpExpired(ApplicationError):
    status_code = http.HTTP_410_GONE
    code = "otp_expired"
    title = "The code has expired"


class OtpLocked(ApplicationError):
    status_code = http.HTTP_423_LOCKED
    code = "otp_locked"
    title = "Too many wrong codes; ask for a new one"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    title = "A request with this Idempotency-Key is still being processed"


class IdempotencyKeyReused(ApplicationError):
    status_code = http.HTTP_422_UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used for a different request"


class TooManyRequests(ApplicationError):
    status_code = http.HTTP_429_TOO_MANY_REQUESTS
    code = "rate_limited"
    title = "Too many requests"


def problem_body(
    *, status: int, code: str, title: str, detail: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The RFC 7807 body of every error the service answers, from any layer."""
    return {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **(extra or {}),
    }


# Problems answered outside DRF (core.views, core.middleware, config.asgi_limits), by code:
# (status, title). Titles are fixed per code, as the API's are.
HTTP_PROBLEMS = {
    "invalid_characters": (400, "The request contains characters that cannot be stored"),
    "bad_request": (400, "The request could not be understood"),
    "forbidden": (403, "You may not do this"),
    "csrf_failed": (403, "The CSRF check failed"),
    "not_found": (404, "Not found"),
    "request_too_large": (413, "The request is too large"),
    "server_error": (500, "Something went wrong on our side"),
    "database_unavailable": (503, "The service is briefly unavailable"),
}

# PostgreSQL unreachable (restarting, failing over, refusing connections) or a transaction it gave
# up on (a deadlock, a serialization failure, a statement timeout): nothing was changed, and the
# same request may be sent again after this many seconds.
DATABASE_RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE_DETAIL = "The database could not be reached; nothing was changed. Try again shortly."


def is_database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, (DatabaseOperationalError, DatabaseInterfaceError))


def problem_http_response(code: str, detail: str) -> HttpResponse:
    """A plain Django response carrying one of `HTTP_PROBLEMS`, for layers outside DRF."""
    status, title = HTTP_PROBLEMS[code]
    body = problem_body(status=status, code=code, title=title, detail=detail)
    return HttpResponse(json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE)


def database_unavailable_http_response() -> HttpResponse:
    """503 problem+json with Retry-After, from any layer (handler500, DRF's handler)."""
    response = problem_http_response("database_unavailable", DATABASE_UNAVAILABLE_DETAIL)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def application_error_http_response(exc: ApplicationError) -> HttpResponse:
    """A plain Django response for a domain error raised outside DRF (core.middleware)."""
    body = problem_body(status=exc.status_code, code=exc.code, title=exc.title, detail=exc.detail, extra=exc.extra)
    response = HttpResponse(json.dumps(body), status=exc.status_code, content_type=PROBLEM_CONTENT_TYPE)
    if exc.extra.get("retry_after") is not None:
        response["Retry-After"] = str(exc.extra["retry_after"])
    return response


def problem_response(
    *, status: int, code: str, title: str, detail: str, extra: dict[str, Any] | None = None
) -> Response:
    body = problem_body(status=status, code=code, title=title, detail=detail, extra=extra)
    return Response(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


_DRF_CODES = {
    drf_exceptions.ParseError: "malformed_request",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.PermissionDenied: "forbidden",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "rate_limited",
}

# One fixed title per code: DRF's default_detail is sometimes a template ('Method "{method}" not
# allowed.'), and a problem's title must not change from one occurrence to the next.
_DRF_TITLES = {
    "malformed_request": "The request body could not be parsed",
    "authentication_failed": "The credentials were not accepted",
    "not_authenticated": "Authentication is required",
    "forbidden": Forbidden.title,
    "not_found": "Not found",
    "method_not_allowed": "This method is not allowed here",
    "not_acceptable": "No acceptable representation",
    "unsupported_media_type": "This media type is not supported",
    "rate_limited": TooManyRequests.title,
    "error": "The request could not be completed",
}


def _flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(key, int):  # list items (DRF's ListField), named like the services name them
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten_errors(value, name))
        return flat
    if isinstance(detail, list) and detail and all(isinstance(item, (dict, list)) for item in detail):
        flat = {}
        for index, value in enumerate(detail):
            flat.update(_flatten_errors(value, f"{prefix}[{index}]" if prefix else str(index)))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(message) for message in messages]}


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if is_database_unavailable(exc):
        status, title = HTTP_PROBLEMS["database_unavailable"]
        unavailable = problem_response(
            status=status, code="database_unavailable", title=title, detail=DATABASE_UNAVAILABLE_DETAIL
        )
        unavailable["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return unavailable
    if isinstance(exc, ValidationFailed):
        return problem_response(
            status=exc.status_code, code=exc.code, title=exc.title, detail=exc.detail, extra=exc.extra
        )
    if isinstance(exc, ApplicationError):
        answer = problem_response(
            status=exc.status_code, code=exc.code, title=exc.title, detail=exc.detail, extra=exc.extra
        )
        if exc.extra.get("retry_after") is not None:
            answer["Retry-After"] = str(exc.extra["retry_after"])
        if isinstance(exc, PreconditionFailed):
            answer["ETag"] = exc.extra["etag"]
        return answer
    if isinstance(exc, drf_exceptions.ValidationError):
        return problem_response(
            status=http.HTTP_400_BAD_REQUEST,
            code="validation_error",
            title=ValidationFailed.title,
            detail="One or more fields are not valid.",
            extra={"errors": _flatten_errors(exc.detail)},
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, drf_exceptions.APIException):
        return response
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    detail: Any = exc.detail
    if isinstance(detail, dict):  # simplejwt's token errors carry a dict
        detail = detail.get("detail", exc.default_detail)
    problem = problem_response(
        status=response.status_code,
        code=code,
        title=_DRF_TITLES[code],
        detail=str(detail),
    )
    for header, value in response.items():
        if header.lower() in {"www-authenticate", "retry-after", "allow"}:
            problem[header] = value
    return problem
