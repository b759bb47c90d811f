"""The notifier: messages to customers, restaurant staff and operators, through an outbox.

Each message is a `Notification` row (one recipient, one channel), written by `notify` and
sent after commit by `notification_send_task`; a failure is retried with backoff and
jitter up to ORDERFLOW_NOTIFICATION_MAX_ATTEMPTS, then left FAILED for a person
(`notification_retry`). A handoff code is read from the order's current code at the
moment of sending and never written to the outbox, a log or a metric.
"""

import base64
import hashlib
import hmac
import logging
import math
import random
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

import pyotp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict, NotFound, OtpExpired, OtpInvalid, OtpLocked, TooManyRequests, ValidationFailed
from core.publishing import after_commit
from delivery.handoff import otp_code
from delivery.models import HandoffCode
from notifications import metrics
from notifications.channels import SendFailed, get_channel
from notifications.models import (
    Channel,
    DeliveryState,
    Milestone,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationState,
    PhoneVerification,
    SimulatedSmsMessage,
    WebhookAttempt,
    WebhookDelivery,
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


# ---------------------------------------------------------------- proving a phone number

PHONE_CODE_DIGITS = 6
PHONE_CODE_TEXT = "Your orderflow verification code is {code}. It is valid for {minutes} minutes."


def _phone_hotp(verification: PhoneVerification) -> pyotp.HOTP:
    key = hmac.new(
        settings.ORDERFLOW_OTP_SECRET.encode(),
        f"phone:{verification.user_id}:{verification.phone}".encode(),
        hashlib.sha256,
    ).digest()
    return pyotp.HOTP(base64.b32encode(key).decode(), digits=PHONE_CODE_DIGITS)


def phone_code(verification: PhoneVerification) -> str:
    return _phone_hotp(verification).at(verification.counter)


def phone_verification_send(*, user) -> PhoneVerification:
    """Send a code to the user's phone number (a new code replaces the last); typed back with
    `phone_verification_confirm`, it proves the number is theirs. Counts against the hourly SMS
    caps like every text message: over them, 429 `sms_limit_reached`."""
    now = timezone.now()
    with transaction.atomic():
        preference = NotificationPreference.objects.select_for_update().filter(user=user).first()
        if preference is None or not preference.phone:
            raise Conflict("Set a phone number first.", code="phone_missing")
        if preference.phone_verified:
            raise Conflict("This phone number is already verified.", code="phone_already_verified")
        verification = PhoneVerification.objects.select_for_update().filter(user=user).first()
        same_number = verification is not None and verification.phone == preference.phone
        if same_number and verification is not None:
            wait = verification.last_sent_at + timedelta(seconds=settings.ORDERFLOW_PHONE_CODE_RESEND_SECONDS) - now
            if wait > timedelta(0):
                seconds = math.ceil(wait.total_seconds())
                raise TooManyRequests(
                    f"Wait {seconds} seconds before asking again.", code="phone_code_too_soon", retry_after=seconds
                )
        refusal = sms_refusal(user_id=user.pk, recipient=preference.phone, now=now)
        if refusal is None:
            verification = verification or PhoneVerification(user=user)
            verification.sends = verification.sends + 1 if same_number else 1
            verification.phone = preference.phone
            verification.counter = secrets.randbits(62)
            verification.expires_at = now + timedelta(seconds=settings.ORDERFLOW_PHONE_CODE_TTL_SECONDS)
            verification.attempts_left = settings.ORDERFLOW_PHONE_CODE_MAX_ATTEMPTS
            verification.last_sent_at = now
            verification.verified_at = None
            verification.save()
            notify(
                kind=NotificationKind.PHONE_VERIFICATION,
                address=Address(Channel.SMS, preference.phone),
                subject="Your orderflow verification code",
                body=PHONE_CODE_TEXT.replace("{minutes}", str(settings.ORDERFLOW_PHONE_CODE_TTL_SECONDS // 60 or 1)),
                user=user,
                code_purpose=PHONE_CODE_PURPOSE,
                code_sends=verification.sends,
                dedupe_key=f"phone-code:{user.pk}:{verification.counter}",
            )
    if refusal is not None:
        metrics.metric_add(metrics.SMS_REFUSED, {"reason": refusal})
        raise TooManyRequests(
            "Too many text messages to this number or account in the last hour; try again later.",
            code="sms_limit_reached",
            retry_after=int(SMS_WINDOW.total_seconds()),
        )
    verification = cast(PhoneVerification, verification)  # refusal is None: it was saved above
    logger.info("phone verification code sent user=%s sends=%s", user.pk, verification.sends)
    return verification


def phone_verification_confirm(*, user, code: str) -> NotificationPreference:
    """The code sent to the user's number, typed back: the number is verified. A wrong code uses
    up one attempt (committed even though the call fails)."""
    now = timezone.now()
    failure: Exception | None = None
    with transaction.atomic():
        preference = NotificationPreference.objects.select_for_update().filter(user=user).first()
        verification = PhoneVerification.objects.select_for_update().filter(user=user).first()
        if preference is None or not preference.phone:
            raise Conflict("Set a phone number first.", code="phone_missing")
        if preference.phone_verified:
            return preference
        if verification is None or verification.phone != preference.phone:
            raise Conflict("Ask for a code first.", code="phone_code_not_sent")
        if verification.attempts_left == 0:
            raise OtpLocked("Too many wrong codes; ask for a new one.")
        if now >= verification.expires_at:
            raise OtpExpired("The code has expired; ask for a new one.")
        if _phone_hotp(verification).verify(str(code), verification.counter):
            verification.verified_at = now
            verification.save(update_fields=["verified_at"])
            preference.phone_verified_at = now
            preference.save(update_fields=["phone_verified_at"])
        else:
            verification.attempts_left -= 1
            verification.save(update_fields=["attempts_left"])
            failure = (
                OtpLocked("Too many wrong codes; ask for a new one.")
                if verification.attempts_left == 0
                else OtpInvalid(
                    f"The code is not correct; {verification.attempts_left} attempts left.",
                    attempts_left=verification.attempts_left,
                )
            )
    if failure is not None:
        raise failure
    logger.info("phone number verified user=%s", user.pk)
    return preference


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
