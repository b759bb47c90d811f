"""Races on the real PostgreSQL: row locks and unique reservations, not timing."""

import threading
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from delivery.api import CourierOrderViewSet
from orders.models import EventType, Order, TrackingEvent
from tests.api.support import order_body
from tests.factories import place_order, to_ready

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _race(requests_by_name: dict) -> dict:
    """Run each (user, method, path, body, headers) at once, each on its own connection."""
    barrier = threading.Barrier(len(requests_by_name))
    responses = {}

    def run(name, user, path, body, headers):
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait(timeout=10)
            responses[name] = client.post(path, body, format="json", **headers)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name, *spec)) for name, spec in requests_by_name.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return responses


@pytest.fixture
def both_asked_before_either_acts(monkeypatch):
    """Both couriers' requests have come in (`asked_at`) before either claims: really at once.

    Without it, one thread may start only after the other committed, and a courier who asks
    for an order already taken is told it is missing (test_courier_api), not that they lost."""
    barrier = threading.Barrier(2)
    initial = CourierOrderViewSet.initial

    def initial_then_wait(self, request, *args, **kwargs):
        initial(self, request, *args, **kwargs)
        barrier.wait(timeout=10)

    monkeypatch.setattr(CourierOrderViewSet, "initial", initial_then_wait)


@pytest.mark.usefixtures("offers_dispatch", "both_asked_before_either_acts")
@pytest.mark.parametrize("round_", range(5))
def test_two_couriers_racing_for_one_order_get_one_200_and_one_409(
    customer, staff_user, courier_user, other_courier_user, menu, round_
):
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)
    path = f"/api/orders/{order.pk}/accept/"

    responses = _race({"dave": (courier_user, path, {}, {}), "erin": (other_courier_user, path, {}, {})})

    assert sorted(r.status_code for r in responses.values()) == [200, 409]
    winner = next(name for name, r in responses.items() if r.status_code == 200)
    loser = next(r for r in responses.values() if r.status_code == 409)
    assert loser.json()["code"] == "already_assigned"
    order.refresh_from_db()
    assert order.courier.username == winner
    assert TrackingEvent.objects.filter(order=order, event_type=EventType.ASSIGNED).count() == 1


def test_the_same_idempotency_key_sent_twice_at_once_places_one_order(customer, menu):
    key = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    body = order_body(menu)

    responses = _race(
        {"tap": (customer, "/api/orders/", body, key), "double_tap": (customer, "/api/orders/", body, key)}
    )

    statuses = sorted(r.status_code for r in responses.values())
    assert statuses in ([201, 201], [201, 409])
    for response in responses.values():
        if response.status_code == 409:
            assert response.json()["code"] == "idempotency_in_progress"
    assert Order.objects.count() == 1
