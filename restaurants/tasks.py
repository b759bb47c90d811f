"""Periodic work on the kitchens. Tasks call services; running one twice is harmless."""

from celery import shared_task

from restaurants.services import restaurants_status_expire


@shared_task
def restaurants_status_expire_task() -> int:
    """Clear pauses and busy spells past their end, and tell the boards and the listing."""
    return restaurants_status_expire()
