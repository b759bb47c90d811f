"""After-commit delivery of tracking events to whoever listens.

Subscribers are dotted paths in `ORDERFLOW_EVENT_SUBSCRIBERS`, each called with the
committed `TrackingEvent`. A failing subscriber is logged and never undoes the
change: clients recover missed events from the history by sequence number.
"""

import logging
from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from tracking.models import TrackingEvent

logger = logging.getLogger(__name__)


@cache
def _subscribers(paths: tuple[str, ...]):
    return [import_string(path) for path in paths]


def publish(event: TrackingEvent) -> None:
    for subscriber in _subscribers(tuple(settings.ORDERFLOW_EVENT_SUBSCRIBERS)):
        try:
            subscriber(event)
        except Exception:
            logger.exception(
                "event subscriber %s failed for order %s sequence %s",
                getattr(subscriber, "__qualname__", subscriber),
                event.order_id,
                event.sequence,
            )


def publish_on_commit(event: TrackingEvent) -> None:
    transaction.on_commit(lambda: publish(event))


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
