"""Periodic upkeep of the shared plumbing."""

from celery import shared_task

from core.services import idempotency_purge_expired


@shared_task
def idempotency_purge_expired_task() -> int:
    """Forget Idempotency-Key records older than their validity."""
    return idempotency_purge_expired()
