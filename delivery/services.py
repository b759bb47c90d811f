"""Couriers: assignment (a claim, or the system giving an order), courier offers, a courier's
availability and position, delivery disputes and the retention of courier tracks.

Handoff codes, the one-time codes of a pickup and a delivery, are in delivery/handoff.py."""

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from math import cos, radians
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.actors import Actor, ActorRole
from core.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    OrderNotFound,
    ValidationFailed,
)
from core.geo import haversine_km, parse_coordinate
from core.outbox import outbox_write
from core.parsers import parse_uuid
from core.publishing import enqueue_after_commit
from delivery.models import (
    CourierLocation,
    CourierOffer,
    CourierProfile,
    DeliveryDispute,
    OfferState,
)
from orders.lifecycle import (
    ACTIVE_STATUSES,
    ASSIGNABLE_STATUSES,
    CARRYING_STATUSES,
)
from orders.models import DeliveryStatus, DeliveryType, EventType, Order, TrackingEvent
from orders.selectors import courier_within_reach
from orders.services.events import event_record
from orders.versions import order_version_check
from orders.visibility import (
    order_get_visible,
    order_is_claimable,
    orders_assigned_to,
    orders_available_to_couriers,
)

logger = logging.getLogger(__name__)

COURIER_OFFER_TASK = "delivery.tasks.courier_offer_task"

# Outbox topics delivery writes here (config/effects.py lists what each sets off): an offer made
# or closed, `{"offer_id", "state"}`; a courier's position, `{"courier_id", "latitude",
# "longitude", "recorded_at"}`. A resent handoff code has its own (delivery/handoff.py).
COURIER_OFFER_TOPIC = "courier_offer.changed"
COURIER_LOCATION_TOPIC = "courier.location"


# ---------------------------------------------------------------- courier assignment


def _lock_for_assignment(*, actor: Actor, order_id: Any, asked_at: datetime) -> Order:
    """Lock the order before deciding whether the courier may claim it.

    A courier sees only orders offered to couriers (claimable), so one that was not claimable
    when the courier asked is missing to them, exactly like an id that does not exist: taken by
    another courier or not, it reveals nothing. One that was still claimable when they asked
    (claimable now, or given to another courier since `asked_at`) lost a race once it is taken,
    which is `already_assigned` (a 409).
    """
    if actor.role != ActorRole.COURIER:
        return order_get_visible(actor=actor, order_id=order_id, for_update=True)
    order_uuid = parse_uuid(order_id)
    if order_uuid is None:
        raise OrderNotFound("No order with this id is visible to you.")
    seen: Mapping[str, Any] | None = (
        Order.objects.filter(pk=order_uuid).values("delivery_type", "courier_id", "status").first()
    )
    yours = seen is not None and seen["courier_id"] == actor.user_id
    claimable_when_asked = seen is not None and (
        order_is_claimable(**seen)
        or (
            order_is_claimable(**{**seen, "courier_id": None})
            and TrackingEvent.objects.filter(
                order_id=order_uuid, event_type=EventType.ASSIGNED, created_at__gte=asked_at
            ).exists()
        )
    )
    if not (claimable_when_asked or yours):
        raise OrderNotFound("No order with this id is visible to you.")
    order = Order.objects.select_for_update(of=("self",)).filter(pk=order_uuid).first()
    if order is None:
        raise OrderNotFound("No order with this id is visible to you.")
    return order


def _check_courier_may_take(*, order: Order, courier: User, actor: Actor) -> None:
    """A courier claims only orders within the dispatch radius of their last position, and nobody
    gives a courier more than ORDERFLOW_COURIER_MAX_ACTIVE_ORDERS at once. The courier's profile
    is locked (after the order, as everywhere) so that two claims at once cannot both pass."""
    profile = CourierProfile.objects.select_for_update().get(user=courier)
    if actor.role == ActorRole.COURIER:
        position = (profile.latitude, profile.longitude)
        if profile.latitude is None or profile.longitude is None:
            raise Conflict("Report your position before claiming an order.", code="courier_position_unknown")
        if not courier_within_reach(order=order, position=position):
            radius = settings.ORDERFLOW_COURIER_CLAIM_RADIUS_KM
            raise Conflict(
                f"This order's restaurant is further than {radius:g} km from your last position.",
                code="courier_too_far",
                radius_km=radius,
            )
    limit = settings.ORDERFLOW_COURIER_MAX_ACTIVE_ORDERS
    active = (
        orders_assigned_to(courier_id=courier.pk).filter(status__in=(*ASSIGNABLE_STATUSES, *CARRYING_STATUSES)).count()
    )
    if active >= limit:
        raise Conflict(
            f"A courier has at most {limit} active orders at once; deliver one first.",
            code="courier_at_capacity",
            active_orders=active,
            limit=limit,
        )


