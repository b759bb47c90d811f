"""Handoff codes: the one-time codes that a pickup and a delivery wait for.

A code is issued (or replaced) inside the transaction that moves an order to the status that
waits for it (`handoff_code_follow_order_change`, an order-change hook in config/effects.py);
whoever reads it out (otp_reveal) and whoever types it in (otp_verify, and otp_check at the
handoff itself, the registry's handoff verifier) are told apart by orders.visibility. A resent
code replaces the old one and leaves through the outbox (HANDOFF_CODE_RESENT_TOPIC).
"""

import base64
import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import pyotp
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.actors import Actor, ActorRole
from core.errors import Conflict, Forbidden, OtpExpired, OtpInvalid, OtpLocked, TooManyRequests
from core.outbox import outbox_write
from delivery.models import HandoffCode
from orders.lifecycle import HANDOFF_WAITING_STATUS, ISSUES_HANDOFF
from orders.models import EventType, HandoffPurpose, Order, OrderStatus, TrackingEvent
from orders.versions import order_version_check
from orders.visibility import is_assigned_courier, may_enter_handoff_code, may_read_handoff_code, order_get_visible

logger = logging.getLogger(__name__)

OTP_DIGITS = 6

# The outbox topic of a code replaced at someone's request, `{"order_id", "purpose", "sends"}`
# (the code itself never leaves); config/effects.py lists what it sets off.
HANDOFF_CODE_RESENT_TOPIC = "handoff_code.resent"


def _ttl(purpose: str) -> timedelta:
    if purpose == HandoffPurpose.PICKUP:
        return timedelta(seconds=settings.ORDERFLOW_PICKUP_OTP_TTL_SECONDS)
    return timedelta(seconds=settings.ORDERFLOW_DELIVERY_OTP_TTL_SECONDS)


def _hotp(handoff: HandoffCode) -> pyotp.HOTP:
    key = hmac.new(
        settings.ORDERFLOW_OTP_SECRET.encode(),
        f"{handoff.order_id}:{handoff.purpose}".encode(),
        hashlib.sha256,
    ).digest()
    return pyotp.HOTP(base64.b32encode(key).decode(), digits=OTP_DIGITS)


def otp_code(handoff: HandoffCode) -> str:
    return _hotp(handoff).at(handoff.counter)


def _fresh_counter() -> int:
    return secrets.randbits(62)


def otp_issue(*, order: Order, purpose: HandoffPurpose, now: datetime) -> HandoffCode:
    """Issue (or replace) the order's code for `purpose`; the caller holds the order lock."""
    handoff, _ = HandoffCode.objects.update_or_create(
        order=order,
        purpose=purpose,
        defaults={
            "counter": _fresh_counter(),
            "expires_at": now + _ttl(purpose),
            "attempts_left": settings.ORDERFLOW_OTP_MAX_ATTEMPTS,
            "verified_at": None,
            "sends": 1,
            "last_sent_at": now,
        },
    )
    logger.info("handoff code issued order=%s purpose=%s expires=%s", order.pk, purpose, handoff.expires_at)
    return handoff


def handoff_code_follow_order_change(*, order: Order, event: TrackingEvent, actor: Actor, now: datetime) -> None:
    """Registered with `orders.hooks`: the code for the handoff that ends the order's new status."""
    # A status as stored (a str) finds its TextChoices key: they hash and compare alike.
    purpose = ISSUES_HANDOFF.get(cast(OrderStatus, event.to_status)) if event.event_type != EventType.PLACED else None
    if purpose is not None:
        otp_issue(order=order, purpose=purpose, now=now)


def _attempt(handoff: HandoffCode, code: str, now: datetime) -> bool:
    """Whether `code` is the handoff's; raises for a code that cannot be tried any more.

    A wrong code uses up one attempt (saved here: the caller commits it even when it then refuses).
    """
    if handoff.verified_at is not None:
        raise OtpInvalid("This code has already been used.")
    if handoff.attempts_left == 0:
        raise OtpLocked()
    if now >= handoff.expires_at:
        raise OtpExpired("The code has expired; ask for a new one.")
    if _hotp(handoff).verify(str(code), handoff.counter):
        return True
    handoff.attempts_left -= 1
    handoff.save(update_fields=["attempts_left"])
    return False


def otp_check(*, order: Order, purpose: HandoffPurpose, code: str, now: datetime) -> None:
    """Accept `code` once, or raise; a wrong code uses up one attempt.

    The caller holds the order lock and must commit the attempt count even when
    this raises, or wrong guesses would cost nothing.
    """
    try:
        handoff = HandoffCode.objects.get(order=order, purpose=purpose)
    except HandoffCode.DoesNotExist:
        raise Conflict("No code has been issued for this handoff yet.", code="otp_not_issued") from None
    if not _attempt(handoff, code, now):
        if handoff.attempts_left == 0:
            raise OtpLocked()
        raise OtpInvalid(
            f"The code is not correct; {handoff.attempts_left} attempts left.", attempts_left=handoff.attempts_left
        )
    handoff.verified_at = now
    handoff.save(update_fields=["verified_at"])


