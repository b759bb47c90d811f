"""Deadlines as data: each waiting order carries its next deadline, and the system keeps it."""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.actors import Actor
from core.errors import InvalidTransition
from core.outbox import outbox_relayed_together
from core.parsers import parse_uuid
from orders.models import DeadlineKind, Order, OrderStatus
from orders.services.transitions import TransitionResult, order_release, order_transition

logger = logging.getLogger(__name__)


# What the system does when a waiting order's deadline passes (`Order.deadline_kind`).
DEADLINE_TARGETS: dict[str, OrderStatus] = {
    DeadlineKind.PAYMENT: OrderStatus.CANCELLED,
    DeadlineKind.CONFIRMATION: OrderStatus.CANCELLED,
    DeadlineKind.PICKUP: OrderStatus.CANCELLED,
    DeadlineKind.COLLECTION: OrderStatus.CANCELLED,
    DeadlineKind.RETURN_WINDOW: OrderStatus.COMPLETED,
}


@dataclass(frozen=True)
class SweepReport:
    found: int
    enforced: int


def order_enforce_deadline(*, order_id: Any, now: datetime | None = None) -> TransitionResult | None:
    """Carry out the order's deadline if it has passed; None if there is nothing to do.

    Safe to call from anywhere, as often as wanted (the sweep, a poll of the order's
    status): it acts only while the deadline is still due, under the order's lock. An
    order that someone is changing right now is left alone: if they move it on, its
    deadline moves with it; if not, the next sweep or poll acts.
    """
    now = now or timezone.now()
    # A plain read first, so that polling an order whose deadline is not due costs one lookup.
    if not parse_uuid(order_id) or not Order.objects.filter(pk=order_id, deadline_at__lte=now).exists():
        return None
    return _enforce_due_deadline(order_id, now)


def sweep_overdue_on_read(*, order_id: Any, deadline_at: datetime | None, now: datetime | None = None) -> bool:
    """Sweep-on-read: the one write that reading an order may cause, and where it is decided.

    A read that has just seen the order's `deadline_at` calls this before answering, so that an
    overdue order is never shown as still waiting between two runs of the periodic sweep: the
    deadline is carried out here (`order_enforce_deadline`: cancel, refund, broadcast, webhooks,
    as the sweep would). Returns whether it was due, in which case the caller reads again.
    Called by the lean status reads (the native poll, the poll-status and customer tracking
    contracts), the order socket's first snapshot and the public tracking link (docs/background-work.md).
    """
    now = now or timezone.now()
    if deadline_at is None or deadline_at > now:
        return False
    order_enforce_deadline(order_id=order_id, now=now)
    return True


def _enforce_due_deadline(order_id: Any, now: datetime) -> TransitionResult | None:
    with transaction.atomic():
        order = _due_and_locked(now).filter(pk=order_id).first()
        return None if order is None else _carry_out_deadline(order)


def _due_and_locked(now: datetime) -> QuerySet[Order]:
    """Orders whose deadline is due, locked unless someone else holds them (they are left alone)."""
    return Order.objects.select_for_update(skip_locked=True, of=("self",)).filter(deadline_at__lte=now)


def _carry_out_deadline(order: Order) -> TransitionResult | None:
    """The deadline's transition for an order whose row (`order`) the caller locked."""
    due = order.deadline_kind
    if due == DeadlineKind.RELEASE:
        released = order_release(
            order_id=order.pk, now=max(timezone.now(), order.deadline_at or timezone.now()), locked=order
        )
        if released is not None:
            return released
    target = DEADLINE_TARGETS.get(due)
    if target is not None:
        try:
            return order_transition(order_id=order.pk, target=target, actor=Actor.system(), reason=due, locked=order)
        except InvalidTransition:
            pass
    # A deadline the table cannot honour would be found again by every sweep.
    logger.warning("order %s: deadline %r cannot be carried out; dropping it", order.pk, due)
    Order.objects.filter(pk=order.pk).update(deadline_at=None, deadline_kind="")
    return None


def orders_sweep_overdue(*, now: datetime | None = None, limit: int = 500) -> SweepReport:
    """Carry out up to `limit` overdue deadlines, oldest first.

    One query on the partial index `order_deadline_idx` finds them. They are carried out in
    transactions of `ORDERFLOW_SWEEP_TRANSACTION_SIZE`: one query locks and reads those not
    locked by someone else (SKIP LOCKED, deadline checked again under the lock), each goes
    through the transition service as the system with its locked row (a savepoint each, so one
    refusal spoils nothing), one commit; their events' effects run together after it (one relay per transaction).
    """
    now = now or timezone.now()
    overdue = list(
        Order.objects.filter(deadline_at__lte=now).order_by("deadline_at").values_list("pk", flat=True)[:limit]
    )
    size = settings.ORDERFLOW_SWEEP_TRANSACTION_SIZE
    enforced = 0
    for start in range(0, len(overdue), size):
        with transaction.atomic(), outbox_relayed_together():
            for order in _due_and_locked(now).filter(pk__in=overdue[start : start + size]).order_by("deadline_at"):
                if _carry_out_deadline(order) is not None:
                    enforced += 1
    if overdue:
        logger.info("deadline sweep: %s overdue, %s enforced", len(overdue), enforced)
    return SweepReport(found=len(overdue), enforced=enforced)
