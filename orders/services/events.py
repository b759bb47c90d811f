"""The order's history: one immutable event per change, numbered without gaps."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from core.actors import Actor
from core.effects import Payload
from core.outbox import outbox_write
from orders.models import EventType, Order, TrackingEvent

# The outbox topic of a committed order event (config/effects.py lists what it sets off).
ORDER_EVENT_TOPIC = "order.event"


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
    duplicate. The event's outbox message is written in the same transaction: its effects run
    after the commit, and only then.
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
    outbox_write(topic=ORDER_EVENT_TOPIC, payload={"event_id": str(event.pk)})
    return event


def events_committed(payloads: list[Payload]) -> list[TrackingEvent | None]:
    """The events of a batch of `order.event` messages, with their orders (None for one gone)."""
    found = TrackingEvent.objects.select_related("order").in_bulk([payload["event_id"] for payload in payloads])
    by_id = {str(pk): event for pk, event in found.items()}
    return [by_id.get(payload["event_id"]) for payload in payloads]
