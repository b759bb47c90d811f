"""Proving a phone number: a code sent by SMS, typed back by its owner.

A new code replaces the last; sending one counts against the hourly SMS caps like every text
message (`notifications.services.sms_refusal`). The code itself is derived from the
verification row (`notifications.services.phone_code`) and filled in only when the message
is sent, so the outbox never holds it.
"""

import logging
import math
import secrets
from datetime import timedelta
from typing import cast

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, OtpExpired, OtpInvalid, OtpLocked, TooManyRequests
from notifications import metrics
from notifications.models import Channel, NotificationKind, NotificationPreference, PhoneVerification
from notifications.services import PHONE_CODE_PURPOSE, SMS_WINDOW, Address, notify, phone_hotp, sms_refusal

logger = logging.getLogger(__name__)

PHONE_CODE_TEXT = "Your orderflow verification code is {code}. It is valid for {minutes} minutes."


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
        if phone_hotp(verification).verify(str(code), verification.counter):
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
