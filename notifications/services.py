"""The notifier: messages to customers, restaurant staff and operators, through an outbox.

Each message is a `Notification` row (one recipient, one channel), written by `notify` and
sent after commit by `notification_send_task`; a failure is retried with backoff and
jitter up to ORDERFLOW_NOTIFICATION_MAX_ATTEMPTS, then left FAILED for a person
(`notification_retry`). A handoff code is read from the order's current code at the
moment of sending and never written to the outbox, a log or a metric.

Proving a phone number is `notifications.phone_verification`; retention and erasure of
messages and webhook logs are `notifications.retention`.
"""

import base64
import hashlib
import hmac
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

import pyotp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict, NotFound, ValidationFailed
from core.publishing import after_commit
from delivery.handoff import otp_code
from delivery.models import HandoffCode
from notifications import metrics
from notifications.channels import SendFailed, get_channel
from notifications.models import (
    Channel,
    Milestone,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationState,
    PhoneVerification,
)
from orders.models import Order

logger = logging.getLogger(__name__)

# `Notification.code_purpose` of a phone number's verification code (handoff codes use HandoffPurpose).
PHONE_CODE_PURPOSE = "phone"


@dataclass(frozen=True)
class Address:
    channel: str
    recipient: str


_UNREAD = object()


def user_addresses(user, preference: Any = _UNREAD) -> list[Address]:
    """Where `user` wants to be told: email unless switched off, SMS when switched on with a
    verified phone (a number nobody proved to hold gets nothing).

    `preference` is the user's NotificationPreference (or None) when the caller read it already."""
    if preference is _UNREAD:
        preference = NotificationPreference.objects.filter(user=user).first()
    email_enabled = preference.email_enabled if preference else True
    addresses = []
    if email_enabled and user.email:
        addresses.append(Address(Channel.EMAIL, user.email))
    if preference and preference.sms_enabled and preference.phone_verified:
        addresses.append(Address(Channel.SMS, preference.phone))
    return addresses


def preference_wants_milestone(preference: NotificationPreference | None, milestone: str) -> bool:
    return preference is None or milestone in (preference.milestones or [])


def _enqueue(notification_id: int) -> None:
    from notifications.tasks import notification_send_task

    after_commit(lambda: notification_send_task.delay(notification_id))


def notify(
    *,
    kind: str,
    address: Address,
    subject: str,
    body: str,
    dedupe_key: str,
    user=None,
    order: Order | None = None,
    code_purpose: str = "",
    code_sends: int | None = None,
) -> Notification | None:
    """Put one message in the outbox (once per `dedupe_key`) and send it after commit.

    A text message over the hourly caps (`sms_refusal`) is not written: None, and counted."""
    with transaction.atomic():
        if address.channel == Channel.SMS and not Notification.objects.filter(dedupe_key=dedupe_key[:200]).exists():
            refusal = sms_refusal(user_id=getattr(user, "pk", None), recipient=address.recipient)
            if refusal is not None:
                after_commit(lambda: metrics.metric_add(metrics.SMS_REFUSED, {"reason": refusal}))
                logger.info("sms not sent (%s) kind=%s order=%s", refusal, kind, getattr(order, "pk", None))
                return None
        notification, created = Notification.objects.get_or_create(
            dedupe_key=dedupe_key[:200],
            defaults={
                "kind": kind,
                "channel": address.channel,
                "recipient": address.recipient,
                "user": user,
                "order": order,
                "subject": subject,
                "body": body,
                "code_purpose": code_purpose,
                "code_sends": code_sends,
                "next_attempt_at": timezone.now(),
            },
        )
        if created:
            _enqueue(notification.pk)
    return notification


def notify_user(
    *, user, kind: str, subject: str, body: str, dedupe_key: str, preference: Any = _UNREAD, **kwargs: Any
) -> list[Notification]:
    notifications = [
        notify(
            kind=kind,
            address=address,
            subject=subject,
            body=body,
            user=user,
            dedupe_key=f"{dedupe_key}:{user.pk}:{address.channel}",
            **kwargs,
        )
        for address in user_addresses(user, preference)
    ]
    return [notification for notification in notifications if notification is not None]


SMS_WINDOW = timedelta(hours=1)


