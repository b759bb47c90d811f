from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.models import HandoffCode
from orders.models import HandoffPurpose, Order, OrderStatus
from tests import factories
from tests.api.support import problem

pytestmark = pytest.mark.django_db
S = OrderStatus


# ---------------------------------------------------------------- queue


def test_queue_lists_the_kitchens_active_orders_oldest_first(kitchen, customer, restaurant, other_restaurant):
    now = timezone.now()
    for minutes, status in enumerate(
        [
            S.PREPARING,
            S.ORDER_PLACED,
            S.READY_FOR_PICKUP,
            S.PAYMENT_PENDING,
            S.OUT_FOR_DELIVERY,
            S.DELIVERED,
            S.CANCELLED,
        ]
    ):
        factories.OrderFactory(
            customer=customer,
            restaurant=restaurant,
            status=status,
            number=f"ORD-Q-{status}",
            placed_at=now - timedelta(minutes=minutes),
        )
    factories.OrderFactory(customer=customer, restaurant=other_restaurant, status=S.ORDER_PLACED, number="ORD-SUSHI")

    response = kitchen.get("/api/restaurants/orders/queue/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [o["order_number"] for o in body["orders"]] == [
        "ORD-Q-READY_FOR_PICKUP",
        "ORD-Q-ORDER_PLACED",
        "ORD-Q-PREPARING",
    ]
    placed = body["orders"][1]
    assert placed["next_statuses"] == ["RESTAURANT_CONFIRMED", "RESTAURANT_REJECTED", "CANCELLED"]
    assert {"id", "order_status", "total_amount", "order_placed_at", "items", "deadline_at"} <= set(placed)


def test_queue_shows_what_to_cook(kitchen, customer, menu):
    factories.place_order(customer, menu["pizza"])

    order = kitchen.get("/api/restaurants/orders/queue/").json()["orders"][0]

    assert order["items"][0]["name"] == "Margherita"
    assert order["items"][0]["customizations"][0]["choice_name"] == "Small"


def test_staff_of_several_restaurants_pick_one(client_for, customer, restaurant, other_restaurant, staff_user):
    factories.StaffFactory(user=staff_user, restaurant=other_restaurant)
    factories.OrderFactory(customer=customer, restaurant=restaurant, number="ORD-PIZZA")
    factories.OrderFactory(customer=customer, restaurant=other_restaurant, number="ORD-SUSHI")
    client = client_for(staff_user)

    both = client.get("/api/restaurants/orders/queue/").json()
    sushi = client.get("/api/restaurants/orders/queue/", {"restaurant": str(other_restaurant.pk)}).json()
    foreign = client.get("/api/restaurants/orders/queue/", {"restaurant": str(factories.RestaurantFactory().pk)})

    assert both["count"] == 2
    assert [o["order_number"] for o in sushi["orders"]] == ["ORD-SUSHI"]
    problem(foreign, 404, "restaurant_not_found")
    errors = problem(client.get("/api/restaurants/orders/queue/", {"restaurant": "pizza"}), 400, "validation_error")
    assert "restaurant" in errors["errors"]


def test_queue_query_count_does_not_grow(kitchen, customer, menu, django_assert_num_queries):
    factories.place_order(customer, menu["pizza"])
    # staff at all, their restaurants (as values: the index serves the list), orders, items, customizations
    with django_assert_num_queries(5):
        kitchen.get("/api/restaurants/orders/queue/")
    for _ in range(10):
        factories.place_order(customer, menu["pizza"])
    with django_assert_num_queries(5):
        assert kitchen.get("/api/restaurants/orders/queue/").json()["count"] == 11


@pytest.mark.parametrize("who", ["alice", "dave"])
def test_only_staff_have_a_queue(request, who):
    client = request.getfixturevalue(who)

    problem(client.get("/api/restaurants/orders/queue/"), 403, "not_restaurant_staff")


# ---------------------------------------------------------------- actions


