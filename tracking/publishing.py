"""After-commit side effects: the one way anything leaves a transaction.

`after_commit` runs a callback once the current transaction commits (at once outside
one); a failing callback is logged and never undoes the change. Tracking events reach
whoever listens through it.

Subscribers are dotted paths in `ORDERFLOW_EVENT_SUBSCRIBERS`, each called with the
committed `TrackingEvent`. A failing subscriber is logged and never undoes the
change: clients recover missed events from the history by sequence number.
"""

import logging
from collections.abc import Callable
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


def after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` after the commit; a rolled-back transaction runs nothing."""
    transaction.on_commit(callback, robust=True)


def publish_on_commit(event: TrackingEvent) -> None:
    after_commit(lambda: publish(event))


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
