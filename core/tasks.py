"""Periodic upkeep of the shared plumbing."""

from celery import shared_task

from core.outbox import outbox_purge_relayed, outbox_relay_due
from core.services import idempotency_purge_expired


@shared_task
def idempotency_purge_expired_task() -> int:
    """Forget Idempotency-Key records older than their validity."""
    return idempotency_purge_expired()


@shared_task
def outbox_relay_due_task() -> int:
    """Relay the outbox messages no process relayed after their commit, and effects due again."""
    return outbox_relay_due()


@shared_task
def outbox_purge_relayed_task() -> int:
    """Forget outbox messages relayed long ago."""
    return outbox_purge_relayed()
