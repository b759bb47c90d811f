"""The transition table, walked cell by cell, and what each status change does.

The expected cells below are transcribed by hand from the table in
PRODUCT.md (the product page), not derived from `orders.lifecycle`, so a wrong edit
to the code's table fails here instead of being copied into the test.
"""

import itertools
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from freezegun import freeze_time

from core.actors import Actor
from core.errors import Forbidden, InvalidTransition, OrderNotFound, ValidationFailed
from delivery.handoff import otp_code, otp_issue
from delivery.models import HandoffCode
from delivery.services import order_assign_courier
from orders.lifecycle import TERMINAL_STATUSES, TRANSITIONS
from orders.models import (
    DeadlineKind,
    DeliveryStatus,
    DeliveryType,
    HandoffPurpose,
    Order,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
    TrackingEvent,
)
from orders.services.transitions import order_cancel, order_transition
from payments.models import Payment, PaymentRecordStatus, Refund, RefundRecordStatus
from tests.factories import OrderFactory, UserFactory

ROLES = ("customer", "restaurant", "courier", "admin", "payment", "system")

STATUSES = (
    "PAYMENT_PENDING",
    "PAYMENT_FAILED",
    "PAYMENT_SUCCESS",
    "ORDER_PLACED",
    "RESTAURANT_CONFIRMED",
    "RESTAURANT_REJECTED",
    "PREPARING",
    "READY_FOR_PICKUP",
    "ORDER_PICKED_UP",
    "OUT_FOR_DELIVERY",
    "DELIVERED",
    "COMPLETED",
    "RETURNED",
    "CANCELLED",
    "REFUND_COMPLETED",
)

# PRODUCT.md, row by row. "restaurant" rows also hold for "admin" (added below).
_BEFORE_PICKUP = (
    "PAYMENT_PENDING",
    "ORDER_PLACED",
    "PAYMENT_SUCCESS",
    "RESTAURANT_CONFIRMED",
    "PREPARING",
    "READY_FOR_PICKUP",
)
_PRODUCT_CELLS = {
    ("PAYMENT_PENDING", "PAYMENT_SUCCESS", "payment"),
    ("PAYMENT_PENDING", "PAYMENT_FAILED", "payment"),
    ("PAYMENT_PENDING", "CANCELLED", "customer"),
    ("PAYMENT_PENDING", "CANCELLED", "system"),
    ("ORDER_PLACED", "RESTAURANT_CONFIRMED", "restaurant"),
    ("PAYMENT_SUCCESS", "RESTAURANT_CONFIRMED", "restaurant"),
    ("ORDER_PLACED", "RESTAURANT_REJECTED", "restaurant"),
    ("PAYMENT_SUCCESS", "RESTAURANT_REJECTED", "restaurant"),
    ("ORDER_PLACED", "CANCELLED", "customer"),
    ("PAYMENT_SUCCESS", "CANCELLED", "customer"),
    ("RESTAURANT_CONFIRMED", "CANCELLED", "customer"),
    ("RESTAURANT_CONFIRMED", "PREPARING", "restaurant"),
    ("PREPARING", "READY_FOR_PICKUP", "restaurant"),
    ("READY_FOR_PICKUP", "ORDER_PICKED_UP", "courier"),
    ("READY_FOR_PICKUP", "DELIVERED", "restaurant"),
    ("ORDER_PICKED_UP", "OUT_FOR_DELIVERY", "courier"),
    ("OUT_FOR_DELIVERY", "DELIVERED", "courier"),
    ("DELIVERED", "COMPLETED", "system"),
    ("DELIVERED", "RETURNED", "restaurant"),
    *((source, "CANCELLED", "restaurant") for source in _BEFORE_PICKUP),
    *((source, "CANCELLED", "system") for source in _BEFORE_PICKUP),
    ("CANCELLED", "REFUND_COMPLETED", "system"),
    ("RESTAURANT_REJECTED", "REFUND_COMPLETED", "system"),
    ("RETURNED", "REFUND_COMPLETED", "system"),
}
EXPECTED_CELLS = _PRODUCT_CELLS | {
    (source, target, "admin") for source, target, role in _PRODUCT_CELLS if role == "restaurant"
}

