"""Handoff codes (one-time codes for pickup and delivery) and courier state."""

import base64
import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pyotp
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from delivery.models import CourierLocation, CourierProfile, HandoffCode, HandoffPurpose
from orders.actors import Actor
from orders.errors import Conflict, Forbidden, OtpExpired, OtpInvalid, OtpLocked, TooManyRequests, ValidationFailed
from orders.models import ActorRole, DeliveryType, Order, OrderStatus
from orders.selectors import order_get_visible

logger = logging.getLogger(__name__)

OTP_DIGITS = 6

# Who is shown each code (PRODUCT.md): the other side of the handoff types it in.
_READERS: dict[tuple[str, str], frozenset[ActorRole]] = {
    (HandoffPurpose.PICKUP, DeliveryType.DELIVERY): frozenset({ActorRole.RESTAURANT, ActorRole.ADMIN}),
    (HandoffPurpose.PICKUP, DeliveryType.PICKUP): frozenset({ActorRole.CUSTOMER}),
    (HandoffPurpose.DELIVERY, DeliveryType.DELIVERY): frozenset({ActorRole.CUSTOMER}),
}

# The status an order is in while its code is waiting to be entered.
_WAITING_STATUS = {
    HandoffPurpose.PICKUP: OrderStatus.READY_FOR_PICKUP,
    HandoffPurpose.DELIVERY: OrderStatus.OUT_FOR_DELIVERY,
}


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


def otp_check(*, order: Order, purpose: HandoffPurpose, code: str, now: datetime) -> None:
    """Accept `code` once, or raise; a wrong code uses up one attempt.

    The caller holds the order lock and must commit the attempt count even when
    this raises, or wrong guesses would cost nothing.
    """
    try:
        handoff = HandoffCode.objects.get(order=order, purpose=purpose)
    except HandoffCode.DoesNotExist:
        raise Conflict("No code has been issued for this handoff yet.", code="otp_not_issued") from None
    if handoff.verified_at is not None:
        raise OtpInvalid("This code has already been used.")
    if handoff.attempts_left == 0:
        raise OtpLocked()
    if now >= handoff.expires_at:
        raise OtpExpired("The code has expired; ask for a new one.")
    if not _hotp(handoff).verify(str(code), handoff.counter):
        handoff.attempts_left -= 1
        handoff.save(update_fields=["attempts_left"])
        if handoff.attempts_left == 0:
            raise OtpLocked()
        raise OtpInvalid(f"The code is not correct; {handoff.attempts_left} attempts left.",
                         attempts_left=handoff.attempts_left)
    handoff.verified_at = now
    handoff.save(update_fields=["verified_at"])


def _authorise_reader(*, order: Order, purpose: str, actor: Actor) -> None:
    readers = _READERS.get((purpose, order.delivery_type), frozenset())
    if actor.role not in readers:
        raise Forbidden("This code is not shown to you.", code="otp_not_yours")


def otp_reveal(*, order_id, purpose: HandoffPurpose, actor: Actor) -> tuple[str, HandoffCode]:
    """The current code and its record, for whoever is meant to read it."""
    order = order_get_visible(actor=actor, order_id=order_id)
    _authorise_reader(order=order, purpose=purpose, actor=actor)
    handoff = HandoffCode.objects.filter(order=order, purpose=purpose).first()
    if handoff is None or order.status != _WAITING_STATUS[purpose]:
        raise Conflict("There is no code waiting for this handoff.", code="otp_not_issued")
    return otp_code(handoff), handoff


