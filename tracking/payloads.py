"""The one shape of a tracking event as clients receive it (WebSocket, webhooks)."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.utils import timezone

from core.geo import haversine_km, travel_minutes
from core.timestamps import iso
from delivery.selectors import offer_order_preview
from orders.lifecycle import order_is_final
from orders.models import EventType, OrderStatus, RefundStatus, TrackingEvent
from orders.services.transitions import STATUS_EVENTS

# Courier positions travel with the events but are not events: they have no sequence.
LOCATION_UPDATED = "order.location_updated"


def event_payload(event: TrackingEvent) -> dict:
    """The order-process API's event fields plus the customer tracking API's ids and times and the per-order sequence.

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
        "refund_status": _event_refund_status(event),
        "updated_by": event.actor_name,
        "actor_role": event.actor_role,
        "reason": event.reason,
        "metadata": event.metadata,
        "timestamp": iso(event.created_at),
        "occurred_at": iso(event.created_at),
        "estimated_delivery_time": iso(event.estimated_delivery_at),
        "actual_delivery_time": iso(delivered_at),
        # An order for later: the time the customer asked for (delivered, or ready to collect).
        "fulfill_at": iso(order.fulfill_at),
    }


# What an event of an order that is not theirs tells couriers: not who did it, nor why.
_NOT_FOR_OTHER_COURIERS = ("updated_by", "actor_role", "reason", "metadata")


def available_event_payload(payload: dict) -> dict:
    """An event of an order any courier may claim, as couriers who do not have it receive it."""
    return {key: value for key, value in payload.items() if key not in _NOT_FOR_OTHER_COURIERS}


def courier_event_payload(payload: dict) -> dict:
    """An event as a courier's socket shows it: a change the customer made does not name them or
    carry their words (the courier delivering the order reads the customer's name in its detail)."""
    if payload.get("actor_role") != "customer":
        return payload
    return {**payload, "updated_by": "Customer", "reason": "", "metadata": {}}


def payload_is_final(payload: dict) -> bool:
    """order_is_final for a snapshot (status_payload) or the last event sent (event_payload)."""
    status = payload["new_status"] if "new_status" in payload else payload["status"]
    return order_is_final(status=status, refund_status=payload["refund_status"])


def _event_refund_status(event: TrackingEvent) -> str:
    """The refund's state this event leaves the order in, as far as the event itself says.

    Only refund events (and REFUND_COMPLETED) change it, and a refund opened by a transition
    is written after it in the same transaction; sockets decide on the last event they sent,
    so NONE for the other events never ends a stream before a refund's own events.
    """
    if event.event_type == EventType.REFUND_UPDATED:
        return event.metadata.get("refund_status", RefundStatus.NONE)
    if event.to_status == OrderStatus.REFUND_COMPLETED:
        return RefundStatus.COMPLETED
    return RefundStatus.NONE


def location_payload(*, order: Mapping[str, Any], latitude, longitude, recorded_at) -> dict:
    """A courier's position for one order on its way, with the ETA recomputed from it.

    Not a tracking event: no sequence, never replayed.
    """
    eta = None
    distance_km = None
    if order.get("delivery_latitude") is not None and order.get("delivery_longitude") is not None:
        distance_km = haversine_km(latitude, longitude, order["delivery_latitude"], order["delivery_longitude"])
        # A position of unknown age (set by hand, never reported) still gives an ETA from now.
        eta = (recorded_at or timezone.now()) + timedelta(minutes=travel_minutes(distance_km))
    return {
        "event_type": LOCATION_UPDATED,
        "order_id": str(order["id"]),
        "order_number": order["number"],
        "latitude": float(latitude),
        "longitude": float(longitude),
        "recorded_at": iso(recorded_at),
        "distance_km": round(distance_km, 3) if distance_km is not None else None,
        "estimated_delivery_time": iso(eta),
    }


def offer_payload(offer) -> dict:
    """An order offered to one courier (delivery.CourierOffer): they may accept it until it expires.

    `order` is what the courier sees of it before accepting: restaurant, drop-off area, distances, pay."""
    return {
        "offer_id": offer.pk,
        "order_id": str(offer.order_id),
        "order_number": offer.order.number,
        "restaurant_name": offer.order.restaurant.name,
        "state": offer.state,
        "distance_km": float(offer.distance_km),
        "offered_at": iso(offer.offered_at),
        "expires_at": iso(offer.expires_at),
        "order": offer_order_preview(offer),
    }


# ---------------------------------------------------------------- the native sockets' wire
#
# The order-process document's client listens for `order.status_changed` on every status
# change, and reads sub-statuses in lower case. Inside, payloads keep the specific event type
# (webhooks, the hub's DTOs and `payload_is_final` read it) and the models' upper-case values;
# a native socket rewrites a copy of each message just before sending it.

SUB_STATUS_FIELDS = ("payment_status", "delivery_status", "refund_status")
# Lists of order snapshots inside a message (the kitchen's and the courier's boards).
_SNAPSHOT_LISTS = ("orders", "assigned", "available")
_STATUS_CHANGE_TYPES = frozenset({EventType.STATUS_CHANGED, *STATUS_EVENTS.values()})


def _lower_sub_statuses(payload: dict) -> dict:
    return {
        key: value.lower() if key in SUB_STATUS_FIELDS and isinstance(value, str) else value
        for key, value in payload.items()
    }


def native_wire(message: dict) -> dict:
    """A socket message as the order-process document's client reads it.

    A status change is `event_type: "order.status_changed"`; `event_types` lists it with the
    specific type (`order.picked_up`, ...), which other events carry alone. Sub-statuses are
    lower case, in the message and in the snapshots it lists.
    """
    wired = _lower_sub_statuses(message)
    for key in _SNAPSHOT_LISTS:
        if isinstance(wired.get(key), list):
            wired[key] = [_lower_sub_statuses(item) if isinstance(item, dict) else item for item in wired[key]]
    event_type = wired.get("event_type")
    if wired.get("type") == "event" and event_type:
        if event_type in _STATUS_CHANGE_TYPES and wired.get("previous_status"):
            wired["event_type"] = EventType.STATUS_CHANGED.value
            wired["event_types"] = list(dict.fromkeys([EventType.STATUS_CHANGED.value, event_type]))
        else:
            wired["event_types"] = [event_type]
    return wired