# The conditions PRODUCT.md puts on some cells.
PICKUP_ORDERS_ONLY = {("READY_FOR_PICKUP", "DELIVERED")}
DELIVERY_ORDERS_ONLY = {("READY_FOR_PICKUP", "ORDER_PICKED_UP")}
HANDOFF_CODE = {
    ("READY_FOR_PICKUP", "ORDER_PICKED_UP"): "pickup",
    ("READY_FOR_PICKUP", "DELIVERED"): "pickup",
    ("OUT_FOR_DELIVERY", "DELIVERED"): "delivery",
}
REASON_FROM_KITCHEN = {"RESTAURANT_REJECTED", "RETURNED", "CANCELLED"}
PAID_ONLY = {"REFUND_COMPLETED"}

PAYMENT_STATUS_IN = {
    "PAYMENT_PENDING": PaymentStatus.PENDING,
    "PAYMENT_FAILED": PaymentStatus.FAILED,
    "ORDER_PLACED": PaymentStatus.PENDING,
    "REFUND_COMPLETED": PaymentStatus.REFUNDED,
}
DELIVERY_STATUS_IN = {
    "ORDER_PICKED_UP": DeliveryStatus.PICKED_UP,
    "OUT_FOR_DELIVERY": DeliveryStatus.IN_TRANSIT,
    "DELIVERED": DeliveryStatus.DELIVERED,
    "COMPLETED": DeliveryStatus.DELIVERED,
    "RETURNED": DeliveryStatus.DELIVERED,
}
HISTORY_LENGTH = 4


@pytest.fixture
def make_order(customer, restaurant, courier_user):
    """An order of `customer` at `restaurant` in `status`, as the lifecycle would have left it.

    Cash on delivery while ORDER_PLACED, online otherwise; delivery orders have
    `courier_user` assigned (pickup orders never have a courier); it already has
    a history of HISTORY_LENGTH events.
    """

    def make(status, *, delivery_type=DeliveryType.DELIVERY, **overrides):
        is_delivery = delivery_type == DeliveryType.DELIVERY
        payment_status = PAYMENT_STATUS_IN.get(status, PaymentStatus.PAID)
        fields = {
            "status": status,
            "customer": customer,
            "restaurant": restaurant,
            "delivery_type": delivery_type,
            "payment_method": PaymentMethod.COD if status == "ORDER_PLACED" else PaymentMethod.ONLINE,
            "payment_status": payment_status,
            "courier": courier_user if is_delivery else None,
            "delivery_status": (
                DELIVERY_STATUS_IN.get(status, DeliveryStatus.ASSIGNED) if is_delivery else DeliveryStatus.UNASSIGNED
            ),
            "refund_status": (
                RefundStatus.COMPLETED
                if status == "REFUND_COMPLETED"
                else RefundStatus.PENDING
                if status in {"CANCELLED", "RESTAURANT_REJECTED", "RETURNED"} and payment_status == PaymentStatus.PAID
                else RefundStatus.NONE
            ),
            "sequence": HISTORY_LENGTH,
        }
        if not is_delivery:
            fields.update(delivery_street="", delivery_city="", delivery_latitude=None, delivery_longitude=None)
        fields.update(overrides)
        return OrderFactory(**fields)

    return make


def issue_code(order, purpose):
    return otp_code(otp_issue(order=order, purpose=purpose, now=timezone.now()))


def order_row(order):
    return Order.objects.values().get(pk=order.pk)


def expect_refusal(callable_, error_class, code):
    with pytest.raises(error_class) as caught:
        callable_()
    assert type(caught.value) is error_class
    assert caught.value.code == code
    return caught.value


# ---------------------------------------------------------------- the table itself


def test_the_code_table_is_the_product_table():
    assert {value for value, _ in Order._meta.get_field("status").choices} == set(STATUSES)
    derived = {(rule.source, rule.target, role) for rule in TRANSITIONS for role in rule.roles}
    assert derived == EXPECTED_CELLS