def order_assign_courier(
    *,
    order_id: Any,
    courier: User,
    actor: Actor,
    asked_at: datetime | None = None,
    if_match: str | None = None,
) -> Order:
    """Give a delivery order to a courier: a courier claiming it, or the system offering it.

    `asked_at`, when the courier's request came in, tells a lost race from a probe (above)."""
    asked_at = asked_at or timezone.now()
    if actor.role not in (ActorRole.COURIER, ActorRole.SYSTEM, ActorRole.ADMIN):
        raise Forbidden("Only couriers and the system assign couriers.", code="assignment_forbidden")
    if actor.role == ActorRole.COURIER and actor.user_id != courier.pk:
        raise Forbidden("A courier may only claim orders for themselves.", code="assignment_forbidden")
    profile = CourierProfile.objects.filter(user=courier).first()
    if profile is None:
        raise Forbidden("This user is not a courier.", code="not_a_courier")
    if actor.role == ActorRole.COURIER and not profile.is_online:
        raise Conflict("Go online to accept orders.", code="courier_offline")
    with transaction.atomic():
        order = _lock_for_assignment(actor=actor, order_id=order_id, asked_at=asked_at)
        order_version_check(order=order, if_match=if_match)
        if order.delivery_type != DeliveryType.DELIVERY:
            raise Conflict("Pickup orders have no courier.", code="not_a_delivery_order")
        if order.courier_id is not None:
            whose = "You already have" if order.courier_id == courier.pk else "Another courier already has"
            raise Conflict(f"{whose} this order.", code="already_assigned")
        if order.status not in ASSIGNABLE_STATUSES:
            raise InvalidTransition(
                f"An order that is {order.status} cannot be given to a courier.", current_status=order.status
            )
        _check_courier_may_take(order=order, courier=courier, actor=actor)
        order.courier = courier
        order.delivery_status = DeliveryStatus.ASSIGNED
        event_record(
            order=order,
            event_type=EventType.ASSIGNED,
            actor=actor,
            changed_fields=["courier", "delivery_status"],
            from_status=order.status,
            metadata={"courier_id": courier.pk, "courier_name": Actor.courier(courier).display_name},
        )
    return order


# ---------------------------------------------------------------- courier offers
#
# When a restaurant confirms a delivery order, the order is offered to the nearest online
# courier who has no active delivery and no other offer open, and who has not been offered
# this order before. If they do not accept in ORDERFLOW_COURIER_OFFER_SECONDS, it goes to the
# next one. Meanwhile the order stays in the available list, where any courier may claim it;
# once a courier has it, the open offer is withdrawn.


def _offer_close(offer: CourierOffer, state: OfferState, now: datetime) -> None:
    offer.state = state
    offer.closed_at = now
    offer.save(update_fields=["state", "closed_at"])
    _offer_announce(offer)


def _offer_announce(offer: CourierOffer) -> None:
    outbox_write(topic=COURIER_OFFER_TOPIC, payload={"offer_id": offer.pk, "state": offer.state})


def order_wants_courier(order: Order) -> bool:
    return order_is_claimable(delivery_type=order.delivery_type, courier_id=order.courier_id, status=order.status)


def nearest_free_courier(order: Order) -> tuple[CourierProfile, float] | None:
    restaurant = order.restaurant
    radius = settings.ORDERFLOW_COURIER_OFFER_RADIUS_KM
    lat, lon = float(restaurant.latitude), float(restaurant.longitude)
    lat_span = radius / 111.0
    lon_span = radius / max(111.32 * cos(radians(lat)), 0.01)
    busy = Order.objects.filter(courier__isnull=False, status__in=ACTIVE_STATUSES).values("courier_id")
    asked = CourierOffer.objects.filter(order=order).values("courier_id")
    considering = CourierOffer.objects.filter(state=OfferState.PENDING).values("courier_id")
    candidates = (
        CourierProfile.objects.filter(
            is_online=True,
            latitude__range=(Decimal(str(lat - lat_span)), Decimal(str(lat + lat_span))),
            longitude__range=(Decimal(str(lon - lon_span)), Decimal(str(lon + lon_span))),
        )
        .exclude(user_id__in=busy)
        .exclude(user_id__in=asked)
        .exclude(user_id__in=considering)
        .only("user_id", "latitude", "longitude")
    )
    ranked = sorted(
        # latitude__range leaves out couriers without a position.
        (
            (haversine_km(lat, lon, cast(Decimal, c.latitude), cast(Decimal, c.longitude)), c.user_id, c)
            for c in candidates
        ),
        key=lambda row: row[:2],
    )
    if not ranked or ranked[0][0] > radius:
        return None
    distance, _, courier = ranked[0]
    return courier, distance


