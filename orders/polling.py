"""The lean status poll: `GET /api/orders/{id}/status/`, the most frequent request there is.

Fast path: one JWT check (signature and expiry, no query: `PollJWTAuthentication`) and one
round trip to Redis for the order's snapshot (orders.snapshots) and the user's "known active"
mark, or none when the process keeps both in memory (orders/poll_cache.py). It answers when
the mark is there, the caller is one of the readers the snapshot names and its deadline is not
due: a customer or the assigned courier costs no query at all;
restaurant staff one (their membership can be revoked without any change to the order).

Everything else takes the database path, exactly the poll as it is without Redis: the user row
(a deactivated or deleted user is refused with 401, as everywhere), the caller's relation to
the order (a platform admin, a courier the order is offered to, a stranger: 404), the deadline
carried out if it has passed (sweep-on-read), the row; then the snapshot and the mark are
stored for the next poll.

Which requests take the fast path, and where:

- `StatusPollMiddleware` (in settings.MIDDLEWARE right after the security, CORS and CSP
  middleware, which still add their headers to its answers): a `GET /api/orders/{id}/status/`
  with no query string, JSON accepted, a bearer token and no `Origin` header (a browser's
  cross-origin call gets its CORS answer from the full path). It skips what a bearer-token
  poll never uses: sessions, CSRF, the session user, messages. When Redis cannot answer it
  (`status_response_from_snapshot` returns None) the request goes on down the stack untouched.
- `orders.api.order_status`: the same check for requests that reached the view (a signed-in
  browser's poll included), then `OrderViewSet` for everything else.

Why an answer from the snapshot is the answer the full path would give: the token's signature
and type were checked when first seen (`_access_token_claims`) and its expiry is checked on
every poll; the user is known active (the mark is dropped when a user is deactivated or
deleted, and expires); the snapshot names the caller as a reader (customer or courier by id,
staff through a live membership query), the same relations `order_access` grants; a deadline
that is due sends the poll to the full path, which carries it out first. The snapshot is
replaced after every committed change of the order (`status_snapshot_on_event`), never by an
older one.
"""

import functools
import re
import time
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

from core.actors import Actor
from core.auth_tokens import CredentialsJWTAuthentication
from core.errors import OrderNotFound
from core.parsers import parse_uuid
from orders.selectors import order_status_snapshot
from orders.services.deadlines import sweep_overdue_on_read
from orders.snapshots import (
    SNAPSHOT_FIELDS,
    active_user_store,
    status_payload,
    status_snapshot_and_user_read,
    status_snapshot_read,
    status_snapshot_response_and_user_read,
    status_snapshot_row,
    status_snapshot_store_on_commit,
)
from orders.versions import order_etag
from orders.visibility import OrderAccess, order_access, snapshot_readable_by, snapshot_reader_role


class PollJWTAuthentication(JWTAuthentication):
    """A JWT checked without reading the user: the poll reads what it needs from Redis and
    falls back to the user row (`order_status_for_poll`)."""

    def get_user(self, validated_token: Token) -> TokenUser:  # type: ignore[override]  # a TokenUser is the point
        return TokenUser(validated_token)


def status_etag(body: dict[str, Any]) -> str:
    return order_etag(body["order_id"], body["sequence"])


def status_response_from_snapshot(authorization: str | None, order_id: str) -> tuple[bytes, str] | None:
    """The poll answered from Redis alone: (JSON body, ETag), or None for the full path.

    Answers only what the full path would answer the same: a valid, unexpired access token
    (`Authorization: Bearer ...`) of a user known to be active, an order whose snapshot names
    that user as a reader, a deadline not yet due. Anything else (a bad token included, which
    the full path refuses with its 401) returns None.
    """
    scheme, _, raw = (authorization or "").partition(" ")
    if scheme not in jwt_settings.AUTH_HEADER_TYPES or not raw:
        return None
    try:
        user_id, expires_at = _access_token_claims(raw)
    except (InvalidToken, KeyError):
        return None
    order_uuid = parse_uuid(order_id)
    if expires_at <= time.time() or order_uuid is None:
        return None
    snapshot, response, known_active = status_snapshot_response_and_user_read(order_uuid, user_id)
    if snapshot is None or response is None or not known_active:
        return None
    deadline = snapshot["deadline_at"]
    if (deadline is not None and deadline <= time.time()) or not snapshot_readable_by(
        user_id=user_id, snapshot=snapshot
    ):
        return None
    return response, status_etag(snapshot["status"])