def test_the_code_table_has_the_product_conditions():
    rules = {(rule.source, rule.target): rule for rule in TRANSITIONS}
    assert len(rules) == len(TRANSITIONS), "one rule per (from, to) pair"
    for (source, target), rule in rules.items():
        pair = (source, target)
        expected_type = "pickup" if pair in PICKUP_ORDERS_ONLY else "delivery" if pair in DELIVERY_ORDERS_ONLY else None
        assert rule.delivery_type == expected_type, pair
        assert rule.handoff == HANDOFF_CODE.get(pair), pair
        expected_reason_roles = {"restaurant", "admin"} if target in REASON_FROM_KITCHEN else set()
        assert set(rule.reason_required_for) == expected_reason_roles, pair
        assert rule.requires_paid == (target in PAID_ONLY), pair


def test_terminal_statuses_are_the_dead_ends_of_the_product_table():
    sources = {source for source, _, _ in EXPECTED_CELLS}
    assert set(TERMINAL_STATUSES) == set(STATUSES) - sources == {"PAYMENT_FAILED", "COMPLETED", "REFUND_COMPLETED"}


def _role_may_ever_reach(role, target):
    return any(cell_target == target and cell_role == role for _, cell_target, cell_role in EXPECTED_CELLS)


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), list(itertools.product(STATUSES, STATUSES)), ids=lambda status: status)
def test_every_cell_of_the_table(source, target, make_order, actors):
    pair = (source, target)
    delivery_type = DeliveryType.PICKUP if pair in PICKUP_ORDERS_ONLY else DeliveryType.DELIVERY
    for role in ROLES:
        order = make_order(source, delivery_type=delivery_type)
        otp = issue_code(order, HANDOFF_CODE[pair]) if pair in HANDOFF_CODE else None
        before = order_row(order)

        def attempt():
            return order_transition(
                order_id=order.pk, target=target, actor=actors[role], reason="walking the table", otp=otp
            )

        if (source, target, role) in EXPECTED_CELLS:
            result = attempt()
            order.refresh_from_db()
            assert order.status == target == result.order.status, role
            assert result.previous_status == source
            event = TrackingEvent.objects.get(order=order, sequence=HISTORY_LENGTH + 1)
            assert event == result.event
            assert (event.from_status, event.to_status, event.actor_role) == (source, target, role)
            assert event.actor_user_id == actors[role].user_id
            assert event.reason == "walking the table"
            assert order.sequence == TrackingEvent.objects.filter(order=order).count() + HISTORY_LENGTH
            continue

        if not _role_may_ever_reach(role, target):
            expect_refusal(attempt, Forbidden, "transition_forbidden")
        elif role == "courier" and delivery_type == DeliveryType.PICKUP:
            # A courier never sees a self-pickup order: it does not exist for them.
            expect_refusal(attempt, OrderNotFound, "order_not_found")
        else:
            error = expect_refusal(attempt, InvalidTransition, "invalid_transition")
            assert error.status_code == 400
            assert error.extra["current_status"] == source
        assert order_row(order) == before, role
        assert not TrackingEvent.objects.filter(order=order).exists(), role


# ---------------------------------------------------------------- input and who may act


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


# ---------------------------------------------------------------- side effects


