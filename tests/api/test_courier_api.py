import uuid
from decimal import Decimal

import pytest

from core.public_ids import user_public_id
from delivery.models import CourierProfile
from orders.models import HandoffPurpose, Order, OrderStatus
from tests.api.support import problem
from tests.factories import (
    OrderFactory,
    RestaurantFactory,
    advance,
    assign,
    handoff_code,
    place_order,
    to_out_for_delivery,
    to_ready,
)

pytestmark = pytest.mark.django_db
S = OrderStatus


# ---------------------------------------------------------------- available orders


def test_available_lists_unclaimed_confirmed_or_ready_delivery_orders(
    dave, customer, staff_user, other_courier_user, menu
):
    placed = place_order(customer, menu["pizza"])
    confirmed = advance(place_order(customer, menu["pizza"]), staff_user, S.RESTAURANT_CONFIRMED)
    ready = to_ready(place_order(customer, menu["pizza"]), staff_user)
    to_ready(place_order(customer, menu["pizza"], delivery_type="pickup"), staff_user)
    taken = to_ready(place_order(customer, menu["pizza"]), staff_user)
    assign(taken, other_courier_user)

    body = dave.get("/api/orders/available/").json()

    assert body["count"] == 2
    assert {row["id"] for row in body["results"]} == {str(confirmed.pk), str(ready.pk)}
    assert str(placed.pk) not in {row["id"] for row in body["results"]}
    row = body["results"][0]
    assert row["restaurant_address"] == "1 Market Street"
    assert row["drop_off_area"] == {"city": "San Francisco", "latitude": "37.785", "longitude": "-122.395"}
    assert "delivery_address" not in row and "customer" not in row
    assert row["delivery_distance_km"] == pytest.approx(2.5, abs=0.05)
    assert row["distance_to_restaurant_km"] is not None


def test_available_nearest_restaurant_first(dave, customer, courier_user, menu):
    far = RestaurantFactory(name="Far Away", latitude=Decimal("37.900000"), longitude=Decimal("-122.300000"))
    near = RestaurantFactory(name="Next Door", latitude=Decimal("37.776100"), longitude=Decimal("-122.417100"))

    for restaurant in (far, menu["pizza"].restaurant, near):
        OrderFactory(
            customer=customer, restaurant=restaurant, status=S.RESTAURANT_CONFIRMED, number=f"ORD-{restaurant.name}"
        )

    names = [row["restaurant_name"] for row in dave.get("/api/orders/available/").json()["results"]]
    assert names == ["Next Door", "Pizza Palace"]  # Far Away is beyond the dispatch radius

    CourierProfile.objects.filter(user=courier_user).update(
        latitude=Decimal("37.899000"), longitude=Decimal("-122.301000")
    )
    names = [row["restaurant_name"] for row in dave.get("/api/orders/available/").json()["results"]]
    assert names[0] == "Far Away"


def test_available_without_a_position_is_empty(dave, customer, staff_user, courier_user, menu):
    CourierProfile.objects.filter(user=courier_user).update(latitude=None, longitude=None)
    to_ready(place_order(customer, menu["pizza"]), staff_user)

    assert dave.get("/api/orders/available/").json()["results"] == []


def test_available_query_count_does_not_grow(dave, customer, staff_user, menu, django_assert_num_queries):
    for _ in range(6):
        advance(place_order(customer, menu["pizza"]), staff_user, S.RESTAURANT_CONFIRMED)

    for size in (1, 6):  # courier check, position, the planner's estimate, count, page
        with django_assert_num_queries(5):
            assert len(dave.get("/api/orders/available/", {"page_size": size}).json()["results"]) == size


@pytest.mark.parametrize("who", ["alice", "kitchen"])
def test_only_couriers_see_available_orders(request, who):
    problem(request.getfixturevalue(who).get("/api/orders/available/"), 403, "not_a_courier")


# ---------------------------------------------------------------- claiming


def test_accept_assigns_the_courier(dave, customer, staff_user, courier_user, menu):
    order = advance(place_order(customer, menu["pizza"]), staff_user, S.RESTAURANT_CONFIRMED)

    response = dave.post(f"/api/orders/{order.pk}/accept/")

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["status"] == "RESTAURANT_CONFIRMED"
    assert body["delivery_status"] == "assigned" and body["delivery_person"] == str(user_public_id(courier_user.pk))
    order.refresh_from_db()
    assert order.courier == courier_user
    assert order.events.last().event_type == "order.assigned"


def test_an_order_taken_before_you_asked_is_missing_to_you(dave, erin, customer, staff_user, menu):
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)
    dave.post(f"/api/orders/{order.pk}/accept/")

    taken = erin.post(f"/api/orders/{order.pk}/accept/")
    missing = erin.post(f"/api/orders/{uuid.uuid4()}/accept/")

    problem(taken, 404, "order_not_found")
    assert taken.content == missing.content
    problem(dave.post(f"/api/orders/{order.pk}/accept/"), 409, "already_assigned")


def test_orders_never_offered_are_404(dave, customer, staff_user, courier_user, other_courier_user, menu):
    unconfirmed = place_order(customer, menu["pizza"])
    pickup = to_ready(place_order(customer, menu["pizza"], delivery_type="pickup"), staff_user)
    delivered_by_other = to_out_for_delivery(
        to_ready(place_order(customer, menu["pizza"]), staff_user), other_courier_user
    )
    Order.objects.filter(pk=delivered_by_other.pk).update(status=S.DELIVERED)

    for order in (unconfirmed, pickup, delivered_by_other):
        problem(dave.post(f"/api/orders/{order.pk}/accept/"), 404, "order_not_found")


