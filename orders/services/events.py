"""The order's history: one immutable event per change, numbered without gaps."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from core.actors import Actor
from core.publishing import publish_on_commit
from orders.models import EventType, Order, TrackingEvent


def event_record(
    *,
    order: Order,
    event_type: EventType,
    actor: Actor,
    changed_fields: Iterable[str] = (),
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    metadata: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TrackingEvent:
    """Save the order's `changed_fields` and append the next event to its history.

    The caller holds the order's row lock, so sequence numbers have no gap and no
    duplicate. The event reaches subscribers only after the transaction commits.
    """
    at = at or timezone.now()
    order.sequence += 1
    order.updated_at = at
    order.save(update_fields=sorted({*changed_fields, "sequence", "updated_at"}))
    event = TrackingEvent.objects.create(
        order=order,
        sequence=order.sequence,
        event_type=event_type,
        from_status=from_status,
        to_status=to_status or order.status,
        actor_role=actor.role,
        actor_user=actor.user,
        actor_name=actor.display_name,
        reason=reason,
        metadata=metadata or {},
        estimated_delivery_at=order.estimated_delivery_at,
        created_at=at,
    )
    publish_on_commit(event)
    return event