def _move(order, target, actor, reason="because"):
    purpose = HANDOFF_CODE.get((order.status, target))
    otp = issue_code(order, purpose) if purpose else None
    result = order_transition(order_id=order.pk, target=target, actor=actor, reason=reason, otp=otp)
    order.refresh_from_db()
    return result


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target", "role", "delivery_type", "timestamp"),
    [
        ("PAYMENT_PENDING", "PAYMENT_SUCCESS", "payment", "delivery", "paid_at"),
        ("ORDER_PLACED", "RESTAURANT_CONFIRMED", "restaurant", "delivery", "confirmed_at"),
        ("ORDER_PLACED", "RESTAURANT_REJECTED", "restaurant", "delivery", "cancelled_at"),
        ("RESTAURANT_CONFIRMED", "PREPARING", "restaurant", "delivery", "preparing_at"),
        ("PREPARING", "READY_FOR_PICKUP", "restaurant", "delivery", "ready_at"),
        ("READY_FOR_PICKUP", "ORDER_PICKED_UP", "courier", "delivery", "picked_up_at"),
        ("ORDER_PICKED_UP", "OUT_FOR_DELIVERY", "courier", "delivery", "out_for_delivery_at"),
        ("OUT_FOR_DELIVERY", "DELIVERED", "courier", "delivery", "delivered_at"),
        ("READY_FOR_PICKUP", "DELIVERED", "restaurant", "pickup", "delivered_at"),
        ("DELIVERED", "COMPLETED", "system", "delivery", "completed_at"),
        ("DELIVERED", "RETURNED", "admin", "delivery", "returned_at"),
        ("PREPARING", "CANCELLED", "system", "delivery", "cancelled_at"),
    ],
)
def test_each_step_is_timestamped(source, target, role, delivery_type, timestamp, make_order, actors):
    order = make_order(source, delivery_type=delivery_type)
    assert getattr(order, timestamp) is None
    with freeze_time("2026-03-04 12:30:00"):
        now = timezone.now()
        result = _move(order, target, actors[role])
    assert getattr(order, timestamp) == result.event.created_at == order.updated_at == now


NOON = "2026-03-04 12:00:00"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target", "role", "delivery_type", "kind", "wait_setting"),
    [
        (
            "PAYMENT_PENDING",
            "PAYMENT_SUCCESS",
            "payment",
            "delivery",
            DeadlineKind.CONFIRMATION,
            "ORDERFLOW_CONFIRM_TIMEOUT_SECONDS",
        ),
        (
            "PREPARING",
            "READY_FOR_PICKUP",
            "restaurant",
            "delivery",
            DeadlineKind.PICKUP,
            "ORDERFLOW_PICKUP_TIMEOUT_SECONDS",
        ),
        (
            "PREPARING",
            "READY_FOR_PICKUP",
            "restaurant",
            "pickup",
            DeadlineKind.COLLECTION,
            "ORDERFLOW_COLLECTION_TIMEOUT_SECONDS",
        ),
        (
            "OUT_FOR_DELIVERY",
            "DELIVERED",
            "courier",
            "delivery",
            DeadlineKind.RETURN_WINDOW,
            "ORDERFLOW_RETURN_WINDOW_SECONDS",
        ),
        (
            "READY_FOR_PICKUP",
            "DELIVERED",
            "restaurant",
            "pickup",
            DeadlineKind.RETURN_WINDOW,
            "ORDERFLOW_RETURN_WINDOW_SECONDS",
        ),
        ("PAYMENT_PENDING", "PAYMENT_FAILED", "payment", "delivery", "", None),
        ("PAYMENT_PENDING", "CANCELLED", "system", "delivery", "", None),
        ("ORDER_PLACED", "RESTAURANT_CONFIRMED", "restaurant", "delivery", "", None),
        ("READY_FOR_PICKUP", "ORDER_PICKED_UP", "courier", "delivery", "", None),
        ("READY_FOR_PICKUP", "CANCELLED", "system", "pickup", "", None),
        ("DELIVERED", "COMPLETED", "system", "delivery", "", None),
        ("DELIVERED", "RETURNED", "restaurant", "delivery", "", None),
    ],
)
def test_waiting_states_set_the_next_deadline_and_others_clear_it(
    source, target, role, delivery_type, kind, wait_setting, make_order, actors
):
    with freeze_time(NOON):
        now = timezone.now()
        order = make_order(source, delivery_type=delivery_type, deadline_at=now, deadline_kind=DeadlineKind.PAYMENT)
        _move(order, target, actors[role])
    if wait_setting is None:
        assert (order.deadline_at, order.deadline_kind) == (None, "")
    else:
        assert order.deadline_kind == kind
        assert order.deadline_at == now + timedelta(seconds=getattr(settings, wait_setting))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target", "role"),
    [
        ("PAYMENT_SUCCESS", "CANCELLED", "customer"),
        ("RESTAURANT_CONFIRMED", "CANCELLED", "system"),
        ("READY_FOR_PICKUP", "CANCELLED", "restaurant"),
        ("PAYMENT_SUCCESS", "RESTAURANT_REJECTED", "admin"),
        ("DELIVERED", "RETURNED", "restaurant"),
    ],
)
def test_a_paid_order_that_will_not_be_kept_gets_a_refund(source, target, role, make_order, actors):
    order = make_order(source, total=Decimal("31.40"))
    payment = Payment.objects.create(
        order=order, provider="simulated", amount=order.total, currency="USD", status=PaymentRecordStatus.SUCCEEDED
    )
    result = _move(order, target, actors[role])

    refund = Refund.objects.get(order=order)
    assert (refund.status, refund.amount, refund.currency, refund.payment) == (
        RefundRecordStatus.PENDING,
        Decimal("31.40"),
        "USD",
        payment,
    )
    assert order.refund_status == RefundStatus.PENDING
    refund_event = TrackingEvent.objects.get(order=order, event_type="order.refund_updated")
    assert refund_event.sequence == result.event.sequence + 1 == order.sequence
    assert refund_event.actor_role == role
    assert refund_event.metadata["refund_id"] == str(refund.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target", "role"),
    [
        ("ORDER_PLACED", "CANCELLED", "customer"),
        ("PREPARING", "CANCELLED", "restaurant"),
        ("ORDER_PLACED", "RESTAURANT_REJECTED", "restaurant"),
        ("PAYMENT_PENDING", "CANCELLED", "system"),
    ],
)
def test_an_unpaid_order_is_cancelled_without_a_refund(source, target, role, make_order, actors):
    unpaid = {"payment_status": PaymentStatus.PENDING}
    if source != "PAYMENT_PENDING":
        unpaid["payment_method"] = PaymentMethod.COD
    order = make_order(source, **unpaid)
    result = _move(order, target, actors[role])
    assert order.status == target
    assert not Refund.objects.exists()
    assert order.refund_status == RefundStatus.NONE
    assert order.sequence == result.event.sequence
    assert not TrackingEvent.objects.filter(event_type="order.refund_updated").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "role", "delivery_type"),
    [("OUT_FOR_DELIVERY", "courier", "delivery"), ("READY_FOR_PICKUP", "restaurant", "pickup")],
)
def test_cash_is_paid_when_the_food_is_handed_over(source, role, delivery_type, make_order, actors):
    order = make_order(
        source, delivery_type=delivery_type, payment_method=PaymentMethod.COD, payment_status=PaymentStatus.PENDING
    )
    result = _move(order, "DELIVERED", actors[role])
    assert order.payment_status == PaymentStatus.PAID
    assert order.paid_at == order.delivered_at == result.event.created_at