@dataclass(frozen=True)
class OtpVerification:
    verified: bool
    purpose: HandoffPurpose
    attempts_left: int
    expires_at: datetime


def otp_verify(
    *, order_id: Any, purpose: HandoffPurpose, otp: str, actor: Actor, if_match: str | None = None
) -> OtpVerification:
    """Check a handoff code without making the handoff (the order-process document's `otp/verify`).

    Only whoever types the code in may check it (the courier of a delivery order, restaurant staff
    for a self-pickup order), while the order waits for it. A wrong code uses up one attempt, as
    at the handoff itself; a right one stays valid for the pickup or delivery that follows.
    """
    now = timezone.now()
    with transaction.atomic():
        order = order_get_visible(actor=actor, order_id=order_id, for_update=True)
        order_version_check(order=order, if_match=if_match)
        if not may_enter_handoff_code(role=actor.role, purpose=purpose, delivery_type=order.delivery_type):
            raise Forbidden("This code is not entered by you.", code="otp_not_yours")
        if actor.role == ActorRole.COURIER and not is_assigned_courier(actor=actor, order=order):
            raise Forbidden("Only the courier assigned to this order may do this.", code="not_assigned_courier")
        handoff = HandoffCode.objects.filter(order=order, purpose=purpose).first()
        if handoff is None or order.status != HANDOFF_WAITING_STATUS[purpose]:
            raise Conflict("There is no code waiting for this handoff.", code="otp_not_issued")
        verified = _attempt(handoff, otp, now)
    logger.info("handoff code checked order=%s purpose=%s verified=%s", order.pk, purpose, verified)
    return OtpVerification(
        verified=verified, purpose=purpose, attempts_left=handoff.attempts_left, expires_at=handoff.expires_at
    )


def _authorise_reader(*, order: Order, purpose: str, actor: Actor) -> None:
    if not may_read_handoff_code(role=actor.role, purpose=purpose, delivery_type=order.delivery_type):
        raise Forbidden("This code is not shown to you.", code="otp_not_yours")


def otp_reveal(*, order_id, purpose: HandoffPurpose, actor: Actor) -> tuple[str, HandoffCode]:
    """The current code and its record, for whoever is meant to read it."""
    order = order_get_visible(actor=actor, order_id=order_id)
    _authorise_reader(order=order, purpose=purpose, actor=actor)
    handoff = HandoffCode.objects.filter(order=order, purpose=purpose).first()
    if handoff is None or order.status != HANDOFF_WAITING_STATUS[purpose]:
        raise Conflict("There is no code waiting for this handoff.", code="otp_not_issued")
    return otp_code(handoff), handoff


def otp_resend(*, order_id, purpose: HandoffPurpose, actor: Actor, if_match: str | None = None) -> HandoffCode:
    """Replace the code with a new one (the old one stops working) and send it again."""
    now = timezone.now()
    with transaction.atomic():
        order = order_get_visible(actor=actor, order_id=order_id, for_update=True)
        order_version_check(order=order, if_match=if_match)
        # Only the two sides of the handoff: whoever reads the code out, or whoever types it in.
        if not may_enter_handoff_code(role=actor.role, purpose=purpose, delivery_type=order.delivery_type):
            _authorise_reader(order=order, purpose=purpose, actor=actor)
        if actor.role == ActorRole.COURIER and not is_assigned_courier(actor=actor, order=order):
            raise Forbidden("Only the assigned courier may ask for a new code.", code="not_assigned_courier")
        handoff = HandoffCode.objects.filter(order=order, purpose=purpose).first()
        if handoff is None or handoff.verified_at is not None or order.status != HANDOFF_WAITING_STATUS[purpose]:
            raise Conflict("There is no code waiting for this handoff.", code="otp_not_issued")
        if handoff.sends > settings.ORDERFLOW_OTP_MAX_RESENDS:
            raise TooManyRequests("This code cannot be sent again.", code="otp_resend_limit")
        wait = handoff.last_sent_at + timedelta(seconds=settings.ORDERFLOW_OTP_RESEND_COOLDOWN_SECONDS) - now
        if wait > timedelta(0):
            seconds = math.ceil(wait.total_seconds())
            raise TooManyRequests(
                f"Wait {seconds} seconds before asking again.", code="otp_resend_too_soon", retry_after=seconds
            )
        handoff.counter = _fresh_counter()
        handoff.expires_at = now + _ttl(purpose)
        handoff.attempts_left = settings.ORDERFLOW_OTP_MAX_ATTEMPTS
        handoff.sends += 1
        handoff.last_sent_at = now
        handoff.save(update_fields=["counter", "expires_at", "attempts_left", "sends", "last_sent_at"])
        sends = handoff.sends
        outbox_write(
            topic=HANDOFF_CODE_RESENT_TOPIC, payload={"order_id": str(order.pk), "purpose": purpose, "sends": sends}
        )
    logger.info("handoff code resent order=%s purpose=%s sends=%s", order.pk, purpose, handoff.sends)
    return handoff
