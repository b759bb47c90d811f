import pytest

from orders.models import HandoffPurpose, Order, OrderStatus, TrackingEvent
from tests.api.support import problem
from tests.factories import assign, handoff_code, place_order, to_ready

pytestmark = pytest.mark.django_db


def test_staff_confirm_through_the_generic_endpoint_with_the_seed_alias(kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])

    response = kitchen.post(
        f"/api/orders/{order.pk}/status/",
        {
            "status_code": "ORDER_CONFIRMED",
            "reason": "Restaurant confirmed order",
            "metadata": {"estimated_prep_time": 20},
        },
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    event = TrackingEvent.objects.get(order=order, sequence=2)
    assert body == {
        "success": True,
        "order_id": str(order.pk),
        "order_number": order.number,
        "status": "RESTAURANT_CONFIRMED",
        "previous_status": "ORDER_PLACED",
        "new_status": "ORDER_CONFIRMED",  # the word the client sent, as the order-process API's example
        "status_name": "Order Confirmed",
        "tracking_id": str(event.pk),
        "message": "Order status updated successfully",
    }
    assert event.metadata == {"estimated_prep_time": 20} and event.actor_role == "restaurant"


def test_customer_may_cancel_but_not_cook(alice, customer, menu):
    order = place_order(customer, menu["pizza"])

    problem(
        alice.post(f"/api/orders/{order.pk}/status/", {"status_code": "PREPARING"}, format="json"),
        403,
        "transition_forbidden",
    )
    assert (
        alice.post(f"/api/orders/{order.pk}/status/", {"status_code": "CANCELLED"}, format="json").json()["status"]
        == "CANCELLED"
    )


def test_a_change_the_table_does_not_allow_now_is_400_with_the_current_status(kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])

    body = problem(
        kitchen.post(f"/api/orders/{order.pk}/status/", {"status_code": "READY_FOR_PICKUP"}, format="json"),
        400,
        "invalid_transition",
    )

    assert body["current_status"] == "ORDER_PLACED"
    assert body["allowed_statuses"] == ["RESTAURANT_CONFIRMED", "RESTAURANT_REJECTED", "CANCELLED"]


def test_courier_picks_up_through_the_generic_endpoint_with_the_code(dave, customer, staff_user, courier_user, menu):
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)
    assign(order, courier_user)

    without = dave.post(f"/api/orders/{order.pk}/status/", {"status_code": "ORDER_PICKED_UP"}, format="json")
    with_code = dave.post(
        f"/api/orders/{order.pk}/status/",
        {"status_code": "ORDER_PICKED_UP", "otp": handoff_code(order.pk, HandoffPurpose.PICKUP)},
        format="json",
    )

    assert "otp" in problem(without, 400, "validation_error")["errors"]
    assert with_code.json()["status"] == "ORDER_PICKED_UP"


def test_a_courier_it_is_only_offered_to_may_not_move_it(erin, customer, staff_user, menu):
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)

    problem(
        erin.post(
            f"/api/orders/{order.pk}/status/", {"status_code": "ORDER_PICKED_UP", "otp": "123456"}, format="json"
        ),
        403,
        "not_assigned_courier",
    )


def test_superuser_acts_as_admin(admin, customer, menu):
    order = place_order(customer, menu["pizza"])

    body = admin.post(f"/api/orders/{order.pk}/status/", {"status_code": "RESTAURANT_CONFIRMED"}, format="json").json()

    assert body["status"] == "RESTAURANT_CONFIRMED"
    assert TrackingEvent.objects.get(order=order, sequence=2).actor_role == "admin"


def test_restaurant_must_give_a_reason_to_reject(kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])

    errors = problem(
        kitchen.post(f"/api/orders/{order.pk}/status/", {"status_code": "RESTAURANT_REJECTED"}, format="json"),
        400,
        "validation_error",
    )["errors"]
    assert "reason" in errors


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "status_code"),
        ({"status_code": "EATEN"}, "status_code"),
        ({"status_code": "CANCELLED", "metadata": "lots"}, "metadata"),
        ({"status_code": "CANCELLED", "metadata": {"blob": "x" * 5000}}, "metadata"),
        ({"status_code": ["CANCELLED"]}, "status_code"),
    ],
)
def test_bad_input_is_400(alice, customer, menu, body, field):
    order = place_order(customer, menu["pizza"])

    errors = problem(alice.post(f"/api/orders/{order.pk}/status/", body, format="json"), 400, "validation_error")[
        "errors"
    ]

    assert field in errors
    assert Order.objects.get(pk=order.pk).status == OrderStatus.ORDER_PLACED


def test_unrelated_user_is_404(carol, other_kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])

    for client in (carol, other_kitchen):
        problem(
            client.post(f"/api/orders/{order.pk}/status/", {"status_code": "CANCELLED"}, format="json"),
            404,
            "order_not_found",
        )