@pytest.mark.django_db
def test_payment_success_marks_the_order_paid_and_failure_failed(make_order, actors):
    paid = make_order("PAYMENT_PENDING")
    _move(paid, "PAYMENT_SUCCESS", actors["payment"])
    failed = make_order("PAYMENT_PENDING")
    _move(failed, "PAYMENT_FAILED", actors["payment"])
    assert (paid.payment_status, failed.payment_status) == (PaymentStatus.PAID, PaymentStatus.FAILED)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target", "role", "delivery_status"),
    [
        ("READY_FOR_PICKUP", "ORDER_PICKED_UP", "courier", DeliveryStatus.PICKED_UP),
        ("ORDER_PICKED_UP", "OUT_FOR_DELIVERY", "courier", DeliveryStatus.IN_TRANSIT),
        ("OUT_FOR_DELIVERY", "DELIVERED", "courier", DeliveryStatus.DELIVERED),
    ],
)
def test_the_courier_steps_move_the_delivery_status(source, target, role, delivery_status, make_order, actors):
    order = make_order(source)
    _move(order, target, actors[role])
    assert order.delivery_status == delivery_status


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target", "role", "purpose"),
    [
        ("PREPARING", "READY_FOR_PICKUP", "restaurant", "pickup"),
        ("ORDER_PICKED_UP", "OUT_FOR_DELIVERY", "courier", "delivery"),
    ],
)
def test_entering_a_handoff_state_issues_its_code(source, target, role, purpose, make_order, actors):
    order = make_order(source)
    assert not HandoffCode.objects.filter(order=order).exists()
    _move(order, target, actors[role])
    code = HandoffCode.objects.get(order=order)
    assert code.purpose == purpose
    assert code.verified_at is None


