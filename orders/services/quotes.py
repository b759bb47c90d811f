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
from orders.kitchen import QUEUED_STATUSES, KitchenQueue, PrepTimes, kitchen_queue
from orders.lifecycle import order_awaits_release
from orders.models import EventType, Order, TrackingEvent
from orders.schedule import eta_after_ready
from orders.services.events import event_record
from restaurants.hours import busy_minutes_at
from restaurants.models import Restaurant

QUOTE_TOLERANCE = timedelta(minutes=1)


def ready_quote(order: Order, *, item_count: int, now: datetime, queue: KitchenQueue, prep: PrepTimes) -> datetime:
    """When the order will be ready, as the kitchen would quote it now: from when it started
    cooking, or else from when a station is free for it after the orders ahead of it (not before
    its confirmation), plus the learned preparation time and busy minutes; an order for later
    keeps its promised time unless that can no longer be made."""
    minutes = prep.minutes(item_count) + busy_minutes_at(order.restaurant, now)
    if order.preparing_at is not None:
        started = order.preparing_at
    else:
        station_free = queue.start_for(now=now, order_id=order.pk, placed_at=order.placed_at)
        started = max(order.confirmed_at or now, station_free)
    ready = max(now, started + timedelta(minutes=minutes))
    if order.fulfill_at is not None and order.estimated_ready_at is not None:
        ready = max(ready, order.estimated_ready_at)
    return ready


def order_quote_refresh(
    *,
    order_id: Any,
    now: datetime | None = None,
    queue: KitchenQueue | None = None,
    prep: PrepTimes | None = None,
) -> TrackingEvent | None:
    """Quote the order again; record and announce the new quote only if it moved by more than
    QUOTE_TOLERANCE. None when nothing changed (or the order is past the kitchen). `queue` and
    `prep`: its restaurant's, shared by a pass over many of its orders (and kept up to date with
    the new quote); read here when not given."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = Order.objects.select_for_update(skip_locked=True, of=("self",)).select_related("restaurant")
        order = rows.filter(pk=order_id, status__in=QUEUED_STATUSES).first()
        if order is None or order_awaits_release(order):
            return None
        queue = queue if queue is not None else kitchen_queue(order.restaurant)
        prep = prep if prep is not None else PrepTimes(order.restaurant)
        ticket = queue.tickets.get(order.pk)
        item_count = ticket.item_count if ticket else order.items.aggregate(count=Sum("quantity"))["count"] or 0
        ready = ready_quote(order, item_count=item_count, now=now, queue=queue, prep=prep)
        if order.estimated_ready_at is not None and abs(ready - order.estimated_ready_at) <= QUOTE_TOLERANCE:
            return None
        previous = order.estimated_ready_at
        order.estimated_ready_at = ready
        order.estimated_delivery_at = eta_after_ready(order, order.restaurant, ready)
        queue.requote(order.pk, ready)
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
    """Quote again every order the kitchen still has (of one restaurant, or all), oldest first;
    how many moved. Each restaurant's queue and learned preparation times are read once."""
    orders = Order.objects.filter(status__in=QUEUED_STATUSES)
    if restaurant_id is not None:
        orders = orders.filter(restaurant_id=restaurant_id)
    by_restaurant: dict[Any, list[Any]] = {}
    for order_id, its_restaurant in orders.order_by("placed_at").values_list("pk", "restaurant_id")[:limit]:
        by_restaurant.setdefault(its_restaurant, []).append(order_id)
    moved = 0
    for restaurant in Restaurant.objects.filter(pk__in=by_restaurant):
        queue, prep = kitchen_queue(restaurant), PrepTimes(restaurant)
        for order_id in by_restaurant[restaurant.pk]:
            moved += order_quote_refresh(order_id=order_id, now=now, queue=queue, prep=prep) is not None
    return moved
