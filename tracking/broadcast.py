"""Fan-out of committed tracking events and courier positions to the channel layer.

`broadcast_events`, `broadcast_courier_offers` and `broadcast_locations` are effects of
committed outbox messages (config/effects.py): the relay (core/outbox.py) calls them after the
transaction commits, and again after a crash (sockets drop a repeated sequence). A channel
layer that is down or slow costs a logged warning and at most
`ORDERFLOW_BROADCAST_TIMEOUT_SECONDS`, never the transition itself; sockets recover the missed
events from the history by sequence number (`?after=N`, or the gap fill in tracking.streams).
"""

import asyncio
import logging
import os
import threading
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from delivery.models import CourierOffer
from orders.models import EventType, Order, TrackingEvent
from orders.selectors import order_preview_for_courier
from orders.visibility import order_is_claimable
from restaurants.hours import kitchen_status_payload
from restaurants.models import Restaurant
from tracking.groups import (
    AVAILABLE_ORDERS_GROUP,
    RESTAURANT_LISTING_GROUP,
    courier_group,
    order_group,
    restaurant_group,
)
from tracking.payloads import available_event_payload, event_payload, location_payload, offer_payload
from tracking.selectors import orders_in_transit_for_courier

logger = logging.getLogger(__name__)

# Group sends in flight at once in one broadcast (redis-py's pool holds 100 connections).
SENDS_AT_ONCE = 50


def event_messages(event: TrackingEvent) -> list[tuple[str, dict]]:
    """The (group, message) pairs that carry one event to everyone who may see it."""
    order: Order = event.order
    payload = event_payload(event)
    # After commit, the order holds the sequence of the last event its transaction wrote.
    to_order = {
        "type": "order.event",
        "event": payload,
        "courier_id": order.courier_id,
        "last_sequence": order.sequence,
    }
    messages: list[tuple[str, dict[str, Any]]] = [
        (order_group(order.pk), to_order),
        (restaurant_group(order.restaurant_id), {"type": "order.event", "event": payload}),
    ]
    if order.courier_id is not None:
        messages.append((courier_group(order.courier_id), {"type": "order.event", "event": payload}))

    courier_before = None if event.event_type == EventType.ASSIGNED else order.courier_id
    was_available = order_is_claimable(
        delivery_type=order.delivery_type, courier_id=courier_before, status=event.from_status
    )
    is_available = order_is_claimable(
        delivery_type=order.delivery_type, courier_id=order.courier_id, status=payload["new_status"]
    )
    if is_available:
        # Every courier socket hears this; each forwards it only to a courier online and within the
        # dispatch radius, with the distance from them (tracking.selectors.courier_available_frame).
        available = {
            "type": "order.available",
            "event": available_event_payload(payload),
            "order": order_preview_for_courier(order=order),
        }
        messages.append((AVAILABLE_ORDERS_GROUP, available))
    elif was_available:
        withdrawn = {
            "type": "order.unavailable",
            "order_id": payload["order_id"],
            "order_number": payload["order_number"],
            "sequence": payload["sequence"],
            "courier_id": order.courier_id,
        }
        messages.append((AVAILABLE_ORDERS_GROUP, withdrawn))
    return messages


# Ids of the events this process broadcast to an in-memory layer, with when (monotonic seconds):
# the committed-event tail (tracking.tail) sends the others.
_sent_here: dict[str, float] = {}
_sent_lock = threading.Lock()


def _note_sent_here(events: list[TrackingEvent]) -> None:
    if isinstance(get_channel_layer(), InMemoryChannelLayer) or settings.ORDERFLOW_EVENT_TAIL == "on":
        now = time.monotonic()
        with _sent_lock:
            for event in events:
                _sent_here[str(event.pk)] = now


def broadcast_here(*, forget_before: float) -> set[str]:
    """The ids of events this process broadcast itself, forgetting those sent before `forget_before`."""
    with _sent_lock:
        for event_id in [event_id for event_id, at in _sent_here.items() if at < forget_before]:
            del _sent_here[event_id]
        return set(_sent_here)


def broadcast_events(events: list[TrackingEvent]) -> None:
    """Committed events in one round trip to the layer (the relay hands over a transaction's
    batch, e.g. a sweep's cancellations). One order's events go out in their order, one round
    after the other; different orders' go out together."""
    _note_sent_here(events)
    rounds: list[list[tuple[str, dict]]] = []
    seen: dict = {}
    for event in events:
        turn = seen[event.order_id] = seen.get(event.order_id, -1) + 1
        if turn == len(rounds):
            rounds.append([])
        rounds[turn].extend(event_messages(event))
    _send(*rounds, what=f"{len(events)} events of {len(seen)} orders")