def test_confirm_sets_the_ready_time(kitchen, customer, menu):
    order = factories.place_order(customer, menu["pizza"])
    before = timezone.now()

    response = kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {"estimated_prep_time": 25}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["status"] == "RESTAURANT_CONFIRMED"
    assert body["previous_status"] == "ORDER_PLACED" and body["message"] == "Order confirmed successfully"
    order.refresh_from_db()
    assert order.estimated_prep_minutes == 25
    assert before + timedelta(minutes=25) <= order.estimated_ready_at <= timezone.now() + timedelta(minutes=25)
    assert body["estimated_ready_time"] == order.estimated_ready_at.isoformat().replace("+00:00", "Z")


def test_confirm_without_a_time_uses_the_restaurants_average(kitchen, customer, menu):
    order = factories.place_order(customer, menu["pizza"])

    kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", format="json")

    assert Order.objects.get(pk=order.pk).estimated_prep_minutes == 20


def test_confirm_twice_is_400(kitchen, customer, menu):
    order = factories.place_order(customer, menu["pizza"])
    kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {}, format="json")

    body = problem(
        kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {}, format="json"), 400, "invalid_transition"
    )
    assert body["current_status"] == "RESTAURANT_CONFIRMED"


def test_confirm_an_unpaid_online_order_is_400(kitchen, customer, menu):
    order = factories.place_order(customer, menu["pizza"], payment_method="online")

    problem(kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {}, format="json"), 400, "invalid_transition")


def test_another_restaurants_order_is_404(other_kitchen, customer, menu):
    order = factories.place_order(customer, menu["pizza"])

    for action, body in [
        ("confirm", {}),
        ("reject", {"reason": "x"}),
        ("start-preparing", {}),
        ("mark-ready", {}),
        ("cancel", {"reason": "x"}),
        ("handover", {"otp": "123456"}),
    ]:
        problem(
            other_kitchen.post(f"/api/restaurants/orders/{order.pk}/{action}/", body, format="json"),
            404,
            "order_not_found",
        )
    assert Order.objects.get(pk=order.pk).status == S.ORDER_PLACED


@pytest.mark.parametrize("value", [0, 241, -5, "soon", 12.5])
def test_bad_prep_time_is_400(kitchen, customer, menu, value):
    order = factories.place_order(customer, menu["pizza"])

    errors = problem(
        kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {"estimated_prep_time": value}, format="json"),
        400,
        "validation_error",
    )["errors"]
    assert "estimated_prep_time" in errors


def test_reject_needs_a_reason_and_refunds_a_paid_order(kitchen, customer, menu):
    order = factories.place_order(customer, menu["pizza"], payment_method="online", paid=True)

    missing = kitchen.post(f"/api/restaurants/orders/{order.pk}/reject/", {}, format="json")
    blank = kitchen.post(f"/api/restaurants/orders/{order.pk}/reject/", {"reason": "  "}, format="json")
    rejected = kitchen.post(f"/api/restaurants/orders/{order.pk}/reject/", {"reason": "Kitchen closed"}, format="json")

    assert "reason" in problem(missing, 400, "validation_error")["errors"]
    assert "reason" in problem(blank, 400, "validation_error")["errors"]
    assert rejected.json()["status"] == "RESTAURANT_REJECTED"
    assert rejected.json()["refund_status"] == "pending"


def test_start_preparing_then_mark_ready_issues_the_pickup_code(kitchen, customer, staff_user, menu):
    order = factories.advance(factories.place_order(customer, menu["pizza"]), staff_user, S.RESTAURANT_CONFIRMED)

    started = kitchen.post(f"/api/restaurants/orders/{order.pk}/start-preparing/")
    ready = kitchen.post(f"/api/restaurants/orders/{order.pk}/mark-ready/")

    assert started.json()["status"] == "PREPARING" and started.json()["message"] == "Order preparation started"
    assert ready.json()["status"] == "READY_FOR_PICKUP" and ready.json()["ready_time"]
    assert HandoffCode.objects.filter(order=order, purpose=HandoffPurpose.PICKUP).exists()