def test_offline_couriers_cannot_accept(dave, customer, staff_user, courier_user, menu):
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)
    CourierProfile.objects.filter(user=courier_user).update(is_online=False)

    problem(dave.post(f"/api/orders/{order.pk}/accept/"), 409, "courier_offline")


def test_non_couriers_cannot_accept(alice, kitchen, customer, staff_user, menu):
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)

    problem(alice.post(f"/api/orders/{order.pk}/accept/"), 403, "not_a_courier")
    problem(kitchen.post(f"/api/orders/{order.pk}/accept/"), 403, "not_a_courier")


# ---------------------------------------------------------------- delivering


def test_pickup_start_and_complete(dave, customer, staff_user, courier_user, menu):
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)
    assign(order, courier_user)

    picked = dave.post(
        f"/api/orders/{order.pk}/pickup/", {"otp": handoff_code(order.pk, HandoffPurpose.PICKUP)}, format="json"
    )
    started = dave.post(f"/api/orders/{order.pk}/start-delivery/")
    completed = dave.post(
        f"/api/orders/{order.pk}/complete-delivery/",
        {"otp": handoff_code(order.pk, HandoffPurpose.DELIVERY), "delivery_notes": "Left with the doorman"},
        format="json",
    )

    assert picked.json()["status"] == "ORDER_PICKED_UP" and picked.json()["message"] == "Order picked up successfully"
    assert started.json()["status"] == "OUT_FOR_DELIVERY" and started.json()["estimated_delivery_time"]
    body = completed.json()
    assert body["status"] == "DELIVERED" and body["previous_status"] == "OUT_FOR_DELIVERY"
    assert body["actual_delivery_time"] and body["message"] == "Order delivered successfully"
    order.refresh_from_db()
    assert order.delivery_status == "DELIVERED" and order.payment_status == "PAID"
    assert order.events.last().metadata == {"delivery_notes": "Left with the doorman"}


def test_pickup_needs_the_right_code(dave, customer, staff_user, courier_user, menu):
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)
    assign(order, courier_user)
    wrong = "000000" if handoff_code(order.pk, HandoffPurpose.PICKUP) != "000000" else "999999"

    assert (
        "otp"
        in problem(dave.post(f"/api/orders/{order.pk}/pickup/", {}, format="json"), 400, "validation_error")["errors"]
    )
    problem(dave.post(f"/api/orders/{order.pk}/pickup/", {"otp": wrong}, format="json"), 400, "otp_invalid")


def test_only_the_assigned_courier_moves_the_order(erin, customer, staff_user, courier_user, menu):
    ready = to_ready(place_order(customer, menu["pizza"]), staff_user)
    assign(ready, courier_user)
    offered = to_ready(place_order(customer, menu["pizza"]), staff_user)

    problem(
        erin.post(
            f"/api/orders/{ready.pk}/pickup/", {"otp": handoff_code(ready.pk, HandoffPurpose.PICKUP)}, format="json"
        ),
        404,
        "order_not_found",
    )
    problem(
        erin.post(
            f"/api/orders/{offered.pk}/pickup/", {"otp": handoff_code(offered.pk, HandoffPurpose.PICKUP)}, format="json"
        ),
        403,
        "not_assigned_courier",
    )


def test_start_delivery_before_pickup_is_400(dave, customer, staff_user, courier_user, menu):
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)
    assign(order, courier_user)

    body = problem(dave.post(f"/api/orders/{order.pk}/start-delivery/"), 400, "invalid_transition")
    assert body["current_status"] == "READY_FOR_PICKUP"


def test_complete_delivery_with_a_wrong_code_keeps_it_out(dave, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)
    wrong = "000000" if handoff_code(order.pk, HandoffPurpose.DELIVERY) != "000000" else "999999"

    problem(dave.post(f"/api/orders/{order.pk}/complete-delivery/", {"otp": wrong}, format="json"), 400, "otp_invalid")
    assert Order.objects.get(pk=order.pk).status == S.OUT_FOR_DELIVERY


@pytest.mark.parametrize("action", ["pickup", "start-delivery", "complete-delivery"])
def test_courier_actions_need_a_courier(alice, customer, staff_user, courier_user, menu, action):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)

    problem(alice.post(f"/api/orders/{order.pk}/{action}/", {"otp": "123456"}, format="json"), 403, "not_a_courier")


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("pickup", {"otp": "123456"}),
        ("start-delivery", {}),
        ("complete-delivery", {"otp": "123456"}),
    ],
)
def test_courier_actions_in_the_wrong_state_are_400(dave, customer, staff_user, courier_user, menu, action, body):
    order = advance(place_order(customer, menu["pizza"]), staff_user, S.RESTAURANT_CONFIRMED, S.PREPARING)
    assign(order, courier_user)

    problem_body = problem(
        dave.post(f"/api/orders/{order.pk}/{action}/", body, format="json"), 400, "invalid_transition"
    )

    assert problem_body["current_status"] == "PREPARING"


def test_another_couriers_delivery_is_404(erin, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)

    for action, body in (("start-delivery", {}), ("complete-delivery", {"otp": "123456"}), ("otp/resend", {})):
        problem(erin.post(f"/api/orders/{order.pk}/{action}/", body, format="json"), 404, "order_not_found")


def test_checking_a_code_the_order_does_not_wait_for_is_409(dave, customer, staff_user, courier_user, menu):
    order = advance(place_order(customer, menu["pizza"]), staff_user, S.RESTAURANT_CONFIRMED, S.PREPARING)
    assign(order, courier_user)

    problem(
        dave.post(f"/api/orders/{order.pk}/otp/verify/", {"otp": "123456", "type": "pickup"}, format="json"),
        409,
        "otp_not_issued",
    )
