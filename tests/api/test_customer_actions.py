from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.models import HandoffCode
from orders.models import HandoffPurpose, Order, OrderStatus
from tests.api.support import problem
from tests.factories import advance, assign, handoff_code, place_order, to_out_for_delivery, to_ready

pytestmark = pytest.mark.django_db

P = HandoffPurpose


# ---------------------------------------------------------------- cancel


def test_customer_cancels_a_cash_order_no_refund_needed(alice, customer, menu):
    order = place_order(customer, menu["pizza"])

    response = alice.post(f"/api/orders/{order.pk}/cancel/", {"reason": "Changed my mind"}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "order_id": str(order.pk),
        "order_number": order.number,
        "status": "CANCELLED",
        "previous_status": "ORDER_PLACED",
        "refund_status": "none",
        "message": "Order cancelled successfully",
    }
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.cancellation_reason == "Changed my mind"


def test_cancelling_a_paid_order_opens_a_refund(alice, customer, menu):
    order = place_order(customer, menu["pizza"], payment_method="online", paid=True)

    body = alice.post(f"/api/orders/{order.pk}/cancel/", {}, format="json").json()

    assert body["status"] == "CANCELLED" and body["previous_status"] == "PAYMENT_SUCCESS"
    assert body["refund_status"] == "pending"
    assert Order.objects.get(pk=order.pk).refund.status == "PENDING"


def test_customer_cannot_cancel_once_preparation_started(alice, customer, staff_user, menu):
    order = advance(
        place_order(customer, menu["pizza"]),
        staff_user,
        OrderStatus.RESTAURANT_CONFIRMED,
        OrderStatus.PREPARING,
    )

    body = problem(alice.post(f"/api/orders/{order.pk}/cancel/", {}, format="json"), 400, "invalid_transition")

    assert body["current_status"] == "PREPARING"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PREPARING


def test_cancel_someone_elses_order_is_404(carol, customer, menu):
    order = place_order(customer, menu["pizza"])

    problem(carol.post(f"/api/orders/{order.pk}/cancel/", {}, format="json"), 404, "order_not_found")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.ORDER_PLACED


def test_staff_on_the_cancel_endpoint_act_as_staff(kitchen, customer, menu):
    """Staff see the order, so they are not "nobody" here: the kitchen's rule (a reason) applies."""
    order = place_order(customer, menu["pizza"])

    body = problem(kitchen.post(f"/api/orders/{order.pk}/cancel/", {}, format="json"), 400, "validation_error")

    assert "reason" in body["errors"]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.ORDER_PLACED


def test_cancel_reason_too_long_is_400(alice, customer, menu):
    order = place_order(customer, menu["pizza"])

    body = problem(
        alice.post(f"/api/orders/{order.pk}/cancel/", {"reason": "x" * 501}, format="json"), 400, "validation_error"
    )
    assert "reason" in body["errors"]


# ---------------------------------------------------------------- reading codes


def test_customer_reads_the_delivery_code(alice, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)

    response = alice.get(f"/api/orders/{order.pk}/otp/", {"type": "delivery"})

    assert response.status_code == 200
    body = response.json()
    assert body["otp"] == handoff_code(order.pk, P.DELIVERY) and len(body["otp"]) == 6
    assert body["type"] == "delivery" and body["order_id"] == str(order.pk)
    assert body["attempts_left"] == 5 and body["expires_at"]
    assert response["Cache-Control"] == "no-store"
    assert alice.get(f"/api/orders/{order.pk}/otp/").json()["otp"] == body["otp"]  # default: the awaited code


def test_staff_read_a_delivery_orders_pickup_code(kitchen, alice, dave, customer, staff_user, courier_user, menu):
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)
    assign(order, courier_user)

    assert kitchen.get(f"/api/orders/{order.pk}/otp/").json()["otp"] == handoff_code(order.pk, P.PICKUP)
    problem(alice.get(f"/api/orders/{order.pk}/otp/", {"type": "pickup"}), 403, "otp_not_yours")
    problem(dave.get(f"/api/orders/{order.pk}/otp/", {"type": "pickup"}), 403, "otp_not_yours")


