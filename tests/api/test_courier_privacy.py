"""What couriers see of an order: before they have it (the available list, an order they could
claim, an offer), the restaurant, the drop-off area, distances and pay; the customer and the
exact drop-off while they deliver it; and the preview again once it has ended for them. Claims
only within the claim radius, up to a number of active orders."""

import json
import re
from decimal import Decimal

import pytest

from delivery.models import CourierProfile
from orders.models import Order, OrderStatus
from tests.api.support import ADDRESS, order_body, problem
from tests.factories import CourierFactory, RestaurantFactory, advance, assign, handoff_code, place_order

pytestmark = pytest.mark.django_db
S = OrderStatus

NOTE = "Ring twice, the blue door behind the bakery"


@pytest.fixture
def waiting(alice, customer, staff_user, menu):
    """Alice's cash order, confirmed by the kitchen, with no courier yet."""
    customer.first_name, customer.last_name = "Alicia", "Vandersloot"
    customer.save(update_fields=["first_name", "last_name"])
    created = alice.post("/api/orders/", order_body(menu, notes=NOTE), format="json")
    assert created.status_code == 201, created.content
    order = Order.objects.get(pk=created.json()["id"])
    return advance(order, staff_user, S.RESTAURANT_CONFIRMED)


def _coordinates(body) -> list[str]:
    """Every value under a key naming a latitude or longitude, anywhere in `body`."""
    found = []
    if isinstance(body, dict):
        for key, value in body.items():
            if ("latitude" in key or "longitude" in key) and value is not None and not isinstance(value, dict):
                found.append(str(value))
            else:
                found += _coordinates(value)
    elif isinstance(body, list):
        for value in body:
            found += _coordinates(value)
    return found


def _keys(body) -> set[str]:
    if isinstance(body, dict):
        return set(body).union(*(_keys(value) for value in body.values()))
    if isinstance(body, list):
        return set().union(*(_keys(value) for value in body))
    return set()


def assert_shows_no_customer(body, customer):
    text = json.dumps(body)
    for secret in ("Alicia", "Vandersloot", customer.username, ADDRESS["street"], ADDRESS["postal_code"], NOTE):
        assert secret not in text, secret
    assert not {"customer", "customer_name", "delivery_address", "notes"} & _keys(body)
    assert not re.search(r"\b37\.787\b|-122\.396\b", text)  # the exact drop-off
    for value in _coordinates(body):
        decimals = value.split(".")[1] if "." in value else ""
        assert len(decimals) <= 3, value


def test_a_waiting_order_shows_the_restaurant_area_distance_and_pay_never_the_customer(dave, waiting, customer):
    listed = dave.get("/api/orders/available/").json()["results"]
    detail = dave.get(f"/api/orders/{waiting.pk}/", {"include": "history,payments"}).json()
    history = dave.get(f"/api/orders/{waiting.pk}/history/").json()
    eta = dave.get(f"/api/orders/{waiting.pk}/eta/").json()

    (row,) = listed
    assert row == detail
    assert row["restaurant_name"] == "Pizza Palace" and row["restaurant_address"] == "1 Market Street"
    assert row["drop_off_area"] == {"city": "San Francisco", "latitude": "37.785", "longitude": "-122.395"}
    assert row["distance_to_restaurant_km"] == pytest.approx(0.24, abs=0.02)
    assert row["delivery_distance_km"] == pytest.approx(2.5, abs=0.05)
    assert row["pay"] == {"delivery_fee": "2.99", "tip": "3.00", "total": "5.99"}
    for body in (listed, detail, history):
        assert_shows_no_customer(body, customer)
    assert eta["customer_location"] is None  # the restaurant's position is public


