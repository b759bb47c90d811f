"""Periodic work on personal data: thin tasks that call privacy.services."""

from celery import shared_task

from privacy.services import retention_enforce


@shared_task
def retention_enforce_task() -> dict[str, int]:
    """Beat (hourly by default): every retention limit, in batches."""
    return retention_enforce()