def test_customer_reads_a_self_pickup_orders_code(alice, kitchen, customer, staff_user, menu):
    order = to_ready(place_order(customer, menu["pizza"], delivery_type="pickup"), staff_user)

    assert alice.get(f"/api/orders/{order.pk}/otp/").json()["otp"] == handoff_code(order.pk, P.PICKUP)
    problem(kitchen.get(f"/api/orders/{order.pk}/otp/"), 403, "otp_not_yours")


def test_no_code_before_it_is_issued(alice, customer, menu):
    order = place_order(customer, menu["pizza"])

    problem(alice.get(f"/api/orders/{order.pk}/otp/", {"type": "delivery"}), 409, "otp_not_issued")


def test_unknown_code_type_is_400(alice, customer, menu):
    order = place_order(customer, menu["pizza"])

    assert (
        "type"
        in problem(alice.get(f"/api/orders/{order.pk}/otp/", {"type": "secret"}), 400, "validation_error")["errors"]
    )


# ---------------------------------------------------------------- entering codes


def test_verifying_the_pickup_code_checks_it_then_the_courier_picks_up_with_it(
    dave, customer, staff_user, courier_user, menu
):
    """The order-process API, "13. Verify OTP" then "8. Delivery Partner: Pickup Order": verifying answers
    `verified` and changes nothing; the pickup that follows sends the same code."""
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)
    assign(order, courier_user)
    sequence = Order.objects.get(pk=order.pk).sequence

    response = dave.post(
        f"/api/orders/{order.pk}/otp/verify/",
        {"otp": handoff_code(order.pk, P.PICKUP), "type": "pickup"},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["verified"], body["message"]) == (True, True, "OTP verified successfully")
    assert (body["type"], body["attempts_left"]) == ("pickup", 5)
    unchanged = Order.objects.get(pk=order.pk)
    assert (unchanged.status, unchanged.sequence) == (OrderStatus.READY_FOR_PICKUP, sequence)
    picked = dave.post(f"/api/orders/{order.pk}/pickup/", {"otp": handoff_code(order.pk, P.PICKUP)}, format="json")
    assert picked.status_code == 200, picked.content
    assert picked.json()["status"] == "ORDER_PICKED_UP"


def test_verifying_the_delivery_code_then_completing_the_delivery(dave, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)

    body = dave.post(
        f"/api/orders/{order.pk}/otp/verify/", {"otp": handoff_code(order.pk, P.DELIVERY)}, format="json"
    ).json()
    assert body["verified"] is True and body["type"] == "delivery"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.OUT_FOR_DELIVERY

    done = dave.post(
        f"/api/orders/{order.pk}/complete-delivery/", {"otp": handoff_code(order.pk, P.DELIVERY), "delivery_notes": ""}
    )
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "DELIVERED"
    assert Order.objects.get(pk=order.pk).payment_status == "PAID"  # cash changed hands


def test_staff_verify_a_self_pickup_code_then_hand_the_order_over(kitchen, customer, staff_user, menu):
    order = to_ready(place_order(customer, menu["pizza"], delivery_type="pickup"), staff_user)

    body = kitchen.post(
        f"/api/orders/{order.pk}/otp/verify/", {"otp": handoff_code(order.pk, P.PICKUP)}, format="json"
    ).json()
    assert body["verified"] is True
    assert Order.objects.get(pk=order.pk).status == OrderStatus.READY_FOR_PICKUP

    handed = kitchen.post(f"/api/restaurants/orders/{order.pk}/handover/", {"otp": handoff_code(order.pk, P.PICKUP)})
    assert handed.status_code == 200, handed.content
    assert handed.json()["status"] == "DELIVERED"


def test_the_customer_does_not_enter_codes(alice, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)

    problem(
        alice.post(f"/api/orders/{order.pk}/otp/verify/", {"otp": handoff_code(order.pk, P.DELIVERY)}, format="json"),
        403,
        "otp_not_yours",
    )


