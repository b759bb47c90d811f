"""Who may see a courier's position, and who may see the customers of unclaimed orders."""

from decimal import Decimal

import pytest
from django.utils import timezone

from delivery.models import CourierProfile
from orders.models import Order, OrderStatus
from tests.api.support import problem
from tests.factories import assign, place_order, to_out_for_delivery, to_ready

pytestmark = pytest.mark.django_db


def _courier_somewhere(courier_user):
    CourierProfile.objects.filter(user=courier_user).update(
        latitude=Decimal("37.766000"), longitude=Decimal("-122.410000"), location_updated_at=timezone.now()
    )


def _seen_position(client, order):
    detail = client.get(f"/api/orders/{order.pk}/").json()["delivery_person_location"]
    eta = client.get(f"/api/orders/{order.pk}/eta/").json()["delivery_person_location"]
    assert detail == eta
    return detail


def test_the_customer_sees_the_courier_on_the_way_only(alice, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)
    _courier_somewhere(courier_user)
    assert _seen_position(alice, order)["latitude"] == "37.766000"

    for finished in (OrderStatus.DELIVERED, OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.RETURNED):
        Order.objects.filter(pk=order.pk).update(status=finished)
        assert _seen_position(alice, order) is None, finished


def test_the_courier_heading_to_the_restaurant_is_shown(alice, customer, staff_user, courier_user, menu):
    order = assign(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)
    _courier_somewhere(courier_user)

    assert _seen_position(alice, order)["latitude"] == "37.766000"


def test_offline_couriers_see_no_unclaimed_orders(dave, customer, staff_user, courier_user, menu):
    waiting = to_ready(place_order(customer, menu["pizza"]), staff_user)
    mine = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)
    CourierProfile.objects.filter(user=courier_user).update(is_online=False)

    assert dave.get("/api/orders/available/").json()["results"] == []
    problem(dave.get(f"/api/orders/{waiting.pk}/"), 404, "order_not_found")
    problem(dave.get(f"/api/orders/{waiting.pk}/status/"), 404, "order_not_found")
    assert dave.get(f"/api/orders/{mine.pk}/").status_code == 200

    CourierProfile.objects.filter(user=courier_user).update(is_online=True)
    assert [row["id"] for row in dave.get("/api/orders/available/").json()["results"]] == [str(waiting.pk)]
    assert dave.get(f"/api/orders/{waiting.pk}/").status_code == 200


def test_a_pickup_order_never_shows_a_position(alice, customer, menu):
    order = place_order(customer, menu["pizza"], delivery_type="pickup")

    assert alice.get(f"/api/orders/{order.pk}/").json()["delivery_person_location"] is None
