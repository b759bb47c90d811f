"""Reads of orders: lists, detail, queues and what a courier sees. Who may see which order is
the policy of orders.visibility; every read here starts from its querysets."""

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import (
    ExpressionWrapper,
    FloatField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from core.actors import Actor, ActorRole
from core.errors import OrderNotFound
from core.geo import haversine_km
from core.parsers import parse_uuid
from core.timestamps import iso
from orders.lifecycle import ASSIGNABLE_STATUSES, CARRYING_STATUSES, KITCHEN_STATUSES
from orders.models import Order, OrderItem, OrderItemCustomization
from orders.visibility import courier_at_work, courier_sees_drop_off, orders_available_to_couriers, orders_visible_to

STATUS_SNAPSHOT_FIELDS = (
    "id",
    "number",
    "status",
    "payment_status",
    "delivery_status",
    "refund_status",
    "updated_at",
    "estimated_delivery_at",
    "sequence",
    "deadline_at",
)


def order_status_snapshot(
    *, actor: Actor, order_id: UUID, fields: tuple[str, ...] = STATUS_SNAPSHOT_FIELDS
) -> dict[str, Any]:
    """The lean status of one order, read from the order row alone: what pollers and sockets get."""
    row: dict[str, Any] | None
    try:
        row = orders_visible_to(actor=actor).filter(pk=order_id).values(*fields).first()
    except (DjangoValidationError, ValueError, TypeError):
        row = None
    if row is None:
        raise OrderNotFound("No order with this id is visible to you.")
    return row


# ---------------------------------------------------------------- shapes for lists and detail


def with_item_count(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Annotate `items_quantity` (the number of individual items) without joining the lines."""
    quantities = (
        OrderItem.objects.filter(order_id=OuterRef("pk")).values("order_id").annotate(n=Sum("quantity")).values("n")
    )
    return orders.annotate(items_quantity=Coalesce(Subquery(quantities), 0))


def orders_for_summary(orders: QuerySet[Order]) -> QuerySet[Order]:
    return with_item_count(orders.select_related("restaurant"))


def _with_lines(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.prefetch_related(
        Prefetch(
            "items",
            queryset=OrderItem.objects.prefetch_related(
                Prefetch("customizations", queryset=OrderItemCustomization.objects.order_by("id"))
            ).order_by("id"),
        )
    )


DETAIL_INCLUDES = ("history", "payments")


def _one(orders: QuerySet[Order], order_id: UUID) -> Order:
    order_uuid = parse_uuid(order_id)
    order = orders.filter(pk=order_uuid).first() if order_uuid else None
    if order is None:
        raise OrderNotFound("No order with this id is visible to you.")
    return order


def order_detail(*, actor: Actor, order_id: UUID, include: tuple[str, ...] = ()) -> Order:
    """One visible order with everything its full view shows, in a fixed number of queries."""
    orders = _with_lines(
        with_item_count(
            orders_visible_to(actor=actor).select_related(
                "restaurant", "customer", "courier", "courier__courier_profile", "refund"
            )
        )
    )
    if "history" in include:
        orders = orders.prefetch_related("events")
    if "payments" in include:
        orders = orders.prefetch_related("payments")
    return _one(orders, order_id)


def order_with_events(*, actor: Actor, order_id: UUID) -> Order:
    return _one(orders_visible_to(actor=actor).prefetch_related("events"), order_id)


def order_for_eta(*, actor: Actor, order_id: UUID) -> Order:
    """The order with what its ETA reads: the restaurant and the courier's last position."""
    return _one(orders_visible_to(actor=actor).select_related("restaurant", "courier__courier_profile"), order_id)


# ---------------------------------------------------------------- restaurant queue


def restaurant_queue(*, actor: Actor, restaurant_id: UUID | None = None) -> QuerySet[Order]:
    """The staff member's restaurants' orders still in the kitchen, oldest first."""
    orders = orders_visible_to(actor=actor).filter(status__in=KITCHEN_STATUSES)
    if restaurant_id is not None:
        orders = orders.filter(restaurant_id=restaurant_id)
    return _with_lines(orders_for_summary(orders)).order_by("placed_at", "id")


# ---------------------------------------------------------------- couriers


def orders_available_for_courier(
    *, position: tuple[Any, ...] | None = None, courier: User | None = None
) -> QuerySet[Order]:
    """Delivery orders no courier has yet whose restaurant is within the dispatch radius
    (ORDERFLOW_COURIER_CLAIM_RADIUS_KM) of `position` (the courier's last, as (latitude,
    longitude)), nearest restaurant first. Nothing while the position is unknown (no order can
    be claimed then) and, given `courier`, nothing unless that courier is online.

    Distances use the equirectangular approximation (exact enough to rank and to bound at
    these distances, and plain arithmetic on every database); distances shown to the courier
    are computed exactly.
    """
    orders = orders_for_summary(orders_available_to_couriers())
    if position is None:
        return orders.none()
    if courier is not None:  # in the same query, so the page costs no extra round trip
        orders = orders.filter(courier_at_work(courier.pk))
    latitude, longitude = float(position[0]), float(position[1])
    scale = math.cos(math.radians(latitude))
    d_lat = Cast("restaurant__latitude", FloatField()) - Value(latitude)
    d_lon = (Cast("restaurant__longitude", FloatField()) - Value(longitude)) * Value(scale)
    reach = settings.ORDERFLOW_COURIER_CLAIM_RADIUS_KM / KM_PER_DEGREE
    return (
        orders.annotate(proximity=ExpressionWrapper(d_lat * d_lat + d_lon * d_lon, output_field=FloatField()))
        .filter(proximity__lte=reach * reach)
        .order_by("proximity", "placed_at", "id")
    )


# ---------------------------------------------------------------- what a courier sees of an order
#
# Before a courier has an order (the available list, an offer, the courier socket), and again
# once it has ended for them, they see the restaurant, the drop-off area, distances and pay:
# never the customer's name, id, street, postal code, phone or notes, nor the exact drop-off.
# Those are theirs to see only while they deliver the order.

KM_PER_DEGREE = 111.195
# Drop-off coordinates are snapped to this grid: about 550 m north-south, 440 m east-west at 37°.
DROP_OFF_GRID = Decimal("0.005")


def coarse_coordinate(value: Any) -> Decimal | None:
    """A coordinate snapped to DROP_OFF_GRID: three decimals at most, an area rather than a door."""
    if value is None:
        return None
    cells = (Decimal(str(value)) / DROP_OFF_GRID).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return (cells * DROP_OFF_GRID).quantize(Decimal("0.001"))


def courier_preview_unless_delivering(*, actor: Actor, order: Order) -> dict[str, Any] | None:
    """The courier preview of `order` when `actor` is a courier who does not see its customer
    (`courier_sees_drop_off`); None for everyone who sees the order in full."""
    if actor.role != ActorRole.COURIER or courier_sees_drop_off(order=order, user_id=actor.user_id):
        return None
    position = None
    profile = getattr(actor.user, "courier_profile", None)
    if profile is not None:
        position = (profile.latitude, profile.longitude)
    return order_preview_for_courier(order=order, position=position)


def _km(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def order_preview_for_courier(*, order: Order, position: tuple[Any, ...] | None = None) -> dict[str, Any]:
    """What a courier sees of an order that is not (or no longer) theirs to deliver.

    Reads `order.restaurant`. `position` is the courier's last (latitude, longitude), for the
    distance to the restaurant. The ride from restaurant to drop-off is given to 0.1 km, so that
    it does not narrow the drop-off area down to a street.
    """
    restaurant = order.restaurant
    to_restaurant = None
    if position is not None and position[0] is not None and position[1] is not None:
        to_restaurant = haversine_km(position[0], position[1], restaurant.latitude, restaurant.longitude)
    ride = None
    if order.delivery_latitude is not None and order.delivery_longitude is not None:
        ride = haversine_km(
            restaurant.latitude, restaurant.longitude, order.delivery_latitude, order.delivery_longitude
        )
    return {
        "id": str(order.pk),
        "order_number": order.number,
        "order_status": order.status,
        "delivery_status": order.delivery_status,
        "delivery_type": order.delivery_type,
        "payment_method": order.payment_method,
        "restaurant": str(order.restaurant_id),
        "restaurant_name": restaurant.name,
        "restaurant_address": restaurant.address,
        "drop_off_area": {
            "city": order.delivery_city,
            "latitude": _decimal_text(coarse_coordinate(order.delivery_latitude)),
            "longitude": _decimal_text(coarse_coordinate(order.delivery_longitude)),
        },
        "distance_to_restaurant_km": _km(to_restaurant, 2),
        "delivery_distance_km": _km(ride, 1),
        "currency": order.currency,
        "pay": {
            "delivery_fee": _decimal_text(order.delivery_fee),
            "tip": _decimal_text(order.tip),
            "total": _decimal_text(order.delivery_fee + order.tip),
        },
        "total_amount": _decimal_text(order.total),
        "estimated_ready_time": iso(order.estimated_ready_at),
        "order_placed_at": iso(order.placed_at),
    }


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def courier_within_reach(*, order: Order, position: tuple[Any, ...] | None) -> bool:
    """Whether a courier at `position` may claim `order`: its restaurant is within the dispatch radius."""
    if position is None or position[0] is None or position[1] is None:
        return False
    restaurant = order.restaurant
    distance = haversine_km(position[0], position[1], restaurant.latitude, restaurant.longitude)
    radius: float = settings.ORDERFLOW_COURIER_CLAIM_RADIUS_KM
    return distance <= radius


# ---------------------------------------------------------------- the courier on the way


@dataclass(frozen=True)
class Position:
    latitude: Decimal
    longitude: Decimal
    updated_at: datetime | None = None


def courier_position(order: Order) -> Position | None:
    """The assigned courier's last reported position; reads `order.courier.courier_profile`.

    Shown only while the courier is on the way for this order (to the restaurant or carrying
    it): after delivery or cancellation, where the courier goes is none of the customer's business.
    """
    if order.courier_id is None or order.status not in (*ASSIGNABLE_STATUSES, *CARRYING_STATUSES):
        return None
    profile = getattr(order.courier, "courier_profile", None)
    if profile is None or profile.latitude is None or profile.longitude is None:
        return None
    return Position(profile.latitude, profile.longitude, profile.location_updated_at)
