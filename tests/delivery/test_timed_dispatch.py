"""Timed dispatch (ORDERFLOW_COURIER_DISPATCH_TIMING=ready): the courier is assigned when their
ride to the restaurant ends at the quoted ready time, not at confirmation."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from core.geo import haversine_km, travel_minutes
from delivery.tasks import courier_offers_renew_task
from orders.models import DeliveryStatus
from tests.delivery.test_dispatch import FAR, confirm, courier_at
from tests.factories import place_order

pytestmark = pytest.mark.django_db


def test_the_courier_is_sent_when_their_ride_ends_at_the_ready_time(
    customer, menu, staff_user, restaurant, settings, django_capture_on_commit_callbacks
):
    settings.ORDERFLOW_COURIER_DISPATCH_TIMING = "ready"
    courier = courier_at("far", FAR)
    with freeze_time("2026-03-03 12:00:00"):
        order = place_order(customer, menu["salad"], quantity=2)
        confirm(order, staff_user, django_capture_on_commit_callbacks)
        order.refresh_from_db()
        # Confirmed: ready in the kitchen's time; the courier is not sent yet.
        assert order.courier is None and order.delivery_status == DeliveryStatus.UNASSIGNED
        ride = timedelta(
            minutes=travel_minutes(haversine_km(restaurant.latitude, restaurant.longitude, FAR[0], FAR[1]))
        )
        set_off = order.estimated_ready_at - ride
        assert set_off > timezone.now()

    with freeze_time(set_off - timedelta(seconds=30)):
        courier_offers_renew_task()
        order.refresh_from_db()
        assert order.courier is None
    with freeze_time(set_off):
        courier_offers_renew_task()
        order.refresh_from_db()
        assert (order.courier, order.delivery_status) == (courier, DeliveryStatus.ASSIGNED)


def test_at_confirmation_timing_assigns_at_once(customer, menu, staff_user, django_capture_on_commit_callbacks):
    courier = courier_at("far", FAR)
    order = place_order(customer, menu["salad"], quantity=2)
    confirm(order, staff_user, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.courier == courier
