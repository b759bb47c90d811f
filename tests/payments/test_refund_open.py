import pytest

from orders.models import DeliveryStatus, OrderStatus, PaymentMethod, PaymentStatus, RefundStatus, TrackingEvent
from orders.services.transitions import order_transition
from payments.models import Refund, RefundRecordStatus
from tests.factories import OrderFactory


def delivered_order(restaurant, payment_method):
    return OrderFactory(
        restaurant=restaurant,
        status=OrderStatus.DELIVERED,
        delivery_status=DeliveryStatus.DELIVERED,
        payment_method=payment_method,
        payment_status=PaymentStatus.PAID,
    )


@pytest.mark.django_db
def test_returning_an_online_order_opens_one_refund_for_its_total(restaurant, actors):
    order = delivered_order(restaurant, PaymentMethod.ONLINE)

    order_transition(order_id=order.pk, target="RETURNED", actor=actors["restaurant"], reason="Cold food")

    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.status) == (order.total, RefundRecordStatus.PENDING)
    order.refresh_from_db()
    assert order.refund_status == RefundStatus.PENDING
    assert list(TrackingEvent.objects.filter(order=order).values_list("event_type", flat=True)) == [
        "order.status_changed",
        "order.refund_updated",
    ]


@pytest.mark.django_db
def test_returning_a_cash_order_opens_no_refund(restaurant, actors):
    order = delivered_order(restaurant, PaymentMethod.COD)

    order_transition(order_id=order.pk, target="RETURNED", actor=actors["restaurant"], reason="Cold food")

    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED
    assert order.refund_status == RefundStatus.NONE
    assert not Refund.objects.filter(order=order).exists()