@functools.lru_cache(maxsize=16384)
def _access_token_claims(raw: str) -> tuple[str, float]:
    """(user id, expiry) of an access token whose signature and type were checked once.

    The same token string is sent with every poll of a phone: its signature is checked on the
    first only; its expiry is checked by the caller each time. An invalid token raises
    `InvalidToken` (one without a user id `KeyError`) and is not remembered.
    """
    token = JWTAuthentication().get_validated_token(raw.encode())
    return str(token[jwt_settings.USER_ID_CLAIM]), float(token["exp"])


def order_row_from_snapshot(*, user: User, order_id: Any) -> tuple[Actor, dict[str, Any]] | None:
    """A live socket's handshake: (actor, the order's status row) from Redis, or None.

    `user` is a user row (the socket's authentication read it, so it is active). Answers when
    the policy can tell the user's role from the snapshot (`orders.visibility.snapshot_reader_role`);
    anyone else and a missing snapshot are for the database to decide.
    """
    order_uuid = parse_uuid(order_id)
    snapshot = status_snapshot_read(order_uuid) if order_uuid is not None else None
    row = status_snapshot_row(snapshot) if snapshot is not None else None
    if row is None or snapshot is None:
        return None
    role = snapshot_reader_role(user_id=user.pk, snapshot=snapshot)
    return None if role is None else (Actor(role, user), row)


def order_status_for_poll(*, user: User | TokenUser, order_id: Any) -> dict[str, Any]:
    """The lean status of an order `user` may see (OrderNotFound otherwise, as for a missing one).

    `user` is a user, or the `TokenUser` of `PollJWTAuthentication`, which is replaced by the
    user row whenever the fast path does not answer.
    """
    order_uuid = parse_uuid(order_id)
    if order_uuid is None:
        raise OrderNotFound("No order with this id is visible to you.")
    snapshot, known_active = status_snapshot_and_user_read(order_uuid, user.pk)
    # A user row (a session, or a test's forced user) was checked by its authentication already.
    if snapshot is not None and (known_active or not isinstance(user, TokenUser)):
        deadline = snapshot["deadline_at"]
        if (deadline is None or deadline > time.time()) and snapshot_readable_by(user_id=user.pk, snapshot=snapshot):
            status: dict[str, Any] = snapshot["status"]
            return status
    if isinstance(user, TokenUser):
        # Refuses a deactivated or deleted user, and a token from before a password change.
        user = cast(User, CredentialsJWTAuthentication().get_user(user.token))
        active_user_store(user.pk)
    access = order_access(user=user, order_id=order_uuid)
    row = _row(access)
    if sweep_overdue_on_read(order_id=access.order_id, deadline_at=row["deadline_at"]):
        row = _row(access)
    status_snapshot_store_on_commit(row)
    return status_payload(row, lean=True)


def _row(access: OrderAccess) -> dict[str, Any]:
    return order_status_snapshot(actor=access.actor, order_id=access.order_id, fields=SNAPSHOT_FIELDS)


# The lean poll's path, as config/urls.py mounts it (`order-status-poll`).
_POLL_PATH = re.compile(r"^/api/orders/(?P<order_id>[^/]+)/status/$")
_JSON_ACCEPTED = frozenset({"", "*/*", "application/json"})
# The headers OrderViewSet's answer carries (DRF: the allowed methods, content negotiation).
STATUS_HEADERS = {"Cache-Control": "no-cache", "Vary": "Accept", "Allow": "GET, POST, HEAD, OPTIONS"}


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether `If-None-Match` names `etag` (weak comparison, as for a GET) or is `*`."""
    if not if_none_match:
        return False
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def fast_poll_response(request: HttpRequest, order_id: str) -> HttpResponse | None:
    """The poll's answer from the snapshot (200, or 304 for a matching `If-None-Match`) for a
    plain GET by bearer token, or None when the full path must answer."""
    if (
        request.method != "GET"
        or request.META.get("QUERY_STRING")
        or request.headers.get("Accept", "").strip() not in _JSON_ACCEPTED
    ):
        return None
    answer = status_response_from_snapshot(request.headers.get("Authorization"), order_id)
    if answer is None:
        return None
    body, etag = answer
    response: HttpResponse
    if etag_matches(request.headers.get("If-None-Match"), etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    for header, value in STATUS_HEADERS.items():
        response[header] = value
    response["ETag"] = etag
    return response


class StatusPollMiddleware:
    """Answers the lean poll from its snapshot before the session, CSRF, authentication and
    message middleware run (see the module's docstring for which requests and why)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = _POLL_PATH.match(request.path_info)
        if match is not None and "origin" not in request.headers:
            response = fast_poll_response(request, match["order_id"])
            if response is not None:
                # What the middleware it skips would have added: the frame policy and the length.
                response.setdefault("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY"))
                if not response.streaming:
                    response.setdefault("Content-Length", str(len(response.content)))
                return response
        return self.get_response(request)
