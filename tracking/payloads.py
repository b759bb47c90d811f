"""The one shape of a tracking event as clients receive it (WebSocket, webhooks)."""

from orders.models import OrderStatus
from tracking.models import TrackingEvent


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def event_payload(event: TrackingEvent) -> dict:
    """Seed 001's event fields plus seed 000's ids and times and the per-order sequence.

    Reads `event.order`, so select it with the event when building many payloads.
    """
    order = event.order
    new_status = event.to_status or order.status
    delivered_at = order.delivered_at if order.delivered_at and order.delivered_at <= event.created_at else None
    return {
        "event_id": str(event.pk),
        "event_type": event.event_type,
        "sequence": event.sequence,
        "order_id": str(event.order_id),
        "order_number": order.number,
        "previous_status": event.from_status or None,
        "new_status": new_status,
        "status_name": OrderStatus(new_status).label if new_status in OrderStatus.values else new_status,
        "updated_by": event.actor_name,
        "actor_role": event.actor_role,
        "reason": event.reason,
        "metadata": event.metadata,
        "timestamp": _iso(event.created_at),
        "occurred_at": _iso(event.created_at),
        "estimated_delivery_time": _iso(event.estimated_delivery_at),
        "actual_delivery_time": _iso(delivered_at),
    }
