"""Refund work. Tasks take ids and call services; running one twice pays nothing twice."""

from celery import shared_task
from django.conf import settings

from payments.services import RefundRetryLater, refund_process, refunds_requeue_stale


@shared_task(
    bind=True,
    autoretry_for=(RefundRetryLater,),
    retry_backoff=settings.ORDERFLOW_REFUND_RETRY_BACKOFF_SECONDS,
    retry_backoff_max=settings.ORDERFLOW_REFUND_RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    # The refund's own attempt count (ORDERFLOW_REFUND_MAX_ATTEMPTS) decides when to give up.
    max_retries=settings.ORDERFLOW_REFUND_MAX_ATTEMPTS,
)
def refund_process_task(self, refund_id: str) -> str:
    return refund_process(refund_id=refund_id).status


@shared_task
def refunds_requeue_stale_task() -> dict:
    stale = refunds_requeue_stale()
    return {"pending": len(stale.pending), "processing": len(stale.processing)}
