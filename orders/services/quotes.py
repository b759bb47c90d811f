"""Keeping an order's quoted ready time honest while the kitchen works (docs/kitchen.md#quotes).

The quote is made at placement (orders.kitchen); while the order waits and cooks, the kitchen's
learned preparation time and its busy minutes can move it. The customer hears of a new quote
(an `order.eta_updated` event: socket, page, webhook) only when it moves by more than
QUOTE_TOLERANCE, so a quote that wobbles by seconds does not flood anyone.
"""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.actors import Actor
from core.timestamps import iso
from orders.kitchen import prep_minutes_quote
from orders.lifecycle import order_awaits_release
from orders.models import EventType, Order, OrderStatus, TrackingEvent
from orders.schedule import eta_after_ready
from orders.services.events import event_record
from restaurants.hours import busy_minutes_at

QUOTE_TOLERANCE = timedelta(minutes=1)
# Orders whose ready time still depends on the kitchen.
QUOTED_STATUSES = (
    OrderStatus.ORDER_PLACED,
    OrderStatus.PAYMENT_SUCCESS,
    OrderStatus.RESTAURANT_CONFIRMED,
    OrderStatus.PREPARING,
)


def ready_quote(order: Order, *, item_count: int, now: datetime) -> datetime:
    """When the order will be ready, as the kitchen would quote it now: from when it started
    (preparing, else confirmed, else now) plus the learned preparation time and busy minutes; an
    order for later keeps its promised time unless that can no longer be made."""
    restaurant = order.restaurant
    minutes = prep_minutes_quote(restaurant, item_count=item_count) + busy_minutes_at(restaurant, now)
    started = order.preparing_at or order.confirmed_at or now
    ready = max(now, started + timedelta(minutes=minutes))
    if order.fulfill_at is not None and order.estimated_ready_at is not None:
        ready = max(ready, order.estimated_ready_at)
    return ready


def order_quote_refresh(*, order_id: Any, now: datetime | None = None) -> TrackingEvent | None:
    """Quote the order again; record and announce the new quote only if it moved by more than
    QUOTE_TOLERANCE. None when nothing changed (or the order is past the kitchen)."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = Order.objects.select_for_update(skip_locked=True, of=("self",)).select_related("restaurant")
        order = rows.filter(pk=order_id, status__in=QUOTED_STATUSES).first()
        if order is None or order_awaits_release(order):
            return None
        item_count = order.items.aggregate(count=Sum("quantity"))["count"] or 0
        ready = ready_quote(order, item_count=item_count, now=now)
        if order.estimated_ready_at is not None and abs(ready - order.estimated_ready_at) <= QUOTE_TOLERANCE:
            return None
        previous = order.estimated_ready_at
        order.estimated_ready_at = ready
        order.estimated_delivery_at = eta_after_ready(order, order.restaurant, ready)
        return event_record(
            order=order,
            event_type=EventType.ETA_UPDATED,
            actor=Actor.system(),
            changed_fields={"estimated_ready_at", "estimated_delivery_at"},
            from_status=order.status,
            to_status=order.status,
            metadata={
                "previous_ready_time": iso(previous) if previous else None,
                "ready_time": iso(ready),
            },
            at=now,
        )


def orders_quotes_refresh(*, restaurant_id: Any = None, now: datetime | None = None, limit: int = 500) -> int:
    """Quote again every order the kitchen still has (of one restaurant, or all); how many moved."""
    orders = Order.objects.filter(status__in=QUOTED_STATUSES)
    if restaurant_id is not None:
        orders = orders.filter(restaurant_id=restaurant_id)
    ids = list(orders.order_by("placed_at").values_list("pk", flat=True)[:limit])
    return sum(1 for order_id in ids if order_quote_refresh(order_id=order_id, now=now) is not None)