def test_wrong_codes_count_down_then_lock(dave, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)
    right = handoff_code(order.pk, P.DELIVERY)
    wrong = "000000" if right != "000000" else "111111"

    first = dave.post(f"/api/orders/{order.pk}/otp/verify/", {"otp": wrong}, format="json")
    for _ in range(3):
        dave.post(f"/api/orders/{order.pk}/otp/verify/", {"otp": wrong}, format="json")
    last = dave.post(f"/api/orders/{order.pk}/otp/verify/", {"otp": wrong}, format="json")
    after_lock = dave.post(f"/api/orders/{order.pk}/otp/verify/", {"otp": right}, format="json")
    pickup_after_lock = dave.post(f"/api/orders/{order.pk}/complete-delivery/", {"otp": right}, format="json")

    # The order-process API, "13. Verify OTP": a wrong code is a 200 with `verified: false`, and costs an attempt.
    assert first.status_code == 200
    assert (first.json()["verified"], first.json()["attempts_left"]) == (False, 4)
    assert (last.json()["verified"], last.json()["attempts_left"]) == (False, 0)
    problem(after_lock, 423, "otp_locked")
    problem(pickup_after_lock, 423, "otp_locked")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.OUT_FOR_DELIVERY


def test_expired_code_is_410(dave, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)
    HandoffCode.objects.filter(order=order).update(expires_at=timezone.now() - timedelta(seconds=1))

    problem(
        dave.post(f"/api/orders/{order.pk}/otp/verify/", {"otp": handoff_code(order.pk, P.DELIVERY)}, format="json"),
        410,
        "otp_expired",
    )


@pytest.mark.parametrize("otp", ["12345", "1234567", "abcdef", "12 456", "", None, 12345, [1]])
def test_malformed_codes_are_400_and_cost_no_attempt(dave, customer, staff_user, courier_user, menu, otp):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)

    body = problem(
        dave.post(f"/api/orders/{order.pk}/otp/verify/", {"otp": otp}, format="json"), 400, "validation_error"
    )

    assert "otp" in body["errors"]
    assert HandoffCode.objects.get(order=order, purpose=P.DELIVERY).attempts_left == 5


# ---------------------------------------------------------------- resending codes


def test_resend_replaces_the_code(alice, dave, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)
    old = handoff_code(order.pk, P.DELIVERY)
    HandoffCode.objects.filter(order=order).update(last_sent_at=timezone.now() - timedelta(minutes=5))

    response = alice.post(f"/api/orders/{order.pk}/otp/resend/", {"type": "delivery"}, format="json")

    assert response.status_code == 200
    assert response.json()["success"] is True and response.json()["type"] == "delivery"
    new = handoff_code(order.pk, P.DELIVERY)
    assert new == alice.get(f"/api/orders/{order.pk}/otp/").json()["otp"]
    if new != old:  # one chance in a million that the new code is the old one
        assert dave.post(f"/api/orders/{order.pk}/otp/verify/", {"otp": old}, format="json").json()["verified"] is False


def test_resend_too_soon_is_429(alice, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)

    response = alice.post(f"/api/orders/{order.pk}/otp/resend/", {}, format="json")

    body = problem(response, 429, "otp_resend_too_soon")
    assert 1 <= body["retry_after"] <= 31
    assert response["Retry-After"] == str(body["retry_after"])


def test_resend_without_a_waiting_code_is_409(alice, customer, menu):
    order = place_order(customer, menu["pizza"])

    problem(
        alice.post(f"/api/orders/{order.pk}/otp/resend/", {"type": "delivery"}, format="json"), 409, "otp_not_issued"
    )


def test_resend_with_an_unknown_type_is_400(alice, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)

    errors = problem(
        alice.post(f"/api/orders/{order.pk}/otp/resend/", {"type": "sms"}, format="json"), 400, "validation_error"
    )["errors"]
    assert "type" in errors
