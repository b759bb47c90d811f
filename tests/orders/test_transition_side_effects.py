"""What a status change does besides the status: timestamps, deadlines, refunds, payment and
delivery status, handoff codes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone
from freezegun import freeze_time

from delivery.models import HandoffCode
from orders.models import DeadlineKind, DeliveryStatus, PaymentMethod, PaymentStatus, RefundStatus, TrackingEvent
from payments.models import Payment, PaymentRecordStatus, Refund, RefundRecordStatus
from tests.orders.conftest import transition_in_place


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
        result = transition_in_place(order, target, actors[role])
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
        transition_in_place(order, target, actors[role])
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
    result = transition_in_place(order, target, actors[role])

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
    result = transition_in_place(order, target, actors[role])
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
    result = transition_in_place(order, "DELIVERED", actors[role])
    assert order.payment_status == PaymentStatus.PAID
    assert order.paid_at == order.delivered_at == result.event.created_at


@pytest.mark.django_db
def test_payment_success_marks_the_order_paid_and_failure_failed(make_order, actors):
    paid = make_order("PAYMENT_PENDING")
    transition_in_place(paid, "PAYMENT_SUCCESS", actors["payment"])
    failed = make_order("PAYMENT_PENDING")
    transition_in_place(failed, "PAYMENT_FAILED", actors["payment"])
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
    transition_in_place(order, target, actors[role])
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
    transition_in_place(order, target, actors[role])
    code = HandoffCode.objects.get(order=order)
    assert code.purpose == purpose
    assert code.verified_at is None
