"""The public tracking link of an order: a token made at placement (`Order.tracking_token`'s
default), shown to the customer as `tracking_url`, replaced or revoked by them.

The link needs no account, so the token is the only secret: 128 random bits, compared by an
indexed equality lookup, and None once revoked (a revoked or unknown token is one 404).

A link expires ORDERFLOW_TRACKING_LINK_HOURS_AFTER_END after its order ended: from then on it
answers 410 Gone (`tracking_link_expired`), and the retention task (`tracking_links_expire`)
removes the token from the order, keeping only its hash for that answer.
"""

import hashlib
import re
from datetime import datetime, timedelta
from typing import cast
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework import status as http

from core.actors import Actor
from core.errors import ApplicationError, Forbidden, NotFound
from orders.lifecycle import REFUNDABLE_STATUSES, SETTLED_REFUND_STATUSES, TERMINAL_STATUSES, order_is_final
from orders.models import ExpiredTrackingLink, Order, OrderStatus, new_tracking_token
from orders.versions import order_version_check
from orders.visibility import TRACKING_LINK_OWNER_ROLES, order_get_visible

# What a token can look like (URL-safe base64); anything else is not ours and is never queried.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,43}")
# Who may share, replace or revoke an order's link.


class TrackingLinkNotFound(NotFound):
    code = "tracking_link_not_found"
    title = "Tracking link not found"


class TrackingLinkGone(ApplicationError):
    status_code = http.HTTP_410_GONE
    code = "tracking_link_expired"
    title = "Tracking link expired"


def _link_lifetime() -> timedelta:
    return timedelta(hours=settings.ORDERFLOW_TRACKING_LINK_HOURS_AFTER_END)


def order_ended_at(order: Order) -> datetime:
    """When an ended order ended: delivered (or collected), else cancelled, else its last change
    (a refund completed after a rejection)."""
    return min(moment for moment in (order.delivered_at, order.cancelled_at, order.updated_at) if moment is not None)


def tracking_link_has_expired(order: Order, now: datetime) -> bool:
    """Whether the order ended (nothing more will happen to it) long enough ago for its link to stop."""
    ended = order_is_final(status=order.status, refund_status=order.refund_status)
    return ended and order_ended_at(order) + _link_lifetime() <= now


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tracking_link_path(token: str | None) -> str | None:
    return f"/track/{token}/" if token else None


def order_for_tracking_token(token: object, *, queryset: QuerySet[Order] | None = None) -> Order:
    """The order a public link opens; an unknown, malformed or revoked token is one 404."""
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        raise TrackingLinkNotFound("No order is tracked by this link.")
    orders = Order.objects.all() if queryset is None else queryset
    order = orders.filter(tracking_token=token).first()
    gone = "This tracking link expired after the order ended."
    if order is None:
        if ExpiredTrackingLink.objects.filter(token_hash=_token_hash(token)).exists():
            raise TrackingLinkGone(gone)
        raise TrackingLinkNotFound("No order is tracked by this link.")
    if tracking_link_has_expired(order, timezone.now()):
        raise TrackingLinkGone(gone)
    return order


def tracking_links_expire(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Retention: take the token off orders that ended more than the link's lifetime ago (a
    batch of at most `limit`), keeping its hash so that the link answers 410; forget hashes
    older than ORDERFLOW_RETENTION_EXPIRED_LINKS_DAYS. Returns how many links expired."""
    now = now or timezone.now()
    ended_before = now - _link_lifetime()
    with transaction.atomic():
        candidates = list(
            Order.objects.select_for_update(skip_locked=True)
            .filter(tracking_token__isnull=False)
            .filter(
                Q(updated_at__lte=ended_before) | Q(delivered_at__lte=ended_before) | Q(cancelled_at__lte=ended_before)
            )
            .filter(
                Q(status__in=(*TERMINAL_STATUSES, OrderStatus.DELIVERED))
                | Q(status__in=REFUNDABLE_STATUSES, refund_status__in=SETTLED_REFUND_STATUSES)
            )
            .order_by("updated_at")
            .only("pk", "status", "refund_status", "updated_at", "delivered_at", "cancelled_at", "tracking_token")[
                :limit
            ]
        )
        expired = [order for order in candidates if tracking_link_has_expired(order, now)]
        ExpiredTrackingLink.objects.bulk_create(
            [
                ExpiredTrackingLink(token_hash=_token_hash(cast(str, order.tracking_token)), expired_at=now)
                for order in expired
            ],
            ignore_conflicts=True,
        )
        Order.objects.filter(pk__in=[order.pk for order in expired]).update(tracking_token=None)
    forget_before = now - timedelta(days=settings.ORDERFLOW_RETENTION_EXPIRED_LINKS_DAYS)
    ExpiredTrackingLink.objects.filter(
        pk__in=ExpiredTrackingLink.objects.filter(expired_at__lt=forget_before).values("pk")[:limit]
    ).delete()
    return len(expired)


def _owned_order_for_update(*, actor: Actor, order_id: UUID, if_match: str | None) -> Order:
    order = order_get_visible(actor=actor, order_id=order_id, for_update=True)
    order_version_check(order=order, if_match=if_match)
    if actor.role not in TRACKING_LINK_OWNER_ROLES:
        raise Forbidden("Only the order's customer manages its tracking link.", code="tracking_link_forbidden")
    return order


def order_tracking_link_renew(*, actor: Actor, order_id: UUID, if_match: str | None = None) -> Order:
    """A new link for the order; the old one, if any, stops working at once."""
    with transaction.atomic():
        order = _owned_order_for_update(actor=actor, order_id=order_id, if_match=if_match)
        order.tracking_token = new_tracking_token()
        order.save(update_fields=["tracking_token"])
    return order


def order_tracking_link_revoke(*, actor: Actor, order_id: UUID, if_match: str | None = None) -> Order:
    """The link stops working: its page and socket answer 404 (open sockets close at their next message)."""
    with transaction.atomic():
        order = _owned_order_for_update(actor=actor, order_id=order_id, if_match=if_match)
        order.tracking_token = None
        order.save(update_fields=["tracking_token"])
    return order