def broadcast_courier_offers(changes: list[dict]) -> None:
    """Tell couriers about offers made to them (delivery.CourierOffer), or that they closed.

    Each change is `{"offer_id", "state"}`: the state the offer was committed in, whatever it
    is by the time this runs."""
    offers = CourierOffer.objects.select_related("order__restaurant").in_bulk([c["offer_id"] for c in changes])
    messages = []
    for change in changes:
        offer = offers.get(change["offer_id"])
        if offer is not None:
            offer.state = change["state"]
            messages.append((courier_group(offer.courier_id), {"type": "courier.offer", "offer": offer_payload(offer)}))
    if messages:
        _send(messages, what=f"{len(messages)} courier offers")


def broadcast_locations(positions: list[dict]) -> None:
    """Give couriers' positions (`{"courier_id", "latitude", "longitude", "recorded_at"}`), with
    fresh ETAs, to whoever tracks their orders on the road; of a batch, each courier's latest."""
    latest = {position["courier_id"]: position for position in positions}
    couriers = get_user_model().objects.in_bulk(list(latest))
    for courier_id, position in latest.items():
        if courier_id in couriers:
            _broadcast_location(
                courier=couriers[courier_id],
                latitude=Decimal(position["latitude"]),
                longitude=Decimal(position["longitude"]),
                recorded_at=datetime.fromisoformat(position["recorded_at"]),
            )


def broadcast_kitchen_statuses(changes: list[dict]) -> None:
    """Tell each kitchen's board and the restaurants' listing its status (open, paused, busy), as
    it is now: each change is `{"restaurant_id"}` (restaurants.services.KITCHEN_STATUS_TOPIC)."""
    restaurants = Restaurant.objects.in_bulk({change["restaurant_id"] for change in changes})
    now = timezone.now()
    messages = []
    for restaurant in restaurants.values():
        message = {"type": "restaurant.status", "kitchen": kitchen_status_payload(restaurant, at=now)}
        messages += [(restaurant_group(restaurant.pk), message), (RESTAURANT_LISTING_GROUP, message)]
    if messages:
        _send(messages, what=f"{len(restaurants)} kitchen statuses")


def _broadcast_location(*, courier, latitude, longitude, recorded_at: datetime) -> None:
    """Positions are not tracking events: they have no sequence and are never replayed; a
    (re)connecting client gets the latest one in its snapshot. Each socket forwards at most
    one per order every ORDERFLOW_LOCATION_THROTTLE_SECONDS, the latest (tracking.streams).
    """
    messages = [
        (
            order_group(order["id"]),
            {
                "type": "order.location",
                "location": location_payload(
                    order=order, latitude=latitude, longitude=longitude, recorded_at=recorded_at
                ),
            },
        )
        for order in orders_in_transit_for_courier(courier=courier)
    ]
    if messages:
        _send(messages, what=f"courier {courier.pk} position")


_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_loop_lock = threading.Lock()


def _layer_loop() -> asyncio.AbstractEventLoop:
    """This process's event loop for sends to a Redis channel layer, run by a daemon thread.

    The layer keeps its Redis connections per event loop. async_to_sync, called from sync code
    (a WSGI request, a Celery task, the sweep), runs each call in a new loop: every broadcast
    would connect anew. One loop for the life of the process (a forked child makes its own)
    keeps them: a sweep's batch of sends costs less than half.
    """
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="orderflow-layer-sends", daemon=True).start()
            _loop_pid = os.getpid()
        return _loop


def _send(*rounds: list[tuple[str, dict]], what: str) -> None:
    """Send each round's messages at once, the rounds one after the other."""
    layer = get_channel_layer()
    if layer is None:
        return
    timeout = settings.ORDERFLOW_BROADCAST_TIMEOUT_SECONDS

    async def send_all() -> list:
        # Bounded: the layer's connection pool refuses more sends at once than it has connections.
        slots = asyncio.Semaphore(SENDS_AT_ONCE)

        async def send(group: str, message: dict) -> None:
            async with slots:
                await layer.group_send(group, message)

        results = []
        for messages in rounds:
            sends = [send(group, message) for group, message in messages]
            results += await asyncio.wait_for(asyncio.gather(*sends, return_exceptions=True), timeout)
        return results

    messages = [message for messages in rounds for message in messages]
    try:
        if isinstance(layer, InMemoryChannelLayer):
            # Its queues belong to the loop the consumers run on: async_to_sync finds that one.
            results = async_to_sync(send_all)()
        else:
            results = asyncio.run_coroutine_threadsafe(send_all(), _layer_loop()).result(timeout * len(rounds) + 1)
    except Exception as exc:
        logger.warning("broadcast of %s failed: %r; clients recover it by sequence", what, exc)
        return
    failed = [
        (group, result)
        for (group, _), result in zip(messages, results, strict=True)
        if isinstance(result, BaseException)
    ]
    if failed:
        logger.warning(
            "broadcast of %s failed for %s: %r; clients recover it by sequence",
            what,
            ", ".join(group for group, _ in failed),
            failed[0][1],
        )
