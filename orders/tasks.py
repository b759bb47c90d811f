"""Periodic work on orders. Tasks take ids and call services; running one twice is harmless."""

import time
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from orders.services.deadlines import orders_sweep_overdue
from orders.services.quotes import orders_quotes_refresh


@shared_task
def orders_sweep_overdue_task(helper: bool = False) -> dict[str, Any]:
    """Carry out every overdue deadline, a batch at a time, within the sweep's time budget.

    A first batch that is full means a backlog: ORDERFLOW_SWEEP_HELPERS more sweeps (`helper`,
    which queue none) are queued to work through it alongside, on other worker processes.
    """
    now = timezone.now()
    batch_size = settings.ORDERFLOW_SWEEP_BATCH_SIZE
    stop_at = time.monotonic() + settings.ORDERFLOW_SWEEP_BUDGET_SECONDS
    found = enforced = 0
    while True:
        report = orders_sweep_overdue(now=now, limit=batch_size)
        if not helper and found == 0 and report.found == batch_size:
            for _ in range(settings.ORDERFLOW_SWEEP_HELPERS):
                orders_sweep_overdue_task.delay(helper=True)
        found += report.found
        enforced += report.enforced
        # A short batch was the last one; a batch with nothing done holds only orders
        # that people are changing right now, which the next sweep sees again.
        if report.found < batch_size or report.enforced == 0 or time.monotonic() > stop_at:
            break
    return {"found": found, "enforced": enforced}


@shared_task
def orders_quotes_refresh_task() -> int:
    """Quote the kitchens' orders again; customers hear only of moves over a minute."""
    return orders_quotes_refresh()