def test_the_courier_gets_the_drop_off_after_accepting_and_loses_it_when_the_order_ends(
    dave, kitchen, waiting, customer, staff_user
):
    assert dave.post(f"/api/orders/{waiting.pk}/accept/").status_code == 200

    detail = dave.get(f"/api/orders/{waiting.pk}/").json()
    assert detail["customer_name"] == "Alicia Vandersloot"
    assert detail["customer"] == customer.pk
    assert detail["delivery_address"]["street"] == ADDRESS["street"]
    assert detail["delivery_address"]["postal_code"] == ADDRESS["postal_code"]
    assert detail["customer_latitude"] == "37.787000" and detail["notes"] == NOTE

    advance(waiting, staff_user, S.PREPARING, S.READY_FOR_PICKUP)
    pickup = handoff_code(waiting.pk, "pickup")
    assert dave.post(f"/api/orders/{waiting.pk}/pickup/", {"otp": pickup}, format="json").status_code == 200
    assert dave.post(f"/api/orders/{waiting.pk}/start-delivery/").status_code == 200
    assert dave.get(f"/api/orders/{waiting.pk}/").json()["delivery_address"]["street"] == ADDRESS["street"]
    delivered = dave.post(
        f"/api/orders/{waiting.pk}/complete-delivery/", {"otp": handoff_code(waiting.pk, "delivery")}, format="json"
    )
    assert delivered.status_code == 200

    after = dave.get(f"/api/orders/{waiting.pk}/").json()
    assert after["order_status"] == "DELIVERED" and after["pay"]["total"] == "5.99"
    assert_shows_no_customer(after, customer)
    assert_shows_no_customer(dave.get(f"/api/orders/{waiting.pk}/history/").json(), customer)
    (row,) = dave.get("/api/orders/").json()["results"]
    assert row["id"] == str(waiting.pk) and row["customer"] is None


def test_another_couriers_order_is_not_shown_even_by_id(erin, dave, waiting):
    assert dave.post(f"/api/orders/{waiting.pk}/accept/").status_code == 200
    problem(erin.get(f"/api/orders/{waiting.pk}/"), 404, "order_not_found")


def test_an_offer_shows_the_preview_only(
    dave, offers_dispatch, alice, customer, staff_user, menu, django_capture_on_commit_callbacks
):
    customer.first_name = "Alicia"
    customer.save(update_fields=["first_name"])
    created = alice.post("/api/orders/", order_body(menu, notes=NOTE), format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        advance(Order.objects.get(pk=created["id"]), staff_user, S.RESTAURANT_CONFIRMED)

    (offer,) = dave.get("/api/delivery/offers/").json()
    assert offer["order_id"] == created["id"]
    assert offer["order"]["drop_off_area"]["latitude"] == "37.785"
    assert offer["order"]["pay"]["total"] == "5.99"
    assert_shows_no_customer(offer, customer)


# ---------------------------------------------------------------- claiming


def test_a_courier_beyond_the_claim_radius_may_not_claim(dave, courier_user, waiting):
    CourierProfile.objects.filter(user=courier_user).update(latitude=Decimal("38.500000"))
    assert dave.get("/api/orders/available/").json()["results"] == []
    body = problem(dave.post(f"/api/orders/{waiting.pk}/accept/"), 409, "courier_too_far")
    assert body["radius_km"] == 15.0
    assert Order.objects.get(pk=waiting.pk).courier_id is None


def test_a_courier_without_a_position_may_not_claim(dave, courier_user, waiting):
    CourierProfile.objects.filter(user=courier_user).update(latitude=None, longitude=None)
    problem(dave.post(f"/api/orders/{waiting.pk}/accept/"), 409, "courier_position_unknown")


def test_a_courier_has_at_most_the_configured_number_of_active_orders(
    dave, courier_user, customer, staff_user, menu, settings
):
    settings.ORDERFLOW_COURIER_MAX_ACTIVE_ORDERS = 2

    orders = [advance(place_order(customer, menu["pizza"]), staff_user, S.RESTAURANT_CONFIRMED) for _ in range(3)]
    assign(orders[0], courier_user)
    assign(orders[1], courier_user)

    body = problem(dave.post(f"/api/orders/{orders[2].pk}/accept/"), 409, "courier_at_capacity")
    assert (body["active_orders"], body["limit"]) == (2, 2)

    Order.objects.filter(pk=orders[0].pk).update(status=S.DELIVERED)
    assert dave.post(f"/api/orders/{orders[2].pk}/accept/").status_code == 200


def test_the_claim_radius_is_a_setting(dave, courier_user, waiting, settings):
    settings.ORDERFLOW_COURIER_CLAIM_RADIUS_KM = 0.1  # the courier is about 200 m away
    assert dave.get("/api/orders/available/").json()["results"] == []
    problem(dave.post(f"/api/orders/{waiting.pk}/accept/"), 409, "courier_too_far")


def test_only_restaurants_in_reach_are_listed(dave, customer, menu, staff_user):
    far = RestaurantFactory(name="Far Away", latitude=Decimal("37.900000"), longitude=Decimal("-122.300000"))
    CourierFactory(user__username="far_courier")
    from tests.factories import OrderFactory

    OrderFactory(customer=customer, restaurant=far, status=S.RESTAURANT_CONFIRMED, number="ORD-FAR")
    assert dave.get("/api/orders/available/").json()["results"] == []
