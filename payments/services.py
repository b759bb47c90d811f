from django.conf import settings
from django.db import transaction

from orders.actors import Actor
from orders.errors import Conflict
from orders.models import Order, OrderStatus, PaymentMethod, PaymentStatus, RefundStatus
from payments.models import Payment, PaymentRecordStatus, Refund
from tracking.models import EventType
from tracking.services import event_record



def payment_create_for_order(*, order: Order) -> Payment | None:
    """The pending payment that an online order waits on; cash orders have none."""
    if order.payment_method != PaymentMethod.ONLINE:
        return None
    return Payment.objects.create(
        order=order,
        provider=settings.ORDERFLOW_PAYMENT_PROVIDER,
        amount=order.total,
        currency=order.currency,
    )


def payment_record_result(
    *, order_id, succeeded: bool, provider_reference: str = "", payload: dict | None = None, provider: str = ""
) -> Order:
    """Apply the provider's verdict on an order's pending payment."""
    from orders.services import order_transition

    target = OrderStatus.PAYMENT_SUCCESS if succeeded else OrderStatus.PAYMENT_FAILED
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .filter(order_id=order_id, status=PaymentRecordStatus.PENDING)
            .order_by("created_at")
            .first()
        )
        if payment is None:
            raise Conflict("The order has no pending payment.", code="payment_not_pending")
        result = order_transition(
            order_id=order_id,
            target=target,
            actor=Actor.payment_provider(provider or payment.provider),
            metadata={"provider_reference": provider_reference} if provider_reference else None,
        )
        payment.status = PaymentRecordStatus.SUCCEEDED if succeeded else PaymentRecordStatus.FAILED
        payment.provider_reference = provider_reference or payment.provider_reference
        payment.raw_payload = payload or {}
        payment.save(update_fields=["status", "provider_reference", "raw_payload", "updated_at"])
    return result.order


def refund_open_for_order(*, order: Order, actor: Actor) -> Refund | None:
    """Open a refund for a paid order that will not be delivered; the caller holds the lock.

    Returns None for orders not paid online: cash on delivery is never refunded (PRODUCT.md).
    """
    if order.payment_method != PaymentMethod.ONLINE or order.payment_status != PaymentStatus.PAID:
        return None
    refund, created = Refund.objects.get_or_create(
        order=order,
        defaults={
            "payment": order.payments.filter(status=PaymentRecordStatus.SUCCEEDED).first(),
            "amount": order.total,
            "currency": order.currency,
        },
    )
    if created:
        order.refund_status = RefundStatus.PENDING
        event_record(
            order=order,
            event_type=EventType.REFUND_UPDATED,
            actor=actor,
            changed_fields=["refund_status"],
            from_status=order.status,
            metadata={"refund_id": str(refund.pk), "refund_status": refund.status, "amount": str(refund.amount)},
        )
    return refund
