"""Writes of the shared plumbing: reserving, completing and forgetting Idempotency-Keys."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import IdempotencyInProgress, IdempotencyKeyReused
from core.models import IdempotencyRecord, IdempotencyState


def idempotency_begin(
    *, user: User, key: str, method: str, path: str, body_hash: str, now: datetime | None = None
) -> IdempotencyRecord:
    """Reserve `key` for this request, or return how its first use ended.

    Returns an in-progress record (go ahead, then complete or release it) or a completed
    one (replay it). The reservation is an insert committed on its own, so a concurrent
    duplicate finds it at once: same request still running is a 409, another request
    under the same key a 422. Keys last `ORDERFLOW_IDEMPOTENCY_TTL_SECONDS`; a reservation
    left behind by a crashed worker is taken over after `ORDERFLOW_IDEMPOTENCY_LOCK_SECONDS`.
    """
    now = now or timezone.now()
    ttl = timedelta(seconds=settings.ORDERFLOW_IDEMPOTENCY_TTL_SECONDS)
    abandoned = timedelta(seconds=settings.ORDERFLOW_IDEMPOTENCY_LOCK_SECONDS)
    fingerprint = (method, path, body_hash)
    for _ in range(3):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user=user, key=key, method=method, path=path, body_hash=body_hash, created_at=now
                )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if existing is None:
            continue
        if existing.created_at <= now - ttl:
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if (existing.method, existing.path, existing.body_hash) != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was first used for another request; use a new key for a new request."
            )
        if existing.state == IdempotencyState.COMPLETED:
            return existing
        if existing.created_at <= now - abandoned:
            taken_over = IdempotencyRecord.objects.filter(
                pk=existing.pk, state=IdempotencyState.IN_PROGRESS, created_at=existing.created_at
            ).update(created_at=now)
            if taken_over:
                existing.created_at = now
                return existing
        raise IdempotencyInProgress("The first request with this Idempotency-Key has not finished yet; retry later.")
    raise IdempotencyInProgress("The first request with this Idempotency-Key has not finished yet; retry later.")


def idempotency_complete(*, record: IdempotencyRecord, status: int, body: str) -> None:
    record.state = IdempotencyState.COMPLETED
    record.response_status = status
    record.response_body = body
    record.completed_at = timezone.now()
    record.save(update_fields=["state", "response_status", "response_body", "completed_at"])


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Forget a reservation whose request produced no result worth replaying."""
    IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyState.IN_PROGRESS).delete()


def idempotency_purge_expired(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.ORDERFLOW_IDEMPOTENCY_TTL_SECONDS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted


def idempotency_records_forget(*, user_id: int) -> int:
    """Forget the answers kept for the user's Idempotency-Keys (they may hold personal data)."""
    deleted, _ = IdempotencyRecord.objects.filter(user_id=user_id).delete()
    return deleted
