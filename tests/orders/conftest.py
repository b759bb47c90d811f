"""What the order tests share: orders made in any status as the lifecycle would have left them,
and the small helpers that move them and look at what stayed."""

import pytest
from django.utils import timezone

from delivery.handoff import otp_code, otp_issue
from orders.models import (
    DeliveryStatus,
    DeliveryType,
    Order,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
)
from orders.services.transitions import order_transition
from tests.factories import OrderFactory
from tests.orders.product_table import HANDOFF_CODE

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


def transition_in_place(order, target, actor, reason="because"):
    """Make the transition with the handoff code it needs, if any; `order` is reloaded in place."""
    purpose = HANDOFF_CODE.get((order.status, target))
    otp = issue_code(order, purpose) if purpose else None
    result = order_transition(order_id=order.pk, target=target, actor=actor, reason=reason, otp=otp)
    order.refresh_from_db()
    return result