def courier_offer_next(*, order_id: Any, now: datetime | None = None) -> CourierOffer | None:
    """Keep one live offer on an order that needs a courier; safe to call at any time.

    Returns the order's pending offer (the existing one while it lasts, else a new one to
    the next courier), or None when the order needs no courier or nobody is left to ask.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("restaurant").filter(pk=order_id).first()
        if order is None:
            return None
        pending = order.courier_offers.select_for_update().filter(state=OfferState.PENDING).first()
        wants_courier = order_wants_courier(order)
        if pending is not None:
            if wants_courier and pending.expires_at > now:
                return pending
            if wants_courier:
                _offer_close(pending, OfferState.EXPIRED, now)
            elif order.courier_id == pending.courier_id:
                _offer_close(pending, OfferState.ACCEPTED, now)
            else:
                _offer_close(pending, OfferState.WITHDRAWN, now)
        if not wants_courier:
            return None
        found = nearest_free_courier(order)
        if found is None:
            logger.info("no courier left to offer order %s", order.pk)
            return None
        courier, distance = found
        offer = CourierOffer.objects.create(
            order=order,
            courier_id=courier.user_id,
            distance_km=Decimal(str(round(distance, 3))),
            offered_at=now,
            expires_at=now + timedelta(seconds=settings.ORDERFLOW_COURIER_OFFER_SECONDS),
        )
        _offer_announce(offer)
    logger.info("order %s offered to courier %s (%.2f km)", order.pk, courier.user_id, distance)
    return offer


def _offer_for_courier(offer_id: Any, actor: Actor) -> tuple[Order, CourierOffer]:
    """Lock the offer's order, then the offer (the order every writer uses)."""
    if actor.role != ActorRole.COURIER:
        raise Forbidden("Only couriers answer offers.", code="not_a_courier")
    try:
        order_id = (
            CourierOffer.objects.filter(pk=int(offer_id), courier_id=actor.user_id)
            .values_list("order_id", flat=True)
            .first()
        )
    except (TypeError, ValueError):
        order_id = None
    if order_id is None:
        raise NotFound("No such offer for you.", code="offer_not_found")
    order = Order.objects.select_for_update().get(pk=order_id)
    return order, CourierOffer.objects.select_for_update().get(pk=int(offer_id))


def courier_offer_accept(*, offer_id: Any, actor: Actor) -> Order:
    """The offered courier takes the order, through the same service as claiming it."""
    from delivery.services import order_assign_courier

    now = timezone.now()
    with transaction.atomic():
        order, offer = _offer_for_courier(offer_id, actor)
        if offer.state != OfferState.PENDING or offer.expires_at <= now:
            raise Conflict("This offer is no longer open.", code="offer_closed")
        order = order_assign_courier(order_id=order.pk, courier=cast(User, actor.user), actor=actor)
        _offer_close(offer, OfferState.ACCEPTED, now)
    return order


def courier_offer_decline(*, offer_id: Any, actor: Actor) -> CourierOffer:
    """The offered courier says no: the order goes to the next courier straight away."""
    now = timezone.now()
    with transaction.atomic():
        _, offer = _offer_for_courier(offer_id, actor)
        if offer.state != OfferState.PENDING:
            raise Conflict("This offer is no longer open.", code="offer_closed")
        _offer_close(offer, OfferState.DECLINED, now)
        order_id = str(offer.order_id)
        # `robust`: if the broker is down, the beat task courier_offers_renew_task offers it on.
        enqueue_after_commit(COURIER_OFFER_TASK, order_id)
    return offer


