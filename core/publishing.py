"""After-commit side effects: the one way anything leaves a transaction.

`after_commit` runs a callback once the current transaction commits (at once outside one);
a failing callback is logged and never undoes the change.

Committed order events reach the apps that listen through `subscribe`: each app registers its
subscribers in code, from its `AppConfig.ready()`, and they are called in registration order
(the order of `INSTALLED_APPS`) with the committed event. A failing subscriber is logged and
never undoes the change or stops the next one: clients recover missed events from the history
by sequence number.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

Subscriber = Callable[[Any], object]

_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Subscriber:
    """Call `subscriber(event)` with every committed event; registering twice is a no-op."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


def subscribers() -> tuple[Subscriber, ...]:
    return tuple(_subscribers)


def publish(event: Any) -> None:
    publish_many([event])


def publish_many(events: list[Any]) -> None:
    """Hand committed events to each subscriber in turn: all at once to a subscriber with a
    `many` attribute (a callable taking the list), one by one to the others (and always, when
    there is only one)."""
    for subscriber in tuple(_subscribers):
        many = getattr(subscriber, "many", None)
        if many is not None and len(events) > 1:
            _call(subscriber, many, events)
        else:
            for event in events:
                _call(subscriber, subscriber, event)


def _call(subscriber: Subscriber, call: Callable[[Any], object], argument: Any) -> None:
    try:
        call(argument)
    except Exception:
        events = argument if isinstance(argument, list) else [argument]
        logger.exception(
            "event subscriber %s failed for %s",
            getattr(subscriber, "__qualname__", subscriber),
            ", ".join(
                f"order {getattr(event, 'order_id', None)} sequence {getattr(event, 'sequence', None)}"
                for event in events
            ),
        )


def after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` after the commit; a rolled-back transaction runs nothing."""
    transaction.on_commit(callback, robust=True)


_collecting = threading.local()


def publish_on_commit(event: Any) -> None:
    after_commit(lambda: _deliver(event))


def _deliver(event: Any) -> None:
    collected = getattr(_collecting, "events", None)
    if collected is None:
        publish(event)
    else:
        collected.append(event)


@contextmanager
def publishing_collected() -> Iterator[None]:
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


def enqueue_after_commit(task_name: str, *args: Any) -> None:
    """Queue the Celery task registered as `task_name` once the transaction commits.

    By name, so that a service can start the task that calls it back without the two modules
    importing each other. With the broker down the change stands (`after_commit` is robust)
    and the periodic task that owns the job picks it up.
    """
    after_commit(lambda: enqueue(task_name, *args))


def enqueue(task_name: str, *args: Any) -> None:
    """Queue the Celery task registered as `task_name` now."""
    registered = current_app.tasks
    if task_name not in registered:
        # Celery discovers the apps' tasks modules when a worker starts; a web process that has
        # not imported this one yet discovers them now (once).
        current_app.loader.import_default_modules()
    registered[task_name].delay(*args)
