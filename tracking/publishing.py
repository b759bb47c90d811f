"""After-commit side effects: the one way anything leaves a transaction.

`after_commit` runs a callback once the current transaction commits (at once outside
one); a failing callback is logged and never undoes the change. Tracking events reach
whoever listens through it.

Subscribers are dotted paths in `ORDERFLOW_EVENT_SUBSCRIBERS`, each called with the
committed `TrackingEvent`. A failing subscriber is logged and never undoes the
change: clients recover missed events from the history by sequence number.
"""

import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager
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
    publish_many([event])


def publish_many(events: list[TrackingEvent]) -> None:
    """Hand committed events to each subscriber in turn: all at once to a subscriber with a
    `many` attribute (a callable taking the list), one by one to the others (and always, when
    there is only one)."""
    for subscriber in _subscribers(tuple(settings.ORDERFLOW_EVENT_SUBSCRIBERS)):
        many = getattr(subscriber, "many", None)
        if many is not None and len(events) > 1:
            _call(subscriber, lambda: many(events), events)
        else:
            for event in events:
                _call(subscriber, lambda event=event: subscriber(event), [event])


def _call(subscriber, call: Callable[[], object], events: list[TrackingEvent]) -> None:
    try:
        call()
    except Exception:
        logger.exception(
            "event subscriber %s failed for %s",
            getattr(subscriber, "__qualname__", subscriber),
            ", ".join(f"order {event.order_id} sequence {event.sequence}" for event in events),
        )


def after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` after the commit; a rolled-back transaction runs nothing."""
    transaction.on_commit(callback, robust=True)


_collecting = threading.local()


def publish_on_commit(event: TrackingEvent) -> None:
    after_commit(lambda: _deliver(event))


def _deliver(event: TrackingEvent) -> None:
    collected = getattr(_collecting, "events", None)
    if collected is None:
        publish(event)
    else:
        collected.append(event)


@contextmanager
def publishing_collected():
    """Inside this block, events committed by the transactions it contains are held back and
    handed to the subscribers together when it ends (a batch of deadline cancellations: one
    broadcast round trip instead of one each). Only committed events are held: an event of a
    rolled-back transaction or savepoint never reaches the list, exactly as with one at a time."""
    if getattr(_collecting, "events", None) is not None:
        yield
        return
    _collecting.events = []
    try:
        yield
    finally:
        events, _collecting.events = _collecting.events, None
        if events:
            publish_many(events)


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
