"""The orders app's own subscriber to committed events: a log line per change."""

import logging

from orders.models import TrackingEvent

logger = logging.getLogger("orders.events")


def log_event(event: TrackingEvent) -> None:
    logger.info(
        "order event %s order=%s sequence=%s %s->%s by=%s",
        event.event_type,
        event.order_id,
        event.sequence,
        event.from_status or "-",
        event.to_status or "-",
        event.actor_role,
    )
