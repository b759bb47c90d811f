"""The lean status poll: `GET /api/orders/{id}/status/`, the most frequent request there is.

Fast path: the order's snapshot in Redis (orders.snapshots), when the caller is one of the
readers it names and its deadline is not due. The caller's JWT was checked against the user
row (a deactivated user never gets here), so a customer or the assigned courier costs that
one query and one cache read; restaurant staff one more query, since their membership can be
revoked without any change to the order. Everyone else (a platform admin, a courier the order
is offered to, a stranger), a missing snapshot and a due deadline take the database path,
which is exactly the poll as it is without Redis: the caller's relation to the order, the
deadline carried out if it has passed (sweep-on-poll), the row.
"""

import time
from typing import Any

from django.utils import timezone

from core.errors import OrderNotFound
from core.parsing import parse_uuid
from orders.selectors import order_access, order_status_snapshot
from orders.services.deadlines import order_enforce_deadline
from orders.snapshots import SNAPSHOT_FIELDS, lean_status, status_snapshot_read, status_snapshot_store_on_commit
from restaurants.models import StaffMembership


def _may_read(user, snapshot: dict) -> bool:
    if user.pk in (snapshot["customer_id"], snapshot["courier_id"]):
        return True
    return StaffMembership.objects.filter(user_id=user.pk, restaurant_id=snapshot["restaurant_id"]).exists()


def order_status_for_poll(*, user, order_id: Any) -> dict:
    """The lean status of an order `user` may see (OrderNotFound otherwise, as for a missing one)."""
    order_uuid = parse_uuid(order_id)
    if order_uuid is None:
        raise OrderNotFound("No order with this id is visible to you.")
    snapshot = status_snapshot_read(order_uuid)
    if snapshot is not None:
        deadline = snapshot["deadline_at"]
        if (deadline is None or deadline > time.time()) and _may_read(user, snapshot):
            return snapshot["status"]
    access = order_access(user=user, order_id=order_uuid)
    row = _row(access)
    if row["deadline_at"] is not None and row["deadline_at"] <= timezone.now():
        # Sweep-on-poll: an overdue order is never shown as still waiting.
        order_enforce_deadline(order_id=access.order_id)
        row = _row(access)
    status_snapshot_store_on_commit(row)
    return lean_status(row)


def _row(access) -> dict:
    return order_status_snapshot(actor=access.actor, order_id=access.order_id, fields=SNAPSHOT_FIELDS)
