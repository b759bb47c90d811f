"""The orders app's own effect of committed events: a log line per change."""

import logging

from orders.models import TrackingEvent

logger = logging.getLogger("orders.events")


def log_events(events: list[TrackingEvent]) -> None:
    for event in events:
        _log(event)


def _log(event: TrackingEvent) -> None:
    logger.info(
        "order event %s order=%s sequence=%s %s->%s by=%s",
        event.event_type,
        event.order_id,
        event.sequence,
        event.from_status or "-",
        event.to_status or "-",
        event.actor_role,
    )
