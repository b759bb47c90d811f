"""What a status change accepts as input and who may ask for it: aliases and unknown statuses,
other people's orders, reasons, handoff codes, and the conditions of single cells."""

import uuid

import pytest

from core.actors import Actor
from core.errors import Forbidden, InvalidTransition, OrderNotFound, ValidationFailed
from delivery.models import HandoffCode
from orders.models import (
    DeliveryStatus,
    DeliveryType,
    HandoffPurpose,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
    TrackingEvent,
)
from orders.services.transitions import order_cancel, order_transition
from payments.models import Refund
from tests.factories import UserFactory
from tests.orders.conftest import expect_refusal, issue_code, order_row


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "spelling", "canonical"),
    [
        ("ORDER_PLACED", "ORDER_CONFIRMED", "RESTAURANT_CONFIRMED"),
        ("ORDER_PLACED", " order_confirmed ", "RESTAURANT_CONFIRMED"),
        ("RESTAURANT_CONFIRMED", "FOOD_BEING_PREPARED", "PREPARING"),
    ],
)
def test_status_aliases_are_stored_under_the_canonical_name(source, spelling, canonical, make_order, actors):
    order = make_order(source)
    result = order_transition(order_id=order.pk, target=spelling, actor=actors["restaurant"])
    order.refresh_from_db()
    assert order.status == canonical
    assert result.event.to_status == canonical


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["TELEPORTED", "", "ORDER CONFIRMED"])
def test_an_unknown_status_is_a_validation_error(target, make_order, actors):
    order = make_order("ORDER_PLACED")
    error = expect_refusal(
        lambda: order_transition(order_id=order.pk, target=target, actor=actors["restaurant"]),
        ValidationFailed,
        "validation_error",
    )
    assert list(error.errors) == ["status_code"]
    assert order_row(order)["status"] == "ORDER_PLACED"


@pytest.mark.django_db
def test_a_courier_who_is_not_assigned_may_not_pick_up_an_order_they_can_see(make_order, actors):
    order = make_order("READY_FOR_PICKUP", courier=None, delivery_status=DeliveryStatus.UNASSIGNED)
    otp = issue_code(order, HandoffPurpose.PICKUP)
    before = order_row(order)
    expect_refusal(
        lambda: order_transition(order_id=order.pk, target="ORDER_PICKED_UP", actor=actors["courier"], otp=otp),
        Forbidden,
        "not_assigned_courier",
    )
    assert order_row(order) == before
    assert HandoffCode.objects.get(order=order).verified_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target", "needs_code"),
    [("READY_FOR_PICKUP", "ORDER_PICKED_UP", "pickup"), ("OUT_FOR_DELIVERY", "DELIVERED", "delivery")],
)
def test_another_couriers_order_looks_missing(source, target, needs_code, make_order, actors, other_courier_user):
    order = make_order(source, courier=other_courier_user)
    otp = issue_code(order, needs_code)
    before = order_row(order)
    expect_refusal(
        lambda: order_transition(order_id=order.pk, target=target, actor=actors["courier"], otp=otp),
        OrderNotFound,
        "order_not_found",
    )
    assert order_row(order) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stranger", "target"),
    [
        ("other_staff_user", "RESTAURANT_CONFIRMED"),
        ("other_staff_user", "CANCELLED"),
        ("other_customer", "CANCELLED"),
        ("plain_admin", "RESTAURANT_CONFIRMED"),
    ],
)
def test_someone_elses_order_answers_like_a_missing_one(stranger, target, make_order, request):
    if stranger == "plain_admin":
        actor = Actor.admin(UserFactory(username="not-a-superuser", is_staff=True))
    else:
        user = request.getfixturevalue(stranger)
        actor = Actor.customer(user) if stranger == "other_customer" else Actor.restaurant(user)
    order = make_order("ORDER_PLACED")
    before = order_row(order)

    hidden = expect_refusal(
        lambda: order_transition(order_id=order.pk, target=target, actor=actor, reason="not mine"),
        OrderNotFound,
        "order_not_found",
    )
    missing = expect_refusal(
        lambda: order_transition(order_id=uuid.uuid4(), target=target, actor=actor, reason="not mine"),
        OrderNotFound,
        "order_not_found",
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.detail == missing.detail
    assert order_row(order) == before
    assert not TrackingEvent.objects.filter(order=order).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target"),
    [("ORDER_PLACED", "RESTAURANT_REJECTED"), ("PREPARING", "CANCELLED"), ("DELIVERED", "RETURNED")],
)
@pytest.mark.parametrize("role", ["restaurant", "admin"])
@pytest.mark.parametrize("reason", ["", "   "])
def test_the_kitchen_must_give_a_reason(source, target, role, reason, make_order, actors):
    order = make_order(source)
    before = order_row(order)
    error = expect_refusal(
        lambda: order_transition(order_id=order.pk, target=target, actor=actors[role], reason=reason),
        ValidationFailed,
        "validation_error",
    )
    assert list(error.errors) == ["reason"]
    assert order_row(order) == before

    order_transition(order_id=order.pk, target=target, actor=actors[role], reason="oven broke")
    order.refresh_from_db()
    assert order.status == target
    if target != "RETURNED":
        assert (order.cancelled_by, order.cancellation_reason) == (role, "oven broke")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["customer", "system"])