def test_mark_ready_before_preparing_is_400(kitchen, customer, menu):
    order = factories.place_order(customer, menu["pizza"])

    body = problem(kitchen.post(f"/api/restaurants/orders/{order.pk}/mark-ready/"), 400, "invalid_transition")
    assert body["current_status"] == "ORDER_PLACED"


def test_restaurant_cancels_until_pickup_with_a_reason(kitchen, customer, staff_user, courier_user, menu):
    ready = factories.to_ready(factories.place_order(customer, menu["pizza"]), staff_user)
    collected = factories.to_ready(factories.place_order(customer, menu["pizza"]), staff_user)
    gone = factories.to_out_for_delivery(collected, courier_user)

    assert (
        "reason"
        in problem(
            kitchen.post(f"/api/restaurants/orders/{ready.pk}/cancel/", {}, format="json"), 400, "validation_error"
        )["errors"]
    )
    cancelled = kitchen.post(f"/api/restaurants/orders/{ready.pk}/cancel/", {"reason": "Burnt"}, format="json")
    too_late = kitchen.post(f"/api/restaurants/orders/{gone.pk}/cancel/", {"reason": "Burnt"}, format="json")

    assert cancelled.json()["status"] == "CANCELLED" and cancelled.json()["refund_status"] == "none"
    assert problem(too_late, 400, "invalid_transition")["current_status"] == "OUT_FOR_DELIVERY"


def test_handover_of_a_self_pickup_order(kitchen, customer, staff_user, menu):
    order = factories.to_ready(factories.place_order(customer, menu["pizza"], delivery_type="pickup"), staff_user)

    response = kitchen.post(
        f"/api/restaurants/orders/{order.pk}/handover/",
        {"otp": factories.handoff_code(order.pk, HandoffPurpose.PICKUP)},
        format="json",
    )

    body = response.json()
    assert body["status"] == "DELIVERED" and body["previous_status"] == "READY_FOR_PICKUP"
    assert body["payment_status"] == "paid" and body["actual_delivery_time"]


def test_handover_with_a_wrong_code_is_400(kitchen, customer, staff_user, menu):
    order = factories.to_ready(factories.place_order(customer, menu["pizza"], delivery_type="pickup"), staff_user)
    wrong = "000000" if factories.handoff_code(order.pk, HandoffPurpose.PICKUP) != "000000" else "999999"

    problem(
        kitchen.post(f"/api/restaurants/orders/{order.pk}/handover/", {"otp": wrong}, format="json"), 400, "otp_invalid"
    )
    assert Order.objects.get(pk=order.pk).status == S.READY_FOR_PICKUP


def test_a_delivery_order_is_not_handed_over_at_the_counter(kitchen, customer, staff_user, courier_user, menu):
    order = factories.to_ready(factories.place_order(customer, menu["pizza"]), staff_user)
    factories.assign(order, courier_user)

    problem(
        kitchen.post(
            f"/api/restaurants/orders/{order.pk}/handover/",
            {"otp": factories.handoff_code(order.pk, HandoffPurpose.PICKUP)},
            format="json",
        ),
        400,
        "invalid_transition",
    )


@pytest.mark.parametrize("who", ["alice", "dave"])
def test_non_staff_may_not_use_kitchen_actions(request, customer, menu, who):
    order = factories.place_order(customer, menu["pizza"])

    problem(
        request.getfixturevalue(who).post(f"/api/restaurants/orders/{order.pk}/confirm/", {}, format="json"),
        403,
        "not_restaurant_staff",
    )


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("reject", {"reason": "Too late"}),
        ("start-preparing", {}),
        ("handover", {"otp": "123456"}),
    ],
)
def test_kitchen_actions_in_the_wrong_state_are_400(kitchen, customer, staff_user, menu, action, body):
    order = factories.advance(
        factories.place_order(customer, menu["pizza"], delivery_type="pickup"),
        staff_user,
        S.RESTAURANT_CONFIRMED,
        S.PREPARING,
    )

    body = problem(
        kitchen.post(f"/api/restaurants/orders/{order.pk}/{action}/", body, format="json"), 400, "invalid_transition"
    )

    assert body["current_status"] == "PREPARING"
