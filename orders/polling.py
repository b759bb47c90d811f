"""The lean status poll: `GET /api/orders/{id}/status/`, the most frequent request there is.

Fast path: one JWT check (signature and expiry, no query: `PollJWTAuthentication`) and one
round trip to Redis for the order's snapshot (orders.snapshots) and the user's "known active"
mark. It answers when the mark is there, the caller is one of the readers the snapshot names
and its deadline is not due: a customer or the assigned courier costs no query at all;
restaurant staff one (their membership can be revoked without any change to the order).

Everything else takes the database path, exactly the poll as it is without Redis: the user row
(a deactivated or deleted user is refused with 401, as everywhere), the caller's relation to
the order (a platform admin, a courier the order is offered to, a stranger: 404), the deadline
carried out if it has passed (sweep-on-poll), the row; then the snapshot and the mark are
stored for the next poll.
"""

import functools
import time
from typing import Any, cast

from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

from core.actors import Actor, ActorRole
from core.auth_tokens import CredentialsJWTAuthentication
from core.errors import OrderNotFound
from core.parsing import parse_uuid
from orders.selectors import OrderAccess, order_access, order_status_snapshot
from orders.services.deadlines import order_enforce_deadline
from orders.snapshots import (
    SNAPSHOT_FIELDS,
    active_user_store,
    lean_status,
    status_snapshot_and_user_read,
    status_snapshot_read,
    status_snapshot_response_and_user_read,
    status_snapshot_row,
    status_snapshot_store_on_commit,
)
from orders.versions import order_etag
from restaurants.models import StaffMembership


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
    if (deadline is not None and deadline <= time.time()) or not _may_read(user_id, snapshot):
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
    the snapshot names the user as its customer, its courier or staff of its restaurant, in the
    roles `order_access` would give them; anyone else (an admin, a courier the order is offered
    to, a stranger) and a missing snapshot are for the database to decide.
    """
    order_uuid = parse_uuid(order_id)
    snapshot = status_snapshot_read(order_uuid) if order_uuid is not None else None
    row = status_snapshot_row(snapshot) if snapshot is not None else None
    if row is None or snapshot is None:
        return None
    user_id = str(user.pk)
    if user_id == str(snapshot["customer_id"]):
        role = ActorRole.CUSTOMER
    elif StaffMembership.objects.filter(user_id=user.pk, restaurant_id=snapshot["restaurant_id"]).exists():
        role = ActorRole.RESTAURANT
    elif user_id == str(snapshot["courier_id"]):
        role = ActorRole.COURIER
    else:
        return None
    return Actor(role, user), row


def _may_read(user_id: str, snapshot: dict[str, Any]) -> bool:
    if user_id in (str(snapshot["customer_id"]), str(snapshot["courier_id"])):
        return True
    return StaffMembership.objects.filter(user_id=user_id, restaurant_id=snapshot["restaurant_id"]).exists()


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
        if (deadline is None or deadline > time.time()) and _may_read(str(user.pk), snapshot):
            return cast("dict[str, Any]", snapshot["status"])
    if isinstance(user, TokenUser):
        # Refuses a deactivated or deleted user, and a token from before a password change.
        user = cast(User, CredentialsJWTAuthentication().get_user(user.token))
        active_user_store(user.pk)
    access = order_access(user=user, order_id=order_uuid)
    row = _row(access)
    if row["deadline_at"] is not None and row["deadline_at"] <= timezone.now():
        # Sweep-on-poll: an overdue order is never shown as still waiting.
        order_enforce_deadline(order_id=access.order_id)
        row = _row(access)
    status_snapshot_store_on_commit(row)
    return lean_status(row)


def _row(access: OrderAccess) -> dict[str, Any]:
    return order_status_snapshot(actor=access.actor, order_id=access.order_id, fields=SNAPSHOT_FIELDS)