def sms_refusal(*, user_id, recipient: str, now: datetime | None = None) -> str | None:
    """Why one more text message may not go out now (`per_user` or `per_number`), or None.

    Counts what was queued in the last hour (ORDERFLOW_SMS_PER_USER_PER_HOUR,
    ORDERFLOW_SMS_PER_NUMBER_PER_HOUR). The caller's transaction holds a lock on the number
    until it commits, so that messages queued at once are counted one after the other.
    """
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"orderflow-sms:{recipient}"])
    recent = Notification.objects.filter(channel=Channel.SMS, created_at__gt=now - SMS_WINDOW)
    if recent.filter(recipient=recipient).count() >= settings.ORDERFLOW_SMS_PER_NUMBER_PER_HOUR:
        return "per_number"
    if user_id is not None and recent.filter(user_id=user_id).count() >= settings.ORDERFLOW_SMS_PER_USER_PER_HOUR:
        return "per_user"
    return None


def operator_addresses() -> list[Address]:
    emails = settings.ORDERFLOW_OPERATOR_EMAILS or list(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
    )
    return [Address(Channel.EMAIL, email) for email in emails]


def notify_operators(*, subject: str, body: str, dedupe_key: str) -> list[Notification | None]:
    addresses = operator_addresses()
    if not addresses:
        logger.warning("no operator to tell: %s (set ORDERFLOW_OPERATOR_EMAILS)", subject)
    return [
        notify(
            kind=NotificationKind.OPERATOR,
            address=address,
            subject=subject,
            body=body,
            dedupe_key=f"{dedupe_key}:{address.recipient}",
        )
        for address in addresses
    ]


def _backoff_seconds(attempts: int) -> float:
    ceiling = min(
        settings.ORDERFLOW_NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS,
        settings.ORDERFLOW_NOTIFICATION_RETRY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0),
    )
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 -- retry jitter, not a secret


def _render(notification: Notification, now: datetime) -> str | None:
    """The text to send, the current code filled in; None when that code was replaced or used."""
    if not notification.code_purpose:
        return notification.body
    if notification.code_purpose == PHONE_CODE_PURPOSE:
        verification = PhoneVerification.objects.filter(user_id=cast(int, notification.user_id)).first()
        if (
            verification is None
            or verification.verified_at is not None
            or verification.sends != notification.code_sends
            or verification.phone != notification.recipient
            or now >= verification.expires_at
        ):
            return None
        return notification.body.replace(Notification.CODE_PLACEHOLDER, phone_code(verification))
    handoff = HandoffCode.objects.filter(
        order_id=cast(UUID, notification.order_id), purpose=notification.code_purpose
    ).first()
    if (
        handoff is None
        or handoff.verified_at is not None
        or handoff.sends != notification.code_sends
        or now >= handoff.expires_at
    ):
        return None
    return notification.body.replace(Notification.CODE_PLACEHOLDER, otp_code(handoff))


