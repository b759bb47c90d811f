"""Reads about where couriers are and when an order will arrive."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from core.geo import HANDOFF_MINUTES, haversine_km, travel_minutes
from delivery.models import CourierOffer, CourierProfile, OfferState
from orders.lifecycle import ARRIVED_STATUSES, ASSIGNABLE_STATUSES, AWAITING_KITCHEN_STATUSES, CARRYING_STATUSES
from orders.models import DeliveryType, Order, OrderStatus
from orders.selectors import Position, courier_position, order_preview_for_courier


@dataclass(frozen=True)
class Eta:
    estimated_delivery_at: datetime | None
    minutes: int | None
    # What the estimate rests on: courier_position, preparation, arrived or none.
    basis: str
    courier_position: Position | None
    customer_position: Position | None
    restaurant_position: Position


def _minutes_until(moment: datetime, now: datetime) -> int:
    return max(0, math.ceil((moment - now).total_seconds() / 60))


def order_eta(*, order: Order, now: datetime) -> Eta:
    """When the order should reach its customer (or be ready to collect).

    Out with a courier whose position is known: from that position to the customer.
    Assigned before pickup: the courier reaches the restaurant (not before the food is
    ready), then rides to the customer. Otherwise the preparation estimates.
    """
    restaurant = Position(order.restaurant.latitude, order.restaurant.longitude)
    customer = (
        Position(order.delivery_latitude, order.delivery_longitude)
        if order.delivery_latitude is not None and order.delivery_longitude is not None
        else None
    )
    courier = courier_position(order)

    def answer(moment: datetime | None, basis: str) -> Eta:
        minutes = None if moment is None else _minutes_until(moment, now)
        return Eta(moment, minutes, basis, courier, customer, restaurant)

    if order.status in ARRIVED_STATUSES:
        return answer(order.delivered_at, "arrived")
    if order.status not in AWAITING_KITCHEN_STATUSES and order.status not in CARRYING_STATUSES:
        return answer(None, "none")
    if order.delivery_type == DeliveryType.PICKUP or customer is None:
        ready = order.ready_at if order.status == OrderStatus.READY_FOR_PICKUP else order.estimated_ready_at
        return answer(ready, "preparation")
    if courier is not None and order.status in CARRYING_STATUSES:
        ride = haversine_km(courier.latitude, courier.longitude, customer.latitude, customer.longitude)
        return answer(now + timedelta(minutes=travel_minutes(ride)), "courier_position")
    if courier is not None and order.status in ASSIGNABLE_STATUSES:
        to_restaurant = haversine_km(courier.latitude, courier.longitude, restaurant.latitude, restaurant.longitude)
        at_restaurant = now + timedelta(minutes=travel_minutes(to_restaurant) - HANDOFF_MINUTES)
        if order.estimated_ready_at and order.estimated_ready_at > at_restaurant:
            at_restaurant = order.estimated_ready_at
        to_customer = haversine_km(restaurant.latitude, restaurant.longitude, customer.latitude, customer.longitude)
        return answer(at_restaurant + timedelta(minutes=travel_minutes(to_customer)), "courier_position")
    return answer(order.estimated_delivery_at, "preparation")


def courier_last_position(*, courier) -> tuple[Decimal, Decimal] | None:
    """The (latitude, longitude) the courier last reported, if any."""
    row = CourierProfile.objects.filter(user_id=courier.pk).values_list("latitude", "longitude").first()
    if row is None:
        return None
    latitude, longitude = row
    if latitude is None or longitude is None:
        return None
    return latitude, longitude


def courier_offers_open(*, courier) -> QuerySet[CourierOffer]:
    """The offers a courier may still accept, soonest to expire first."""
    return (
        CourierOffer.objects.filter(courier=courier, state=OfferState.PENDING, expires_at__gt=timezone.now())
        .select_related("order", "order__restaurant")
        .order_by("expires_at")
    )


_RATE_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def courier_location_interval() -> float:
    """The shortest time between two positions from one courier on a socket, in seconds: the same
    `ORDERFLOW_COURIER_LOCATION_RATE` ("30/min", DRF's notation) that limits the REST endpoint."""
    count, period = settings.ORDERFLOW_COURIER_LOCATION_RATE.split("/")
    return _RATE_PERIOD_SECONDS[period[0]] / int(count)


def offer_order_preview(offer: CourierOffer) -> dict:
    """The offered order as the courier sees it: the distance is the offer's, from where they were."""
    preview = order_preview_for_courier(order=offer.order)
    preview["distance_to_restaurant_km"] = round(float(offer.distance_km), 2)
    return preview
