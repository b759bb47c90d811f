"""Payments, the provider's webhook, and refunds.

Refunds move PENDING -> PROCESSING -> COMPLETED (or FAILED, for a person to retry);
every change is an `order.refund_updated` tracking event written under the order's lock.
The provider is called outside any transaction, with an idempotency key derived from the
refund, so a refund processed twice (a retry, a re-delivered task) pays out once.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict, InvalidTransition, NotFound, OrderNotFound
from core.publishing import enqueue, enqueue_after_commit
from orders.lifecycle import REFUNDABLE_STATUSES
from orders.models import EventType, Order, OrderStatus, PaymentMethod, PaymentStatus, TrackingEvent
from orders.services.events import event_record
from orders.services.transitions import order_transition
from payments.models import (
    Payment,
    PaymentRecordStatus,
    PaymentWebhookEvent,
    Refund,
    RefundRecordStatus,
)
from payments.providers import ProviderError, get_provider

logger = logging.getLogger(__name__)

REFUND_TASK = "payments.tasks.refund_process_task"


def payments_follow_order_change(*, order: Order, event: TrackingEvent, actor: Actor, now: datetime) -> None:
    """Registered with `orders.hooks`: runs in the transaction that places or moves the order.

    An online order gets the payment it waits for when it is placed; a paid order that will
    not be delivered gets its refund opened with the change that says so.
    """
    if event.event_type == EventType.PLACED:
        payment_create_for_order(order=order)
    elif event.to_status in REFUNDABLE_STATUSES:
        refund_open_for_order(order=order, actor=actor)


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
        _payment_reference_check(payment, provider_reference)
        result = order_transition(
            order_id=order_id,
            target=target,
            actor=Actor.payment_provider(provider or payment.provider),
            metadata={"provider_reference": provider_reference} if provider_reference else None,
        )
        payment.status = PaymentRecordStatus.SUCCEEDED if succeeded else PaymentRecordStatus.FAILED
        payment.provider_reference = provider_reference or payment.provider_reference
        payment.raw_payload = payload or {}
        _payment_save_result(payment)
    return result.order


class PaymentReferenceInUse(Conflict):
    code = "payment_reference_in_use"
    title = "The provider's reference already belongs to another payment"


def _payment_reference_check(payment: Payment, reference: str) -> None:
    """Refuse a provider reference that another payment already holds (one charge pays one order)."""
    if reference and (
        Payment.objects.filter(provider=payment.provider, provider_reference=reference).exclude(pk=payment.pk).exists()
    ):
        raise PaymentReferenceInUse(f"The reference {reference!r} already belongs to another payment.")


def _payment_save_result(payment: Payment) -> None:
    try:
        with transaction.atomic():
            payment.save(update_fields=["status", "provider_reference", "raw_payload", "updated_at"])
    except IntegrityError:
        # Another order took the reference after the check: the caller's transaction rolls back.
        raise PaymentReferenceInUse(
            f"The reference {payment.provider_reference!r} already belongs to another payment."
        ) from None


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
        _refund_event(order, refund, actor)
        _refund_enqueue(refund)
    return refund


# ---------------------------------------------------------------- the provider's webhook


class WebhookOutcome:
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    ALREADY_APPLIED = "already_applied"
    LATE_PAYMENT_REFUNDED = "late_payment_refunded"
    IGNORED = "ignored"


PAYMENT_EVENT_TYPES = {"payment.succeeded": True, "payment.failed": False}


def payment_webhook_receive(
    *,
    provider: str,
    event_id: str,
    event_type: str,
    order_id: Any,
    reference: str = "",
    amount: Decimal | None = None,
    currency: str = "",
    payload: dict | None = None,
) -> str:
    """Apply one verified provider event, at most once per event id.

    The event id is stored in the same transaction as the effect: a duplicate delivery
    finds it and changes nothing; a delivery that fails leaves nothing behind and can be
    delivered again.
    """
    succeeded = PAYMENT_EVENT_TYPES[event_type]
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            raise OrderNotFound("No order with this id.")
        try:
            with transaction.atomic():
                record = PaymentWebhookEvent.objects.create(
                    provider=provider, event_id=event_id, event_type=event_type, order=order, outcome=""
                )
        except IntegrityError:
            return WebhookOutcome.DUPLICATE
        if amount is not None and (amount != order.total or (currency and currency != order.currency)):
            raise Conflict(
                f"The event is for {amount} {currency or order.currency}; "
                f"the order is for {order.total} {order.currency}.",
                code="payment_amount_mismatch",
            )
        outcome = _payment_apply_verdict(
            order=order, succeeded=succeeded, provider=provider, reference=reference, payload=payload or {}
        )
        record.outcome = outcome
        record.save(update_fields=["outcome"])
    return outcome


def _payment_apply_verdict(*, order: Order, succeeded: bool, provider: str, reference: str, payload: dict) -> str:
    latest = order.payments.order_by("-created_at").first()
    if latest is not None and latest.status != PaymentRecordStatus.PENDING:
        same = latest.status == (PaymentRecordStatus.SUCCEEDED if succeeded else PaymentRecordStatus.FAILED)
        if same and (not reference or reference == latest.provider_reference):
            return WebhookOutcome.ALREADY_APPLIED
        raise Conflict("The order's payment already has another result.", code="payment_not_pending")
    if order.status == OrderStatus.PAYMENT_PENDING:
        payment_record_result(
            order_id=order.pk, succeeded=succeeded, provider_reference=reference, payload=payload, provider=provider
        )
        return WebhookOutcome.APPLIED
    if succeeded and order.status == OrderStatus.CANCELLED and order.payment_status == PaymentStatus.PENDING:
        payment_record_late_success(order=order, provider=provider, reference=reference, payload=payload)
        return WebhookOutcome.LATE_PAYMENT_REFUNDED
    if not succeeded and order.status == OrderStatus.CANCELLED:
        return WebhookOutcome.IGNORED  # a failed payment for an order that no longer waits for one
    raise Conflict(f"The order is {order.status}; it is not waiting for a payment.", code="payment_not_pending")


def payment_record_late_success(*, order: Order, provider: str, reference: str, payload: dict) -> Refund | None:
    """The customer paid after the order was given up (e.g. it expired): record it, pay it back.

    The caller holds the order lock. The status stays CANCELLED; the payment becomes PAID
    and a refund opens like for any paid order that will not be delivered.
    """
    payment = order.payments.select_for_update().filter(status=PaymentRecordStatus.PENDING).first()
    if payment is None:
        raise Conflict("The order has no pending payment.", code="payment_not_pending")
    _payment_reference_check(payment, reference)
    now = timezone.now()
    payment.status = PaymentRecordStatus.SUCCEEDED
    payment.provider_reference = reference or payment.provider_reference
    payment.raw_payload = payload
    _payment_save_result(payment)
    order.payment_status = PaymentStatus.PAID
    order.paid_at = now
    event_record(
        order=order,
        event_type=EventType.PAYMENT_SUCCEEDED,
        actor=Actor.payment_provider(provider),
        changed_fields=["payment_status", "paid_at"],
        from_status=order.status,
        reason="paid_after_cancellation",
        metadata={"provider_reference": reference} if reference else None,
        at=now,
    )
    return refund_open_for_order(order=order, actor=Actor.system())


# ---------------------------------------------------------------- refunds


class RefundRetryLater(Exception):
    """The provider failed transiently and attempts remain: the task retries with backoff."""


def refund_idempotency_key(refund: Refund) -> str:
    # One key per refund, whatever the attempt: the provider pays a refund out once.
    return f"orderflow-refund-{refund.pk}"


def _refund_event(order: Order, refund: Refund, actor: Actor, reason: str = "") -> None:
    order.refund_status = refund.status
    event_record(
        order=order,
        event_type=EventType.REFUND_UPDATED,
        actor=actor,
        changed_fields=["refund_status"],
        from_status=order.status,
        reason=reason,
        metadata={
            "refund_id": str(refund.pk),
            "refund_status": refund.status,
            "amount": str(refund.amount),
            "currency": refund.currency,
            "attempts": refund.attempts,
        },
    )


def _refund_enqueue(refund: Refund) -> None:
    """Send the refund's task once the transaction commits.

    `robust`: a broker that cannot be reached is logged, and never turns the committed
    cancellation into an error; the beat task `refunds_requeue_stale_task` sends it later.
    """
    enqueue_after_commit(REFUND_TASK, str(refund.pk))


def _refund_lock(refund_id: Any) -> tuple[Order, Refund]:
    """Lock the refund's order, then the refund: always in this order, like every writer."""
    order_id = Refund.objects.filter(pk=refund_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound("No such refund.", code="refund_not_found")
    order = Order.objects.select_for_update().get(pk=order_id)
    refund = Refund.objects.select_for_update(of=("self",)).select_related("payment").get(pk=refund_id)
    return order, refund


def _refund_set(order: Order, refund: Refund, status: str, reason: str = "", **fields) -> None:
    refund.status = status
    for name, value in fields.items():
        setattr(refund, name, value)
    refund.save(update_fields=["status", "updated_at", *fields])
    _refund_event(order, refund, Actor.system(), reason)


def refund_process(*, refund_id: Any) -> Refund:
    """Pay a refund back through the provider; safe to call any number of times.

    COMPLETED and FAILED refunds are left as they are. Otherwise the refund becomes
    PROCESSING, the provider is asked (outside any transaction, with the refund's
    idempotency key), and the refund becomes COMPLETED (the order REFUND_COMPLETED,
    its payment REFUNDED). A transient failure raises RefundRetryLater while attempts
    remain and marks the refund FAILED after the last.
    """
    with transaction.atomic():
        order, refund = _refund_lock(refund_id)
        if refund.status in (RefundRecordStatus.COMPLETED, RefundRecordStatus.FAILED):
            return refund
        refund.attempts += 1
        if refund.status == RefundRecordStatus.PENDING:
            _refund_set(order, refund, RefundRecordStatus.PROCESSING, attempts=refund.attempts)
        else:
            refund.save(update_fields=["attempts", "updated_at"])
        payment_reference = refund.payment.provider_reference if refund.payment else ""

    try:
        result = get_provider().refund(
            payment_reference=payment_reference,
            amount=refund.amount,
            currency=refund.currency,
            idempotency_key=refund_idempotency_key(refund),
        )
    except ProviderError as exc:
        return _refund_after_failure(refund_id, exc)

    with transaction.atomic():
        order, refund = _refund_lock(refund_id)
        if refund.status == RefundRecordStatus.COMPLETED:
            return refund
        _refund_set(
            order,
            refund,
            RefundRecordStatus.COMPLETED,
            provider_reference=result.reference,
            completed_at=timezone.now(),
            last_error="",
        )
        try:
            order_transition(order_id=order.pk, target=OrderStatus.REFUND_COMPLETED, actor=Actor.system())
        except InvalidTransition:
            logger.warning("refund %s completed but order %s is %s", refund.pk, order.pk, order.status)
    logger.info("refund %s completed reference=%s attempts=%s", refund.pk, refund.provider_reference, refund.attempts)
    return refund


def _refund_after_failure(refund_id: Any, exc: ProviderError) -> Refund:
    with transaction.atomic():
        order, refund = _refund_lock(refund_id)
        if refund.status in (RefundRecordStatus.COMPLETED, RefundRecordStatus.FAILED):
            return refund
        error = str(exc)[:500]
        retry = exc.transient and refund.attempts < settings.ORDERFLOW_REFUND_MAX_ATTEMPTS
        if retry:
            refund.last_error = error
            refund.save(update_fields=["last_error", "updated_at"])
        else:
            _refund_set(order, refund, RefundRecordStatus.FAILED, reason=error, last_error=error)
    logger.warning("refund %s attempt %s failed: %s", refund.pk, refund.attempts, exc)
    if retry:
        raise RefundRetryLater(error)
    return refund


def refund_retry(*, refund_id: Any, actor: Actor) -> Refund:
    """A person sends a FAILED refund round again: PENDING, attempts from zero, queued after commit."""
    with transaction.atomic():
        order, refund = _refund_lock(refund_id)
        if refund.status != RefundRecordStatus.FAILED:
            raise Conflict(
                f"The refund is {refund.status}; only a failed refund can be retried.", code="refund_not_failed"
            )
        refund.status = RefundRecordStatus.PENDING
        refund.attempts = 0
        refund.save(update_fields=["status", "attempts", "updated_at"])
        _refund_event(order, refund, actor, reason="retried")
        _refund_enqueue(refund)
    return refund


@dataclass(frozen=True)
class StaleRefunds:
    pending: list
    processing: list


def refunds_requeue_stale(*, now: datetime | None = None, limit: int = 500) -> StaleRefunds:
    """Queue again the refunds whose task was lost (a crash before sending it, a dead worker).

    A refund waiting between retries is touched at each attempt, so only refunds that
    nothing has worked on for the configured time are picked up.
    """
    now = now or timezone.now()
    pending = list(
        Refund.objects.filter(
            status=RefundRecordStatus.PENDING,
            updated_at__lte=now - timedelta(seconds=settings.ORDERFLOW_REFUND_STALE_PENDING_SECONDS),
        ).values_list("pk", flat=True)[:limit]
    )
    processing = list(
        Refund.objects.filter(
            status=RefundRecordStatus.PROCESSING,
            updated_at__lte=now - timedelta(seconds=settings.ORDERFLOW_REFUND_STALE_PROCESSING_SECONDS),
        ).values_list("pk", flat=True)[:limit]
    )
    for refund_id in [*pending, *processing]:
        enqueue(REFUND_TASK, str(refund_id))
    if pending or processing:
        logger.warning("requeued stale refunds: %s pending, %s processing", len(pending), len(processing))
    return StaleRefunds(pending=pending, processing=processing)


# What the service reads of a provider's event once the payment is settled (the mobile orders
# API shows `payment_method_used`); billing details, cards and the rest are dropped.
PAYLOAD_KEPT_FIELDS = ("id", "type", "event_id", "status", "amount", "currency", "payment_method_used")


def _payload_reduced(payload) -> dict:
    payload = payload if isinstance(payload, dict) else {}
    return {
        key: payload[key]
        for key in PAYLOAD_KEPT_FIELDS
        if key in payload and isinstance(payload[key], str | int | float | bool)
    }


def payment_payloads_reduce_for_orders(*, order_ids: list, now: datetime | None = None) -> int:
    """Erasure: the provider's events of these orders' payments, reduced at once, settled or not."""
    now = now or timezone.now()
    payments = list(Payment.objects.select_for_update().filter(order_id__in=order_ids).only("pk", "raw_payload"))
    for payment in payments:
        payment.raw_payload = _payload_reduced(payment.raw_payload)
        payment.payload_reduced_at = now
    Payment.objects.bulk_update(payments, ["raw_payload", "payload_reduced_at"])
    return len(payments)


def payment_payloads_reduce(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Retention: cut settled payments' provider events older than
    ORDERFLOW_RETENTION_PAYMENT_PAYLOAD_HOURS down to PAYLOAD_KEPT_FIELDS, a batch of at most
    `limit`. Returns how many were reduced."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.ORDERFLOW_RETENTION_PAYMENT_PAYLOAD_HOURS)
    with transaction.atomic():
        payments = list(
            Payment.objects.select_for_update(skip_locked=True)
            .filter(payload_reduced_at__isnull=True, updated_at__lte=cutoff)
            .exclude(status=PaymentRecordStatus.PENDING)
            .order_by("updated_at")
            .only("pk", "raw_payload")[:limit]
        )
        for payment in payments:
            payment.raw_payload = _payload_reduced(payment.raw_payload)
            payment.payload_reduced_at = now
        # bulk_update leaves `updated_at` (auto_now) as it was: reducing is not a change of the payment.
        Payment.objects.bulk_update(payments, ["raw_payload", "payload_reduced_at"])
    return len(payments)
