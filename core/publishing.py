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
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

Subscriber = Callable[[Any], None]

_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Subscriber:
    """Call `subscriber(event)` with every committed event; registering twice is a no-op."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


def subscribers() -> tuple[Subscriber, ...]:
    return tuple(_subscribers)


def publish(event: Any) -> None:
    for subscriber in tuple(_subscribers):
        try:
            subscriber(event)
        except Exception:
            logger.exception(
                "event subscriber %s failed for order %s sequence %s",
                getattr(subscriber, "__qualname__", subscriber),
                getattr(event, "order_id", None),
                getattr(event, "sequence", None),
            )


def after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` after the commit; a rolled-back transaction runs nothing."""
    transaction.on_commit(callback, robust=True)


def publish_on_commit(event: Any) -> None:
    after_commit(lambda: publish(event))


def enqueue_after_commit(task_name: str, *args: Any) -> None:
    """Queue the Celery task registered as `task_name` once the transaction commits.

    By name, so that a service can start the task that calls it back without the two modules
    importing each other. With the broker down the change stands (`after_commit` is robust)
    and the periodic task that owns the job picks it up.
    """
    after_commit(lambda: enqueue(task_name, *args))


def enqueue(task_name: str, *args: Any) -> None:
    """Queue the Celery task registered as `task_name` now."""
    current_app.tasks[task_name].delay(*args)