def otp_resend(*, order_id, purpose: HandoffPurpose, actor: Actor) -> HandoffCode:
    """Replace the code with a new one (the old one stops working) and send it again."""
    now = timezone.now()
    with transaction.atomic():
        order = order_get_visible(actor=actor, order_id=order_id, for_update=True)
        if actor.role == ActorRole.COURIER and order.courier_id != actor.user_id:
            raise Forbidden("Only the assigned courier may ask for a new code.", code="not_assigned_courier")
        handoff = HandoffCode.objects.filter(order=order, purpose=purpose).first()
        if handoff is None or handoff.verified_at is not None or order.status != _WAITING_STATUS[purpose]:
            raise Conflict("There is no code waiting for this handoff.", code="otp_not_issued")
        if handoff.sends > settings.ORDERFLOW_OTP_MAX_RESENDS:
            raise TooManyRequests("This code cannot be sent again.", code="otp_resend_limit")
        wait = handoff.last_sent_at + timedelta(seconds=settings.ORDERFLOW_OTP_RESEND_COOLDOWN_SECONDS) - now
        if wait > timedelta(0):
            raise TooManyRequests(
                f"Wait {int(wait.total_seconds()) + 1} seconds before asking again.",
                code="otp_resend_too_soon",
                retry_after=int(wait.total_seconds()) + 1,
            )
        handoff.counter = _fresh_counter()
        handoff.expires_at = now + _ttl(purpose)
        handoff.attempts_left = settings.ORDERFLOW_OTP_MAX_ATTEMPTS
        handoff.sends += 1
        handoff.last_sent_at = now
        handoff.save(update_fields=["counter", "expires_at", "attempts_left", "sends", "last_sent_at"])
    logger.info("handoff code resent order=%s purpose=%s sends=%s", order.pk, purpose, handoff.sends)
    return handoff


def parse_purpose(value: str | None, default: HandoffPurpose = HandoffPurpose.DELIVERY) -> HandoffPurpose:
    if value in (None, ""):
        return default
    try:
        return HandoffPurpose(value)
    except ValueError:
        raise ValidationFailed({"type": [f"Must be one of: {', '.join(HandoffPurpose.values)}."]}) from None


# ---------------------------------------------------------------- courier state

# Orders whose courier is on the way to the restaurant or to the customer: a location
# sample is linked to the one the courier is carrying, else to the one they are heading to.
_CARRYING = (OrderStatus.ORDER_PICKED_UP, OrderStatus.OUT_FOR_DELIVERY)
_HEADING_TO = (OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP)


def _courier_profile(courier, *, for_update: bool = False) -> CourierProfile:
    profiles = CourierProfile.objects.all()
    if for_update:
        profiles = profiles.select_for_update()
    profile = profiles.filter(user_id=courier.pk).first()
    if profile is None:
        raise Forbidden("This user is not a courier.", code="not_a_courier")
    return profile


def courier_set_availability(*, courier, online: bool) -> CourierProfile:
    """Go online (offered orders, may accept them) or offline."""
    if not isinstance(online, bool):
        raise ValidationFailed({"online": ["Must be true or false."]})
    with transaction.atomic():
        profile = _courier_profile(courier, for_update=True)
        profile.is_online = online
        profile.save(update_fields=["is_online"])
    logger.info("courier availability courier=%s online=%s", courier.pk, online)
    return profile


def _coordinate(value, limit: int, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        number = None
    if isinstance(value, bool) or number is None or not number.is_finite() or abs(number) > limit:
        raise ValidationFailed({name: [f"Must be a number between -{limit} and {limit}."]})
    return number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def courier_record_location(*, courier, latitude, longitude, now: datetime | None = None) -> CourierLocation:
    """Keep the courier's latest position on their profile and add a sample to their track."""
    lat = _coordinate(latitude, 90, "latitude")
    lon = _coordinate(longitude, 180, "longitude")
    now = now or timezone.now()
    with transaction.atomic():
        profile = _courier_profile(courier, for_update=True)
        assigned = Order.objects.filter(courier_id=courier.pk)
        order_id = (
            assigned.filter(status__in=_CARRYING).order_by("-picked_up_at").values_list("pk", flat=True).first()
            or assigned.filter(status__in=_HEADING_TO).order_by("placed_at").values_list("pk", flat=True).first()
        )
        profile.latitude, profile.longitude, profile.location_updated_at = lat, lon, now
        profile.save(update_fields=["latitude", "longitude", "location_updated_at"])
        sample = CourierLocation.objects.create(courier=profile, order_id=order_id, latitude=lat, longitude=lon)
    return sample
