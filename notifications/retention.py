"""Retention and erasure of what the notifier and the webhooks keep.

Retention runs on a schedule (privacy.services): codes in sent text messages are masked,
old notifications and webhook logs deleted in bounded batches. Erasure removes one user's
preferences and messages, and the customer's words from the event copies of webhook deliveries.
"""

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications.models import (
    DeliveryState,
    Notification,
    NotificationPreference,
    NotificationState,
    PhoneVerification,
    SimulatedSmsMessage,
    WebhookAttempt,
    WebhookDelivery,
)

# ---------------------------------------------------------------- retention

_CODE_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")
# The same, as the database's regular expressions read it.
_CODE_IN_TEXT_SQL = r"(^|[^0-9])[0-9]{6}([^0-9]|$)"
CODE_MASK = "••••••"


def sent_codes_redact(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Retention: mask the codes in text messages sent more than ORDERFLOW_RETENTION_SENT_CODES_MINUTES
    ago (the SMS provider's books keep what was sent; the outbox never holds a code). Returns
    how many messages were masked."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.ORDERFLOW_RETENTION_SENT_CODES_MINUTES)
    with transaction.atomic():
        messages = list(
            SimulatedSmsMessage.objects.select_for_update(skip_locked=True)
            .filter(created_at__lte=cutoff, text__regex=_CODE_IN_TEXT_SQL)
            .only("pk", "text")[:limit]
        )
        for message in messages:
            message.text = _CODE_IN_TEXT.sub(CODE_MASK, message.text)
        SimulatedSmsMessage.objects.bulk_update(messages, ["text"])
    return len(messages)


def notifications_purge(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Retention: delete finished notifications (and the SMS provider's books) older than
    ORDERFLOW_RETENTION_NOTIFICATIONS_DAYS, a batch of at most `limit` each."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ORDERFLOW_RETENTION_NOTIFICATIONS_DAYS)
    old = Notification.objects.filter(created_at__lt=cutoff).exclude(state=NotificationState.PENDING)
    deleted, _ = Notification.objects.filter(pk__in=list(old.values_list("pk", flat=True)[:limit])).delete()
    books = SimulatedSmsMessage.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:limit]
    deleted_books, _ = SimulatedSmsMessage.objects.filter(pk__in=list(books)).delete()
    return deleted + deleted_books


def webhook_logs_purge(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Retention: delete finished webhook deliveries (with their attempt logs) and attempt logs
    older than ORDERFLOW_RETENTION_WEBHOOK_LOGS_DAYS, a batch of at most `limit` each."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ORDERFLOW_RETENTION_WEBHOOK_LOGS_DAYS)
    attempts = WebhookAttempt.objects.filter(attempted_at__lt=cutoff).values_list("pk", flat=True)[:limit]
    deleted_attempts, _ = WebhookAttempt.objects.filter(pk__in=list(attempts)).delete()
    deliveries = (
        WebhookDelivery.objects.filter(created_at__lt=cutoff)
        .exclude(state=DeliveryState.PENDING)
        .values_list("pk", flat=True)[:limit]
    )
    deleted_deliveries, _ = WebhookDelivery.objects.filter(pk__in=list(deliveries)).delete()
    return deleted_attempts + deleted_deliveries


# ---------------------------------------------------------------- erasure

ERASED_NAME = "Erased customer"
_FREE_TEXT_METADATA = ("delivery_notes", "notes", "reason", "comment")


def user_notifications_erase(*, user) -> int:
    """Erasure: the user's preferences, phone verification, the messages addressed to them
    (outbox and the SMS provider's books). Returns how many messages were deleted."""
    preference = NotificationPreference.objects.filter(user=user).first()
    recipients = {value for value in (user.email, preference.phone if preference else "") if value}
    deleted, _ = Notification.objects.filter(Q(user=user) | Q(recipient__in=recipients)).delete()
    if preference is not None and preference.phone:
        deleted += SimulatedSmsMessage.objects.filter(to=preference.phone).delete()[0]
    PhoneVerification.objects.filter(user=user).delete()
    NotificationPreference.objects.filter(user=user).delete()
    return deleted


def webhook_payloads_anonymise(*, order_ids: list) -> int:
    """Erasure: the customer's name and words in the event copies kept for webhook deliveries."""
    changed = 0
    for delivery in WebhookDelivery.objects.filter(order_id__in=order_ids).only("pk", "payload"):
        payload = dict(delivery.payload) if isinstance(delivery.payload, dict) else {}
        if payload.get("actor_role") == "customer":
            payload.update(updated_by=ERASED_NAME, reason="")
        if isinstance(payload.get("metadata"), dict):
            payload["metadata"] = {k: v for k, v in payload["metadata"].items() if k not in _FREE_TEXT_METADATA}
        if payload != delivery.payload:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(payload=payload)
            changed += 1
    return changed