def notification_send(*, notification_id: Any, now: datetime | None = None) -> Notification | None:
    """Send one outbox message if it is due; safe to call any number of times.

    The message is leased in a short transaction, sent outside any transaction (a slow mail
    server holds no database lock) and the outcome recorded in another. A worker that dies
    mid-send leaves the lease to run out (ORDERFLOW_NOTIFICATION_LEASE_SECONDS); the message
    is then sent again with the same idempotency key.
    """
    now = now or timezone.now()
    with transaction.atomic():
        try:
            notification = Notification.objects.select_for_update(nowait=True).filter(pk=notification_id).first()
        except DatabaseError:
            return None  # another worker is taking it
        if notification is None or notification.state != NotificationState.PENDING:
            return notification
        if notification.next_attempt_at > now or (notification.leased_until and notification.leased_until > now):
            return notification
        notification.leased_until = now + timedelta(seconds=settings.ORDERFLOW_NOTIFICATION_LEASE_SECONDS)
        notification.save(update_fields=["leased_until"])
    text = _render(notification, now)
    reference, error = "", None
    if text is not None:
        try:
            reference = get_channel(notification.channel).send(
                to=notification.recipient,
                subject=notification.subject,
                text=text,
                idempotency_key=f"orderflow-notification-{notification.pk}",
            )[:100]
        except SendFailed as exc:
            error = exc
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification.pk)
        notification.leased_until = None
        notification.attempts += 1
        if text is None:
            notification.state = NotificationState.SUPERSEDED
            outcome = "superseded"
        elif error is None:
            notification.provider_reference = reference
            notification.state = NotificationState.SENT
            notification.sent_at = now
            notification.last_error = ""
            outcome = "sent"
        else:
            notification.last_error = str(error)[:300]
            outcome = "failed"
            if not error.transient or notification.attempts >= settings.ORDERFLOW_NOTIFICATION_MAX_ATTEMPTS:
                notification.state = NotificationState.FAILED
                logger.warning(
                    "notification %s (%s by %s) failed: %s",
                    notification.pk,
                    notification.kind,
                    notification.channel,
                    notification.last_error,
                )
            else:
                notification.next_attempt_at = now + timedelta(seconds=_backoff_seconds(notification.attempts))
        notification.save(
            update_fields=[
                "leased_until",
                "attempts",
                "state",
                "provider_reference",
                "sent_at",
                "last_error",
                "next_attempt_at",
            ]
        )
        metrics.metric_add(metrics.NOTIFICATIONS_SENT, {"channel": notification.channel, "outcome": outcome})
    logger.info(
        "notification %s kind=%s channel=%s order=%s %s",
        notification.pk,
        notification.kind,
        notification.channel,
        notification.order_id,
        outcome,
    )
    if notification.state == NotificationState.PENDING:
        from notifications.tasks import notification_send_task

        try:
            notification_send_task.apply_async(
                (notification.pk,), countdown=(notification.next_attempt_at - now).total_seconds()
            )
        except Exception:
            logger.warning("notification %s retry could not be queued; beat will", notification.pk, exc_info=True)
    return notification


def notification_retry(*, notification_id: Any, actor: Actor) -> Notification:
    """A person sends a FAILED message round again."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None:
            raise NotFound("No such notification.", code="notification_not_found")
        if notification.state != NotificationState.FAILED:
            raise Conflict(
                f"The notification is {notification.state}; only a failed one can be retried.",
                code="notification_not_failed",
            )
        notification.state = NotificationState.PENDING
        notification.attempts = 0
        notification.next_attempt_at = timezone.now()
        notification.save(update_fields=["state", "attempts", "next_attempt_at"])
        _enqueue(notification.pk)
    logger.info("notification %s retried by %s", notification.pk, actor.display_name)
    return notification


def notifications_dispatch_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Beat: queue pending messages that are due (retries, and tasks lost with a broker)."""
    from notifications.tasks import notification_send_task

    now = now or timezone.now()
    due = list(
        Notification.objects.filter(state=NotificationState.PENDING, next_attempt_at__lte=now)
        .exclude(leased_until__gt=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for notification_id in due:
        try:
            notification_send_task.delay(notification_id)
        except Exception:
            logger.warning("notification %s could not be queued", notification_id, exc_info=True)
    return len(due)


def notification_preference_update(*, user, changes: dict[str, Any]) -> NotificationPreference:
    """Change how `user` wants to be told; SMS needs a phone number, and goes to it only once
    it is verified (`phone_verification_send`, `phone_verification_confirm`). A new number is
    not verified."""
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
        if "phone" in changes and changes["phone"] != preference.phone:
            preference.phone_verified_at = None
        for field_name in ("email_enabled", "sms_enabled", "phone"):
            if field_name in changes:
                setattr(preference, field_name, changes[field_name])
        if "milestones" in changes:
            preference.milestones = [m for m in Milestone.values if m in set(changes["milestones"])]
        if preference.sms_enabled and not preference.phone:
            raise ValidationFailed({"phone": ["A phone number is needed to receive SMS."]})
        preference.save()
    return preference


# ---------------------------------------------------------------- a phone number's current code

PHONE_CODE_DIGITS = 6


def phone_hotp(verification: PhoneVerification) -> pyotp.HOTP:
    key = hmac.new(
        settings.ORDERFLOW_OTP_SECRET.encode(),
        f"phone:{verification.user_id}:{verification.phone}".encode(),
        hashlib.sha256,
    ).digest()
    return pyotp.HOTP(base64.b32encode(key).decode(), digits=PHONE_CODE_DIGITS)


def phone_code(verification: PhoneVerification) -> str:
    return phone_hotp(verification).at(verification.counter)
