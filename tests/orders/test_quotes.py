"""Quotes while the kitchen works: a new quote is recorded and announced only when it moves by
more than a minute."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from core.actors import Actor
from orders.models import EventType, OrderStatus, TrackingEvent
from orders.services.quotes import order_quote_refresh, orders_quotes_refresh
from restaurants.models import KitchenStatus
from restaurants.services import restaurant_status_set
from tests.factories import move, place_order
from tracking.payloads import event_payload

pytestmark = pytest.mark.django_db


def eta_events(order):
    return TrackingEvent.objects.filter(order=order, event_type=EventType.ETA_UPDATED)


@freeze_time("2026-03-03 12:00:00")
def test_busy_moves_the_quote_once_and_small_moves_are_not_announced(customer, menu, staff_user, restaurant):
    order = place_order(customer, menu["salad"], quantity=2)
    move(order, OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff_user))
    order.refresh_from_db()
    quoted = order.estimated_ready_at
    assert order_quote_refresh(order_id=order.pk) is None  # nothing moved

    with freeze_time(timezone.now() + timedelta(seconds=50)):
        # The quote counts from the confirmation: 50 seconds later it has not moved.
        assert orders_quotes_refresh() == 0

    restaurant_status_set(user=staff_user, restaurant_id=restaurant.pk, status=KitchenStatus.BUSY, busy_minutes=15)
    event = order_quote_refresh(order_id=order.pk)
    assert event is not None
    order.refresh_from_db()
    assert order.estimated_ready_at == quoted + timedelta(minutes=15)
    payload = event_payload(TrackingEvent.objects.select_related("order").get(pk=event.pk))
    assert payload["event_type"] == "order.eta_updated"
    assert payload["estimated_delivery_time"] is not None
    assert orders_quotes_refresh() == 0
    assert eta_events(order).count() == 1


@freeze_time("2026-03-03 12:00:00")
def test_orders_past_the_kitchen_are_not_quoted_again(customer, menu, staff_user, restaurant):
    order = place_order(customer, menu["salad"], quantity=2)
    actor = Actor.restaurant(staff_user)
    for target in (OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP):
        move(order, target, actor=actor)
    restaurant_status_set(user=staff_user, restaurant_id=restaurant.pk, status=KitchenStatus.BUSY, busy_minutes=30)
    assert order_quote_refresh(order_id=order.pk) is None
    assert not eta_events(order).exists()
