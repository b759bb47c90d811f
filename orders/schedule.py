"""When things should happen to an order: its delivery estimate and its next deadline.

Pure computations, shared by placing and by the transition service.
"""

from datetime import datetime, timedelta

from django.conf import settings

from core.geo import haversine_km, travel_minutes
from orders.lifecycle import RELEASE, order_awaits_release
from orders.models import DeadlineKind, DeliveryType, Order, OrderStatus
from restaurants.models import Restaurant


def eta_after_ready(order: Order, restaurant: Restaurant, ready_at: datetime) -> datetime:
    """When the order reaches its customer if it is ready at `ready_at` (pickup orders: then)."""
    if (
        order.delivery_type == DeliveryType.PICKUP
        or order.delivery_latitude is None
        or order.delivery_longitude is None
    ):
        return ready_at
    distance = haversine_km(
        restaurant.latitude, restaurant.longitude, order.delivery_latitude, order.delivery_longitude
    )
    return ready_at + timedelta(minutes=travel_minutes(distance))


def deadline_for(order: Order, now: datetime) -> tuple[datetime | None, str]:
    """The deadline (and its kind) of an order that has just entered its current status."""
    s = settings
    waits: dict[str, tuple[int, str]] = {
        OrderStatus.PAYMENT_PENDING: (s.ORDERFLOW_PAYMENT_TIMEOUT_SECONDS, DeadlineKind.PAYMENT),
        OrderStatus.ORDER_PLACED: (s.ORDERFLOW_CONFIRM_TIMEOUT_SECONDS, DeadlineKind.CONFIRMATION),
        OrderStatus.PAYMENT_SUCCESS: (s.ORDERFLOW_CONFIRM_TIMEOUT_SECONDS, DeadlineKind.CONFIRMATION),
        OrderStatus.DELIVERED: (s.ORDERFLOW_RETURN_WINDOW_SECONDS, DeadlineKind.RETURN_WINDOW),
    }
    if order.status == OrderStatus.READY_FOR_PICKUP:
        if order.delivery_type == DeliveryType.PICKUP:
            waits[order.status] = (s.ORDERFLOW_COLLECTION_TIMEOUT_SECONDS, DeadlineKind.COLLECTION)
        else:
            waits[order.status] = (s.ORDERFLOW_PICKUP_TIMEOUT_SECONDS, DeadlineKind.PICKUP)
    if order.status in RELEASE.sources and order_awaits_release(order):
        # An order for later waits for its release; the kitchen's deadline counts from there.
        return order.release_at, DeadlineKind.RELEASE
    if order.status not in waits:
        return None, ""
    seconds, kind = waits[order.status]
    return now + timedelta(seconds=seconds), kind