def test_customers_and_the_system_cancel_without_a_reason(role, make_order, actors):
    order = make_order("ORDER_PLACED")
    order_cancel(order_id=order.pk, actor=actors[role])
    order.refresh_from_db()
    assert (order.status, order.cancelled_by, order.cancellation_reason) == ("CANCELLED", role, "")


@pytest.mark.django_db
def test_a_delivery_order_cannot_be_handed_over_at_the_counter(make_order, actors):
    order = make_order("READY_FOR_PICKUP", delivery_type=DeliveryType.DELIVERY)
    otp = issue_code(order, HandoffPurpose.PICKUP)
    error = expect_refusal(
        lambda: order_transition(order_id=order.pk, target="DELIVERED", actor=actors["restaurant"], otp=otp),
        InvalidTransition,
        "invalid_transition",
    )
    assert error.extra["allowed_statuses"] == ["CANCELLED"]
    assert order_row(order)["status"] == "READY_FOR_PICKUP"
    assert HandoffCode.objects.get(order=order).verified_at is None


@pytest.mark.django_db
def test_a_pickup_order_cannot_be_picked_up_by_a_courier(make_order, actors, courier_user):
    # Pickup orders never get a courier; even if one were set, the table refuses.
    order = make_order("READY_FOR_PICKUP", delivery_type=DeliveryType.PICKUP, courier=courier_user)
    otp = issue_code(order, HandoffPurpose.PICKUP)
    error = expect_refusal(
        lambda: order_transition(order_id=order.pk, target="ORDER_PICKED_UP", actor=actors["courier"], otp=otp),
        InvalidTransition,
        "invalid_transition",
    )
    assert error.extra["allowed_statuses"] == []
    assert order_row(order)["status"] == "READY_FOR_PICKUP"


@pytest.mark.django_db
@pytest.mark.parametrize("source", ["CANCELLED", "RESTAURANT_REJECTED"])
def test_an_unpaid_order_has_no_refund_to_complete(source, make_order, actors):
    order = make_order(
        source, payment_method=PaymentMethod.COD, payment_status=PaymentStatus.PENDING, refund_status=RefundStatus.NONE
    )
    error = expect_refusal(
        lambda: order_transition(order_id=order.pk, target="REFUND_COMPLETED", actor=actors["system"]),
        InvalidTransition,
        "invalid_transition",
    )
    assert error.extra["current_status"] == source
    assert order_row(order)["status"] == source


@pytest.mark.django_db
@pytest.mark.parametrize("source", ["PREPARING", "READY_FOR_PICKUP"])
def test_a_customer_cannot_cancel_once_preparation_started(source, make_order, actors):
    order = make_order(source)
    before = order_row(order)
    error = expect_refusal(
        lambda: order_cancel(order_id=order.pk, actor=actors["customer"]), InvalidTransition, "invalid_transition"
    )
    assert error.status_code == 400
    assert error.extra == {"current_status": source, "allowed_statuses": []}
    assert order_row(order) == before
    assert not Refund.objects.filter(order=order).exists()


@pytest.mark.django_db
def test_a_handoff_needs_the_code(make_order, actors):
    order = make_order("OUT_FOR_DELIVERY")
    issue_code(order, HandoffPurpose.DELIVERY)
    error = expect_refusal(
        lambda: order_transition(order_id=order.pk, target="DELIVERED", actor=actors["courier"]),
        ValidationFailed,
        "validation_error",
    )
    assert list(error.errors) == ["otp"]
    assert order_row(order)["status"] == "OUT_FOR_DELIVERY"
