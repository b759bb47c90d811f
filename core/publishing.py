"""Queuing work after the commit of the transaction that made it due.

`after_commit` runs a callback once the current transaction commits (at once outside one); a
failing callback is logged and never undoes the change. It is for kicking a job whose row is
its own record (a refund, a notification, a webhook delivery, a courier offer): a periodic task
owns each of those and picks up what a lost kick missed. What a committed change must cause
elsewhere (broadcasts, webhooks, notifications, snapshots, counters) is not wired here: it is an
effect in the registry (core/effects.py), carried out from the outbox (core/outbox.py).
"""

from collections.abc import Callable
from typing import Any

from celery import current_app
from django.db import transaction


def after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` after the commit; a rolled-back transaction runs nothing."""
    transaction.on_commit(callback, robust=True)


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
