"""Every effect of a committed change, in the order it runs: the one way out (core/effects.py).

Above every app, so that it may name all of them; nothing else wires an effect (no signal, no
`on_commit`, no `AppConfig.ready()`): tests/core/test_effects.py lists this registry and scans
the apps for another way. A new effect is one line here, in the place its order calls for.

The order of an order event's effects: the poll's snapshot first (a poll sees a transition no
later than a socket does), then the log line, the sockets, the follow-up work the event starts
(delivery's courier offers), the counters behind /metrics, the webhooks and the notifications.
"""

from core.effects import Effect, Registry, Topic
from delivery.handoff import HANDOFF_CODE_RESENT_TOPIC, handoff_code_follow_order_change, otp_check
from delivery.services import COURIER_LOCATION_TOPIC, COURIER_OFFER_TOPIC
from delivery.subscribers import offer_confirmed_orders
from notifications.subscribers import count_events, notify_codes_resent, notify_order_events
from notifications.webhooks import webhooks_record_events
from orders.services.events import ORDER_EVENT_TOPIC, events_committed
from orders.snapshots import status_snapshot_on_events
from orders.subscribers import log_events
from payments.services import payments_follow_order_change
from restaurants.services import KITCHEN_STATUS_TOPIC
from tracking.broadcast import (
    broadcast_courier_offers,
    broadcast_events,
    broadcast_kitchen_statuses,
    broadcast_locations,
)

REGISTRY = Registry(
    topics=(
        Topic(ORDER_EVENT_TOPIC, load=events_committed),
        Topic(HANDOFF_CODE_RESENT_TOPIC),
        Topic(COURIER_OFFER_TOPIC),
        Topic(KITCHEN_STATUS_TOPIC),
        # A position is superseded by the next within seconds: not worth a row, never replayed.
        Topic(COURIER_LOCATION_TOPIC, durable=False),
    ),
    effects=(
        Effect("orders.status_snapshot", ORDER_EVENT_TOPIC, status_snapshot_on_events),
        Effect("orders.log", ORDER_EVENT_TOPIC, log_events),
        Effect("tracking.broadcast", ORDER_EVENT_TOPIC, broadcast_events),
        Effect("delivery.courier_offers", ORDER_EVENT_TOPIC, offer_confirmed_orders),
        Effect("notifications.counters", ORDER_EVENT_TOPIC, count_events),
        Effect("notifications.webhooks", ORDER_EVENT_TOPIC, webhooks_record_events),
        Effect("notifications.order_messages", ORDER_EVENT_TOPIC, notify_order_events),
        Effect("notifications.handoff_code_resent", HANDOFF_CODE_RESENT_TOPIC, notify_codes_resent),
        Effect("tracking.courier_offer", COURIER_OFFER_TOPIC, broadcast_courier_offers),
        Effect("tracking.courier_location", COURIER_LOCATION_TOPIC, broadcast_locations),
        Effect("tracking.kitchen_status", KITCHEN_STATUS_TOPIC, broadcast_kitchen_statuses),
    ),
    # Inside the order's transaction: the handoff code its new status waits for, then the
    # payment it waits for or the refund it is owed.
    order_change_hooks=(handoff_code_follow_order_change, payments_follow_order_change),
    handoff_verifier=otp_check,
)