# ---------------------------------------------------------------- publishing after commit

PUBLISHED: list[tuple[str, int, str]] = []


def record_published(events):
    PUBLISHED.extend((str(event.order_id), event.sequence, event.event_type) for event in events)


@pytest.fixture
def published(order_event_effects):
    PUBLISHED.clear()
    order_event_effects([record_published])
    yield PUBLISHED
    PUBLISHED.clear()


@pytest.mark.django_db
def test_events_are_published_only_after_commit(make_order, actors, published, django_capture_on_commit_callbacks):
    order = make_order("ORDER_PLACED")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_transition(order_id=order.pk, target="RESTAURANT_CONFIRMED", actor=actors["restaurant"])
        assert published == []
    assert published == []
    for callback in callbacks:
        callback()
    assert published == [(str(order.pk), HISTORY_LENGTH + 1, "order.status_changed")]


@pytest.mark.django_db
def test_a_cancellation_with_refund_publishes_both_events_in_order(
    make_order, actors, published, django_capture_on_commit_callbacks
):
    order = make_order("PAYMENT_SUCCESS")
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order_id=order.pk, actor=actors["customer"])
    # The refund opened by the cancellation is then processed (tasks run inline in tests),
    # which publishes its own events after these two.
    assert published[:2] == [
        (str(order.pk), HISTORY_LENGTH + 1, "order.cancelled"),
        (str(order.pk), HISTORY_LENGTH + 2, "order.refund_updated"),
    ]
    assert [sequence for _, sequence, _ in published] == list(
        range(HISTORY_LENGTH + 1, HISTORY_LENGTH + 1 + len(published))
    )


class Boom(Exception):
    pass


@pytest.mark.django_db
def test_a_rolled_back_transition_publishes_nothing(make_order, actors, published, django_capture_on_commit_callbacks):
    order = make_order("PAYMENT_SUCCESS")
    before = order_row(order)
    # The block raises on purpose after the call, to roll it back.
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom), transaction.atomic():  # noqa: PT012
        order_cancel(order_id=order.pk, actor=actors["customer"])
        raise Boom
    assert callbacks == []
    assert published == []
    assert order_row(order) == before
    assert not TrackingEvent.objects.filter(order=order).exists()
    assert not Refund.objects.filter(order=order).exists()


@pytest.mark.django_db
def test_a_refused_transition_publishes_nothing(make_order, actors, published, django_capture_on_commit_callbacks):
    order = make_order("PREPARING")
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(InvalidTransition):
        order_cancel(order_id=order.pk, actor=actors["customer"])
    assert callbacks == []
    assert published == []


# ---------------------------------------------------------------- couriers claiming orders


@pytest.mark.django_db
def test_an_order_taken_before_the_courier_asked_is_missing_to_them(make_order, actors, other_courier_user):
    # Only a claim racing the winner (claimable when it came in) hears `already_assigned`; the
    # race itself is in tests/orders/test_concurrency.py.
    taken = make_order("PREPARING", courier=other_courier_user)
    expect_refusal(
        lambda: order_assign_courier(order_id=taken.pk, courier=actors["courier"].user, actor=actors["courier"]),
        OrderNotFound,
        "order_not_found",
    )
    assert order_row(taken)["courier_id"] == other_courier_user.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "delivery_type"),
    [("ORDER_PICKED_UP", "delivery"), ("PREPARING", "pickup"), ("ORDER_PLACED", "delivery")],
)
def test_a_courier_cannot_claim_an_order_that_is_not_on_offer(
    status, delivery_type, make_order, actors, other_courier_user
):
    order = make_order(
        status, delivery_type=delivery_type, courier=other_courier_user if status == "ORDER_PICKED_UP" else None
    )
    before = order_row(order)
    expect_refusal(
        lambda: order_assign_courier(order_id=order.pk, courier=actors["courier"].user, actor=actors["courier"]),
        OrderNotFound,
        "order_not_found",
    )
    assert order_row(order) == before
