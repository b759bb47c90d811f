"""Courier dispatch as a setting: automatic assignment of the nearest free online courier on
confirmation (the default), or offers a courier accepts; the available list and claiming work
in both."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from core.actors import Actor
from delivery.models import CourierOffer, CourierProfile
from delivery.tasks import courier_offers_renew_task
from orders.models import DeliveryStatus, EventType, OrderStatus
from tests.factories import CourierFactory, move, place_order

pytestmark = pytest.mark.django_db

NEAR = (Decimal("37.776000"), Decimal("-122.419000"))  # ~130 m from the fixtures' restaurant
FAR = (Decimal("37.800000"), Decimal("-122.419000"))  # ~2.8 km
OUT_OF_RANGE = (Decimal("38.500000"), Decimal("-122.419000"))  # ~80 km


def courier_at(name, where, **kwargs):
    return CourierFactory(user__username=name, latitude=where[0], longitude=where[1], **kwargs).user


def confirm(order, staff_user, capture):
    with capture(execute=True):
        return move(order, OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff_user))


def test_confirming_assigns_the_nearest_free_online_courier(
    customer, menu, staff_user, django_capture_on_commit_callbacks
):
    near, far = courier_at("near", NEAR), courier_at("far", FAR)
    courier_at("asleep", NEAR, is_online=False)
    order = place_order(customer, menu["salad"], quantity=2)
    confirm(order, staff_user, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert (order.courier, order.delivery_status) == (near, DeliveryStatus.ASSIGNED)
    assigned = order.events.get(event_type=EventType.ASSIGNED)
    assert assigned.actor_role == "system" and assigned.metadata["courier_id"] == near.pk
    assert not CourierOffer.objects.exists()

    # The nearest is now busy: the next order goes to the other one.
    second = place_order(customer, menu["salad"], quantity=2)
    confirm(second, staff_user, django_capture_on_commit_callbacks)
    second.refresh_from_db()
    assert second.courier == far


def test_with_nobody_free_the_order_waits_and_may_be_claimed_from_within_the_radius(
    customer, menu, staff_user, django_capture_on_commit_callbacks
):
    distant = courier_at("distant", OUT_OF_RANGE)
    order = place_order(customer, menu["salad"], quantity=2)
    confirm(order, staff_user, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.courier is None and order.delivery_status == DeliveryStatus.UNASSIGNED

    client = APIClient()
    client.force_authenticate(distant)
    assert client.get("/api/orders/available/").json()["results"] == []
    refused = client.post(f"/api/orders/{order.pk}/accept/")
    assert refused.status_code == 409 and refused.json()["code"] == "courier_too_far"
    assert refused.headers["Content-Type"] == "application/problem+json"

    CourierProfile.objects.filter(user=distant).update(latitude=FAR[0], longitude=FAR[1])
    listed = client.get("/api/orders/available/").json()
    assert [row["id"] for row in listed["results"]] == [str(order.pk)]
    accepted = client.post(f"/api/orders/{order.pk}/accept/")
    assert accepted.status_code == 200 and accepted.json()["delivery_status"] == "assigned"


def test_a_courier_who_comes_online_later_is_assigned_by_the_periodic_pass(
    customer, menu, staff_user, django_capture_on_commit_callbacks
):
    order = place_order(customer, menu["salad"], quantity=2)
    confirm(order, staff_user, django_capture_on_commit_callbacks)
    assert courier_offers_renew_task() == 0
    latecomer = courier_at("latecomer", NEAR)
    assert courier_offers_renew_task() == 1
    order.refresh_from_db()
    assert order.courier == latecomer
    assert courier_offers_renew_task() == 0


def test_pickup_orders_get_no_courier(customer, menu, staff_user, django_capture_on_commit_callbacks):
    courier_at("near", NEAR)
    order = place_order(customer, menu["salad"], quantity=2, delivery_type="pickup")
    confirm(order, staff_user, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.courier is None


@pytest.mark.usefixtures("offers_dispatch")
def test_in_offers_mode_confirming_offers_instead_of_assigning(
    customer, menu, staff_user, django_capture_on_commit_callbacks
):
    near = courier_at("near", NEAR)
    order = place_order(customer, menu["salad"], quantity=2)
    confirm(order, staff_user, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.courier is None
    assert CourierOffer.objects.get(order=order).courier == near
    client = APIClient()
    client.force_authenticate(near)
    assert [row["id"] for row in client.get("/api/orders/available/").json()["results"]] == [str(order.pk)]
    assert client.post(f"/api/orders/{order.pk}/accept/").status_code == 200
