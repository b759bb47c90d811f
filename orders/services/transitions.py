"""`order_transition`: the only writer of `Order.status`."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core.actors import Actor, ActorRole
from core.errors import ApplicationError, Forbidden, InvalidTransition, ValidationFailed
from core.timestamps import iso
from orders import hooks
from orders.kitchen import kitchen_queue
from orders.lifecycle import (
    CANCELLING_STATUSES,
    RULES,
    next_statuses_for,
    normalise_status,
    release_due,
    role_may_reach,
    rule_applies,
)
from orders.models import (
    DeliveryStatus,
    DeliveryType,
    EventType,
    Order,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
    TrackingEvent,
)
from orders.schedule import deadline_for, eta_after_ready
from orders.services.events import event_record
from orders.versions import order_version_check
from orders.visibility import is_assigned_courier, order_get_visible

MAX_REASON_LENGTH = 500
MAX_METADATA_BYTES = 4096
MAX_PREP_MINUTES = 240

STATUS_TIMESTAMPS: dict[OrderStatus, str] = {
    OrderStatus.PAYMENT_SUCCESS: "paid_at",
    OrderStatus.RESTAURANT_CONFIRMED: "confirmed_at",
    OrderStatus.RESTAURANT_REJECTED: "cancelled_at",
    OrderStatus.PREPARING: "preparing_at",
    OrderStatus.READY_FOR_PICKUP: "ready_at",
    OrderStatus.ORDER_PICKED_UP: "picked_up_at",
    OrderStatus.OUT_FOR_DELIVERY: "out_for_delivery_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.COMPLETED: "completed_at",
    OrderStatus.RETURNED: "returned_at",
    OrderStatus.CANCELLED: "cancelled_at",
}

STATUS_EVENTS: dict[OrderStatus, EventType] = {
    OrderStatus.PAYMENT_SUCCESS: EventType.PAYMENT_SUCCEEDED,
    OrderStatus.PAYMENT_FAILED: EventType.PAYMENT_FAILED,
    OrderStatus.READY_FOR_PICKUP: EventType.READY_FOR_PICKUP,
    OrderStatus.ORDER_PICKED_UP: EventType.PICKED_UP,
    OrderStatus.OUT_FOR_DELIVERY: EventType.OUT_FOR_DELIVERY,
    OrderStatus.DELIVERED: EventType.DELIVERED,
    OrderStatus.CANCELLED: EventType.CANCELLED,
}


@dataclass(frozen=True)
class TransitionResult:
    order: Order
    previous_status: str
    event: TrackingEvent


def _clean_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValidationFailed({"metadata": ["Must be an object."]})
    try:
        # allow_nan=False: Infinity and NaN are not JSON, and PostgreSQL's jsonb refuses them.
        encoded = DjangoJSONEncoder(allow_nan=False).encode(metadata)
    except (TypeError, ValueError):
        raise ValidationFailed(
            {"metadata": ["Must be plain JSON (finite numbers, strings, lists, objects)."]}
        ) from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise ValidationFailed({"metadata": [f"At most {MAX_METADATA_BYTES} bytes."]})
    return metadata


def _prep_minutes(metadata: dict[str, Any]) -> int | None:
    value = metadata.get("estimated_prep_time")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PREP_MINUTES:
        raise ValidationFailed(
            {"estimated_prep_time": [f"Must be a whole number of minutes from 1 to {MAX_PREP_MINUTES}."]}
        )
    return value


def order_transition(
    *,
    order_id: Any,
    target: str,
    actor: Actor,
    reason: str = "",
    metadata: dict[str, Any] | None = None,
    otp: str | None = None,
    locked: Order | None = None,
    if_match: str | None = None,
) -> TransitionResult:
    """Move an order to `target` if the table allows it for this actor, and record why.

    Locks the order row, so two people acting at once get one success and one
    conflict. The tracking event and everything it triggers follow the commit.
    `locked` is the order's row when the caller locked it already in the current
    transaction, with others in one query (the deadline sweep does, as the system).
    """
    target_status = normalise_status(target)
    if target_status is None:
        raise ValidationFailed({"status_code": [f"{target!r} is not an order status."]})
    reason = str(reason or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed({"reason": [f"At most {MAX_REASON_LENGTH} characters."]})
    metadata = _clean_metadata(metadata)
    prep_minutes = _prep_minutes(metadata)
    if not role_may_reach(actor.role, target_status):
        raise Forbidden(
            f"A {ActorRole(actor.role).label.lower()} may not move an order to {target_status}.",
            code="transition_forbidden",
        )

    now = timezone.now()
    handoff_error: ApplicationError | None = None
    with transaction.atomic():
        if locked is None:
            order = order_get_visible(actor=actor, order_id=order_id, for_update=True)
        else:
            if actor.role != ActorRole.SYSTEM or locked.pk != order_id:
                raise ValueError("only the system passes a row it locked, and only that order's")
            order = locked
        order_version_check(order=order, if_match=if_match)
        rule = RULES.get((OrderStatus(order.status), target_status))
        if rule is None or not rule_applies(rule, order=order, role=actor.role):
            raise InvalidTransition(
                f"The order is {order.status}; it cannot move to {target_status}.",
                current_status=order.status,
                allowed_statuses=next_statuses_for(order=order, role=actor.role),
            )
        if actor.role == ActorRole.COURIER and not is_assigned_courier(actor=actor, order=order):
            raise Forbidden("Only the courier assigned to this order may do this.", code="not_assigned_courier")
        if actor.role in rule.reason_required_for and not reason:
            raise ValidationFailed({"reason": ["A reason is required."]})
        if rule.handoff:
            if not otp:
                raise ValidationFailed({"otp": ["The handoff code is required."]})
            try:
                hooks.verify_handoff(order=order, purpose=rule.handoff, code=str(otp), now=now)
            except ApplicationError as exc:
                # Commit the used-up attempt before refusing, so guessing is not free.
                handoff_error = exc
        if handoff_error is None:
            previous_status = order.status
            event = _apply(order, target_status, actor, reason, metadata, prep_minutes, now)
    if handoff_error is not None:
        raise handoff_error
    return TransitionResult(order=order, previous_status=previous_status, event=event)


def _apply(
    order: Order,
    target: OrderStatus,
    actor: Actor,
    reason: str,
    metadata: dict[str, Any],
    prep_minutes: int | None,
    now: datetime,
) -> TrackingEvent:
    previous = order.status
    order.status = target
    changed = {"status", "deadline_at", "deadline_kind"}
    timestamp_field = STATUS_TIMESTAMPS.get(target)
    if timestamp_field:
        setattr(order, timestamp_field, now)
        changed.add(timestamp_field)

    if target == OrderStatus.PAYMENT_SUCCESS:
        order.payment_status = PaymentStatus.PAID
        changed.add("payment_status")
    elif target == OrderStatus.PAYMENT_FAILED:
        order.payment_status = PaymentStatus.FAILED
        changed.add("payment_status")
    elif target == OrderStatus.REFUND_COMPLETED:
        order.payment_status = PaymentStatus.REFUNDED
        order.refund_status = RefundStatus.COMPLETED
        changed |= {"payment_status", "refund_status"}
    elif target == OrderStatus.ORDER_PICKED_UP:
        order.delivery_status = DeliveryStatus.PICKED_UP
        changed.add("delivery_status")
    elif target == OrderStatus.OUT_FOR_DELIVERY:
        order.delivery_status = DeliveryStatus.IN_TRANSIT
        order.estimated_delivery_at = eta_after_ready(order, order.restaurant, now)
        changed |= {"delivery_status", "estimated_delivery_at"}
    elif target == OrderStatus.DELIVERED:
        if order.delivery_type == DeliveryType.DELIVERY:
            order.delivery_status = DeliveryStatus.DELIVERED
            changed.add("delivery_status")
        if order.payment_method == PaymentMethod.COD:
            # Cash changes hands at the door or the counter.
            order.payment_status = PaymentStatus.PAID
            order.paid_at = now
            changed |= {"payment_status", "paid_at"}
    elif target == OrderStatus.RESTAURANT_CONFIRMED:
        minutes = prep_minutes or order.estimated_prep_minutes or order.restaurant.average_prep_minutes
        order.estimated_prep_minutes = minutes
        # Staff who say how long it takes have counted their queue; the kitchen's own quote waits
        # for a station after the orders ahead of this one.
        start = (
            now
            if prep_minutes
            else kitchen_queue(order.restaurant).start_for(now=now, order_id=order.pk, placed_at=order.placed_at)
        )
        ready_at = start + timedelta(minutes=minutes)
        if order.fulfill_at is not None and order.estimated_ready_at is not None:
            # An order for later keeps the time promised unless the kitchen can no longer make it.
            ready_at = max(ready_at, order.estimated_ready_at)
        order.estimated_ready_at = ready_at
        order.estimated_delivery_at = eta_after_ready(order, order.restaurant, order.estimated_ready_at)
        changed |= {"estimated_prep_minutes", "estimated_ready_at", "estimated_delivery_at"}
    elif target == OrderStatus.READY_FOR_PICKUP:
        order.estimated_delivery_at = eta_after_ready(order, order.restaurant, now)
        changed.add("estimated_delivery_at")

    if target in CANCELLING_STATUSES:
        order.cancelled_by = actor.role
        order.cancellation_reason = reason
        changed |= {"cancelled_by", "cancellation_reason"}

    order.deadline_at, order.deadline_kind = deadline_for(order, now)
    event = event_record(
        order=order,
        event_type=STATUS_EVENTS.get(target, EventType.STATUS_CHANGED),
        actor=actor,
        changed_fields=changed,
        from_status=previous,
        to_status=target,
        reason=reason,
        metadata=metadata,
        at=now,
    )
    hooks.run_order_change_hooks(order=order, event=event, actor=actor, now=now)
    return event


def order_cancel(*, order_id: Any, actor: Actor, reason: str = "", if_match: str | None = None) -> TransitionResult:
    return order_transition(
        order_id=order_id, target=OrderStatus.CANCELLED, actor=actor, reason=reason, if_match=if_match
    )


def order_release(
    *, order_id: Any, now: datetime | None = None, locked: Order | None = None
) -> TransitionResult | None:
    """Release an order for later to the kitchen (the table's RELEASE), exactly once.

    The row is locked (SKIP LOCKED: a release already under way elsewhere is left to finish) and
    the release checked again under the lock, so two sweeps racing release it once: the second
    finds it released, or locked, and does nothing (None). Its deadline restarts from now.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if locked is None:
            rows = Order.objects.select_for_update(skip_locked=True, of=("self",)).select_related("restaurant")
            order = rows.filter(pk=order_id).first()
        else:
            order = locked
        if order is None or not release_due(order, now=now):
            return None
        order.released_at = now
        order.deadline_at, order.deadline_kind = deadline_for(order, now)
        actor = Actor.system()
        event = event_record(
            order=order,
            event_type=EventType.RELEASED,
            actor=actor,
            changed_fields={"released_at", "deadline_at", "deadline_kind"},
            from_status=order.status,
            to_status=order.status,
            metadata={"fulfill_at": iso(order.fulfill_at) if order.fulfill_at else None},
            at=now,
        )
        hooks.run_order_change_hooks(order=order, event=event, actor=actor, now=now)
    return TransitionResult(order=order, previous_status=order.status, event=event)
