"""`Idempotency-Key` for every POST action (the three-status order API, Stripe's rules), in one view mixin.

The key is reserved after authentication, permissions and throttling (so refusals there are
not remembered) and before the action runs. What is kept and replayed is the answer the
action gave, success or refusal (a 409 stays a 409), except answers that say the request
itself was unusable (malformed or invalid input, 429s, 5xx): those release the key so the
corrected request can use it. Records live in `core.IdempotencyRecord`; the services in
`core/services.py` do the writes.

The action and the answer it is remembered by commit together: the action runs in one
transaction that also completes its record. A process that dies after that commit, before its
answer reaches the client (`fault_point(AFTER_ACTION_BEFORE_ANSWER)`), leaves a completed record,
and the client's retry is answered with the same answer; one that dies before it leaves neither
the action's writes nor a completed record, and the retry carries the action out once the
reservation is taken over. A refusal keeps what the action saved before refusing (a wrong handoff
code's used-up attempt); an error that is not an answer (the database gone, a bug) rolls it all
back and releases the key.
"""

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.http.request import RawPostDataException
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import PROBLEM_CONTENT_TYPE, ApplicationError, ValidationFailed
from core.faults import AFTER_ACTION_BEFORE_ANSWER, fault_point
from core.models import IdempotencyRecord, IdempotencyState
from core.services import idempotency_begin, idempotency_complete, idempotency_release

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Exceptions that are answers (a refusal, problem+json): what the action saved before raising is kept.
_ANSWERS = (ApplicationError, APIException, Http404, PermissionDenied)
# Answers that describe the request, not the outcome of acting on it.
_NOT_REPLAYED_CODES = frozenset({"validation_error", "malformed_request", "unsupported_media_type"})


class _Replay(Exception):
    def __init__(self, record: IdempotencyRecord):
        self.record = record


def _raw_body(request: Request) -> bytes:
    try:
        return request.body
    except RawPostDataException:
        return JSONRenderer().render(request.data)


def request_fingerprint(raw: bytes, *, if_match: str | None = None) -> str:
    """SHA-256 of the body as canonical JSON (key order and spacing do not matter) and of the
    `If-Match` it was sent with, if any: a condition makes it another request, so the same key
    with another (or a malformed) `If-Match` is refused rather than answered as the first was."""
    try:
        canonical = json.dumps(json.loads(raw or b"{}"), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = raw
    if if_match is not None:
        canonical += b"\nIf-Match: " + if_match.encode("utf-8", "surrogateescape")
    return hashlib.sha256(canonical).hexdigest()


def _worth_replaying(response: HttpResponse) -> bool:
    if response.status_code >= 500 or response.status_code == 429:
        return False
    # A contract re-envelopes problems (tracking.contracts.base) and keeps the native one beside.
    data = getattr(response, "problem", None) or getattr(response, "data", None)
    code = data.get("code") if isinstance(data, dict) else None
    return code not in _NOT_REPLAYED_CODES


def _replay(record: IdempotencyRecord, error_content_type: str) -> HttpResponse:
    content_type = error_content_type if (record.response_status or 0) >= 400 else "application/json"
    response = HttpResponse(record.response_body, status=record.response_status, content_type=content_type)
    response[REPLAYED_HEADER] = "true"
    return response


if TYPE_CHECKING:
    from rest_framework.views import APIView as _ViewBase
else:
    _ViewBase = object


class IdempotentPostMixin(_ViewBase):
    """Give every POST of a DRF view `Idempotency-Key` semantics."""

    idempotency_record: IdempotencyRecord | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.idempotency_record = None
        super().initial(request, *args, **kwargs)
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise ValidationFailed({HEADER: [f"Must be 1 to {MAX_KEY_LENGTH} printable characters."]})
        record = idempotency_begin(
            user=cast(User, request.user),  # POST actions require an authenticated user
            key=key,
            method=request.method,
            path=request.path,
            body_hash=request_fingerprint(_raw_body(request), if_match=request.headers.get("If-Match")),
        )
        if record.state == IdempotencyState.COMPLETED:
            raise _Replay(record)
        self.idempotency_record = record
        # DRF looks the handler up after initial(): the action it finds commits with its record.
        method = request.method.lower()
        setattr(self, method, self._with_its_answer(getattr(self, method)))

    def _with_its_answer(self, action: Callable[..., Response]) -> Callable[..., Response]:
        def run(request: Request, *args: Any, **kwargs: Any) -> Response:
            with transaction.atomic():
                try:
                    response = action(request, *args, **kwargs)
                except _ANSWERS as exc:
                    response = self.handle_exception(exc)
                self._settle(response)
            fault_point(AFTER_ACTION_BEFORE_ANSWER)
            return response

        return run

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Replay):
            # Errors come back as they were first sent: problem+json, or a contract's own envelope.
            return _replay(exc.record, getattr(self, "error_content_type", PROBLEM_CONTENT_TYPE))  # type: ignore[return-value]
        try:
            return super().handle_exception(exc)
        except Exception:
            self._settle(None)
            raise

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        self._settle(response)
        return response

    def _settle(self, response: Response | None) -> None:
        record, self.idempotency_record = self.idempotency_record, None
        if record is None:
            return
        if response is not None and _worth_replaying(response):
            body = JSONRenderer().render(response.data).decode()
            idempotency_complete(record=record, status=response.status_code, body=body)
        else:
            idempotency_release(record=record)
