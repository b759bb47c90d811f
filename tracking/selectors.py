"""Reads behind the live sockets. Who may see which order is decided by orders.visibility alone."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from core.actors import Actor
from core.errors import OrderNotFound
from core.geo import haversine_km
from delivery.models import CourierProfile
from delivery.selectors import courier_last_position, courier_offers_open
from orders.lifecycle import ACTIVE_STATUSES, CARRYING_STATUSES
from orders.models import Order, TrackingEvent
from orders.polling import order_row_from_snapshot
from orders.selectors import (
    STATUS_SNAPSHOT_FIELDS,
    order_preview_for_courier,
    order_status_snapshot,
    orders_available_for_courier,
    restaurant_queue,
)
from orders.snapshots import status_payload
from orders.visibility import (
    order_access,
    order_relation_holds,
    orders_assigned_to,
    orders_visible_to,
    restaurant_orders_actor,
)
from restaurants.hours import kitchen_status_payload
from restaurants.models import Restaurant
from tracking.payloads import event_payload, location_payload, offer_payload

# Most orders a queue or offer snapshot lists.
SNAPSHOT_LIMIT = 200


@dataclass(frozen=True)
class OrderWatch:
    """What a socket watching one order starts from: who is watching, and the lean status."""

    actor: Actor
    snapshot: dict
    deadline_at: datetime | None = None


def user_is_courier(user) -> bool:
    return CourierProfile.objects.filter(user=user).exists()


def order_watch(*, user, order_id) -> OrderWatch | None:
    """The order's lean status for `user` in their capacity towards it (orders.visibility.order_access),
    or None if they may not see it. Read from the order's Redis snapshot when that names the user
    (orders.polling.order_row_from_snapshot), from the database otherwise."""
    cached = order_row_from_snapshot(user=user, order_id=order_id)
    if cached is not None:
        actor, row = cached
        return OrderWatch(actor=actor, snapshot=order_snapshot_payload(row), deadline_at=row["deadline_at"])
    try:
        access = order_access(user=user, order_id=order_id)
    except OrderNotFound:
        return None
    row = order_status_snapshot(actor=access.actor, order_id=access.order_id)
    return OrderWatch(actor=access.actor, snapshot=order_snapshot_payload(row), deadline_at=row["deadline_at"])


def order_watch_holds(*, user, order_id) -> bool:
    """Whether `user` may still see the order (an open socket's re-check): from the database, which
    knows of a staff membership or a courier assignment that ended after the snapshot was written."""
    return order_relation_holds(user=user, order_id=order_id)


def order_sequence(*, order_id) -> int:
    """The order's last event's sequence, from the database (0 for an unknown order)."""
    return Order.objects.filter(pk=order_id).values_list("sequence", flat=True).first() or 0


def order_snapshot_payload(row: dict) -> dict:
    snapshot = status_payload(row)
    snapshot["courier_location"] = (
        courier_location_for_order(order_id=row["id"]) if (row["status"] in CARRYING_STATUSES) else None
    )
    return snapshot


def courier_location_for_order(*, order_id: Any) -> dict[str, Any] | None:
    """The latest known position of the courier carrying the order, with its ETA."""
    order = (
        Order.objects.filter(pk=order_id, courier__isnull=False)
        .values(
            "id",
            "number",
            "delivery_latitude",
            "delivery_longitude",
            "courier__courier_profile__latitude",
            "courier__courier_profile__longitude",
            "courier__courier_profile__location_updated_at",
        )
        .first()
    )
    if order is None or order["courier__courier_profile__latitude"] is None:
        return None
    return location_payload(
        order=order,
        latitude=order["courier__courier_profile__latitude"],
        longitude=order["courier__courier_profile__longitude"],
        recorded_at=order["courier__courier_profile__location_updated_at"],
    )


def event_payloads_after(*, order_id, after: int, before: int | None = None) -> list[dict]:
    """The order's events with `after` < sequence (< `before`), oldest first, as clients get them.

    Only for an order the caller has already been allowed to see.
    """
    events = TrackingEvent.objects.filter(order_id=order_id, sequence__gt=after)
    if before is not None:
        events = events.filter(sequence__lt=before)
    return [event_payload(event) for event in events.select_related("order").order_by("sequence")]


def restaurant_may_watch(*, user, restaurant_id) -> Actor | None:
    """The actor in which `user` may watch the restaurant's queue (orders.visibility)."""
    return restaurant_orders_actor(user=user, restaurant_id=restaurant_id)


def restaurant_queue_snapshot(*, actor: Actor, restaurant_id) -> list[dict]:
    """The kitchen queue a socket starts from: the orders of GET /api/restaurants/orders/queue/."""
    rows = restaurant_queue(actor=actor, restaurant_id=restaurant_id).values(*STATUS_SNAPSHOT_FIELDS)
    return [status_payload(row) for row in rows[:SNAPSHOT_LIMIT]]


def restaurant_kitchen_status(*, restaurant_id) -> dict | None:
    """The kitchen's status (open, closed, paused, busy) for its board's snapshot."""
    restaurant = Restaurant.objects.filter(pk=restaurant_id).first()
    return kitchen_status_payload(restaurant, at=timezone.now()) if restaurant else None


def courier_board(*, courier) -> dict:
    """A courier's active orders, the orders any courier may claim, and the offers made to them.

    Each available order carries `order`, what couriers see of it before they have it (the
    preview of GET /api/orders/available/)."""
    visible = orders_visible_to(actor=Actor.courier(courier))
    assigned = visible.filter(
        pk__in=orders_assigned_to(courier_id=courier.pk).values("pk"), status__in=ACTIVE_STATUSES
    ).order_by("placed_at")
    # The orders of GET /api/orders/available/, nearest first.
    position = courier_last_position(courier=courier)
    available = orders_available_for_courier(position=position, courier=courier)[:SNAPSHOT_LIMIT]
    return {
        "assigned": [status_payload(row) for row in assigned.values(*STATUS_SNAPSHOT_FIELDS)[:SNAPSHOT_LIMIT]],
        "available": [
            {
                **status_payload({field: getattr(order, field) for field in STATUS_SNAPSHOT_FIELDS}),
                "order": order_preview_for_courier(order=order, position=position),
            }
            for order in available
        ],
        "offers": [offer_payload(offer) for offer in courier_offers_open(courier=courier)[:SNAPSHOT_LIMIT]],
    }


def courier_available_frame(*, courier, preview: dict) -> dict | None:
    """`preview` (an order any courier may claim, as broadcast) for this courier, with the distance
    from their last position; None while they are offline, their position is unknown, or the
    restaurant is beyond the dispatch radius: such a courier is not told about the order."""
    profile = CourierProfile.objects.filter(user=courier).values("is_online", "latitude", "longitude").first()
    if profile is None or not profile["is_online"] or profile["latitude"] is None or profile["longitude"] is None:
        return None
    restaurant = Restaurant.objects.filter(pk=preview["restaurant"]).values("latitude", "longitude").first()
    if restaurant is None:
        return None
    distance = haversine_km(profile["latitude"], profile["longitude"], restaurant["latitude"], restaurant["longitude"])
    if distance > settings.ORDERFLOW_COURIER_CLAIM_RADIUS_KM:
        return None
    return {**preview, "distance_to_restaurant_km": round(distance, 2)}


def orders_in_transit_for_courier(*, courier: User) -> list[Mapping[str, Any]]:
    return list(
        orders_assigned_to(courier_id=courier.pk)
        .filter(status__in=CARRYING_STATUSES)
        .values("id", "number", "delivery_latitude", "delivery_longitude")
    )
