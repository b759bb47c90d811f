"""The public tracking link of an order: a token made at placement (`Order.tracking_token`'s
default), shown to the customer as `tracking_url`, replaced or revoked by them.

The link needs no account, so the token is the only secret: 128 random bits, compared by an
indexed equality lookup, and None once revoked (a revoked or unknown token is one 404).
"""

import re

from django.db import transaction

from core.actors import Actor, ActorRole
from core.errors import Forbidden, NotFound
from orders.models import Order, new_tracking_token
from orders.selectors import order_get_visible
from orders.versions import order_version_check

# What a token can look like (URL-safe base64); anything else is not ours and is never queried.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,43}")
# Who may share, replace or revoke an order's link.
LINK_OWNER_ROLES = (ActorRole.CUSTOMER, ActorRole.ADMIN)


class TrackingLinkNotFound(NotFound):
    code = "tracking_link_not_found"
    title = "Tracking link not found"


def tracking_link_path(token: str | None) -> str | None:
    return f"/track/{token}/" if token else None


def order_for_tracking_token(token, *, queryset=None) -> Order:
    """The order a public link opens; an unknown, malformed or revoked token is one 404."""
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        raise TrackingLinkNotFound("No order is tracked by this link.")
    orders = Order.objects.all() if queryset is None else queryset
    order = orders.filter(tracking_token=token).first()
    if order is None:
        raise TrackingLinkNotFound("No order is tracked by this link.")
    return order


def _owned_order_for_update(*, actor: Actor, order_id, if_match: str | None) -> Order:
    order = order_get_visible(actor=actor, order_id=order_id, for_update=True)
    order_version_check(order=order, if_match=if_match)
    if actor.role not in LINK_OWNER_ROLES:
        raise Forbidden("Only the order's customer manages its tracking link.", code="tracking_link_forbidden")
    return order


def order_tracking_link_renew(*, actor: Actor, order_id, if_match: str | None = None) -> Order:
    """A new link for the order; the old one, if any, stops working at once."""
    with transaction.atomic():
        order = _owned_order_for_update(actor=actor, order_id=order_id, if_match=if_match)
        order.tracking_token = new_tracking_token()
        order.save(update_fields=["tracking_token"])
    return order


def order_tracking_link_revoke(*, actor: Actor, order_id, if_match: str | None = None) -> Order:
    """The link stops working: its page and socket answer 404 (open sockets close at their next message)."""
    with transaction.atomic():
        order = _owned_order_for_update(actor=actor, order_id=order_id, if_match=if_match)
        order.tracking_token = None
        order.save(update_fields=["tracking_token"])
    return order