def courier_offers_renew(*, now: datetime | None = None, limit: int = 100) -> int:
    """Re-offer orders whose offer expired, and offer waiting orders to couriers newly free.

    Returns how many orders now have a pending offer that they did not have before.
    """
    now = now or timezone.now()
    expired = list(
        CourierOffer.objects.filter(state=OfferState.PENDING, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("order_id", flat=True)[:limit]
    )
    unoffered = list(
        orders_available_to_couriers()
        .exclude(pk__in=CourierOffer.objects.filter(state=OfferState.PENDING).values("order_id"))
        .order_by("confirmed_at")
        .values_list("pk", flat=True)[:limit]
    )
    renewed = 0
    for order_id in dict.fromkeys([*expired, *unoffered]):
        offer = courier_offer_next(order_id=order_id, now=now)
        if offer is not None and offer.offered_at == now:
            renewed += 1
    return renewed


# ---------------------------------------------------------------- courier state


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
    number = parse_coordinate(value, limit)
    if number is None:
        raise ValidationFailed({name: [f"Must be a number between -{limit} and {limit}."]})
    return number


def courier_record_location(*, courier, latitude, longitude, now: datetime | None = None) -> CourierLocation:
    """Keep the courier's latest position on their profile and add a sample to their track."""
    lat = _coordinate(latitude, 90, "latitude")
    lon = _coordinate(longitude, 180, "longitude")
    now = now or timezone.now()
    with transaction.atomic():
        profile = _courier_profile(courier, for_update=True)
        # The sample belongs to the order the courier carries, else the one they head to.
        assigned = orders_assigned_to(courier_id=courier.pk)
        order_id = (
            assigned.filter(status__in=CARRYING_STATUSES).order_by("-picked_up_at").values_list("pk", flat=True).first()
            or assigned.filter(status__in=ASSIGNABLE_STATUSES)
            .order_by("placed_at")
            .values_list("pk", flat=True)
            .first()
        )
        profile.latitude, profile.longitude, profile.location_updated_at = lat, lon, now
        profile.save(update_fields=["latitude", "longitude", "location_updated_at"])
        sample = CourierLocation.objects.create(courier=profile, order_id=order_id, latitude=lat, longitude=lon)
        # Whoever tracks an order this courier is carrying sees the position (config/effects.py).
        outbox_write(
            topic=COURIER_LOCATION_TOPIC,
            payload={
                "courier_id": courier.pk,
                "latitude": str(lat),
                "longitude": str(lon),
                "recorded_at": now.isoformat(),
            },
        )
    return sample


# ---------------------------------------------------------------- disputes and retention


def delivery_dispute_open(*, order_id: Any, actor: Actor, reason: str) -> DeliveryDispute:
    """Keep the courier's track of this delivery until the dispute is resolved."""
    if not reason.strip():
        raise ValidationFailed({"reason": ["Say what is disputed."]})
    with transaction.atomic():
        order = order_get_visible(actor=actor, order_id=order_id, for_update=True)
        dispute, _ = DeliveryDispute.objects.update_or_create(
            order=order,
            defaults={
                "reason": reason.strip()[:500],
                "opened_by": actor.user,
                "opened_at": timezone.now(),
                "resolved_at": None,
            },
        )
    logger.info("delivery dispute opened order=%s by %s", order.pk, actor.display_name)
    return dispute


def delivery_dispute_resolve(*, dispute_id: Any, actor: Actor) -> DeliveryDispute:
    """The dispute is settled: the track is again deleted at the end of its retention."""
    with transaction.atomic():
        dispute = DeliveryDispute.objects.select_for_update().filter(pk=dispute_id).first()
        if dispute is None:
            raise NotFound("No such dispute.", code="dispute_not_found")
        if dispute.resolved_at is None:
            dispute.resolved_at = timezone.now()
            dispute.save(update_fields=["resolved_at"])
    logger.info("delivery dispute resolved order=%s by %s", dispute.order_id, actor.display_name)
    return dispute


def courier_locations_purge(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Retention: delete up to `limit` courier position samples older than
    ORDERFLOW_RETENTION_COURIER_LOCATIONS_DAYS, except the track of a delivery under an open
    dispute. Returns how many were deleted."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ORDERFLOW_RETENTION_COURIER_LOCATIONS_DAYS)
    disputed = DeliveryDispute.objects.filter(resolved_at__isnull=True).values("order_id")
    old = (
        CourierLocation.objects.filter(recorded_at__lt=cutoff)
        .exclude(order_id__in=disputed)
        .order_by("recorded_at")
        .values("pk")[:limit]
    )
    deleted, _ = CourierLocation.objects.filter(pk__in=list(old.values_list("pk", flat=True))).delete()
    return deleted


def courier_locations_forget(*, order_ids: list) -> int:
    """Erasure: the courier's track of these deliveries (it ends at the customer's door)."""
    deleted, _ = CourierLocation.objects.filter(order_id__in=order_ids).delete()
    return deleted


def courier_profile_erase(*, user_id) -> int:
    """Erasure of a courier's own contact details; their deliveries stay as they were."""
    return CourierProfile.objects.filter(user_id=user_id).update(
        phone="", latitude=None, longitude=None, location_updated_at=None, is_online=False
    )
