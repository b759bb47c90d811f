"""An order's version for optimistic concurrency, the way Square's API offers it.

Every event raises the order's `sequence`, so `"<order id>:<sequence>"` is its entity tag: the
detail and status answers send it as `ETag`, and every write on the order accepts it back in
`If-Match` (or the bare `sequence`). The services compare it with the locked row and refuse a
stale one with 412 and the order's current state; without `If-Match` the last write wins.
"""

import uuid
from uuid import UUID

from core.errors import PreconditionFailed, ValidationFailed
from orders.models import Order

MAX_IF_MATCH_LENGTH = 1000


def order_etag(order_id: UUID, sequence: int) -> str:
    return f'"{order_id}:{sequence}"'


def _versions(if_match: str) -> set[tuple[uuid.UUID | None, int]] | None:
    """(order id or None, sequence) for each tag of an If-Match list; None for `*`."""
    if len(if_match) > MAX_IF_MATCH_LENGTH:
        raise ValidationFailed({"If-Match": [f"At most {MAX_IF_MATCH_LENGTH} characters."]})
    versions = set()
    for tag in if_match.split(","):
        tag = tag.strip().removeprefix("W/").strip('"').strip()
        if tag == "*":
            return None
        order_part, _, sequence = tag.rpartition(":")
        try:
            order_id = uuid.UUID(order_part) if order_part else None
            number = int(sequence) if sequence.isascii() and sequence.isdigit() else None
        except ValueError:
            number = None
        if number is None:
            raise ValidationFailed(
                {"If-Match": ['Send the order\'s ETag ("<order id>:<sequence>") or its sequence number.']}
            )
        versions.add((order_id, number))
    return versions


def order_version_check(*, order: Order, if_match: str | None) -> None:
    """Refuse with 412 unless `if_match` names the order's current version. The caller holds the row lock."""
    if if_match is None:
        return
    versions = _versions(if_match.strip())
    if versions is None:
        return
    if any(order_id in (None, order.pk) and sequence == order.sequence for order_id, sequence in versions):
        return
    raise PreconditionFailed(
        f"The order is at version {order.sequence} ({order.status}); read it again and decide.",
        etag=order_etag(order.pk, order.sequence),
        sequence=order.sequence,
        current_status=order.status,
        payment_status=order.payment_status.lower(),
        delivery_status=order.delivery_status.lower(),
        refund_status=order.refund_status.lower(),
    )
