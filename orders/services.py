"""Every write to an order: placing it, changing its status, assigning a courier.

`order_transition` is the only writer of `Order.status`.
"""

import logging
import secrets
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from delivery.geo import haversine_km, parse_coordinate, travel_minutes
from delivery.models import CourierProfile, HandoffPurpose
from delivery.services import otp_check, otp_issue
from orders.actors import Actor
from orders.errors import (
    ApplicationError,
    Conflict,
    Forbidden,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InvalidTransition,
    OrderNotFound,
    ValidationFailed,
)
from orders.models import (
    ActorRole,
    DeadlineKind,
    DeliveryStatus,
    DeliveryType,
    IdempotencyRecord,
    IdempotencyState,
    Order,
    OrderItem,
    OrderItemCustomization,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
)
from orders.selectors import ASSIGNABLE_STATUSES, order_get_visible, order_is_claimable, parse_uuid
from orders.transitions import (
    ISSUES_HANDOFF,
    REFUNDABLE_STATUSES,
    RULES,
    TRANSITIONS,
    next_statuses_for,
    normalise_status,
    role_may_reach,
    rule_applies,
)
from payments.services import payment_create_for_order, refund_open_for_order
from restaurants.models import (
    CustomizationChoice,
    CustomizationGroup,
    MenuItem,
    Restaurant,
)
from tracking.models import EventType, TrackingEvent
from tracking.publishing import publishing_collected
from tracking.services import event_record

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
MAX_TIP = Decimal("1000.00")
MAX_REASON_LENGTH = 500
MAX_METADATA_BYTES = 4096
MAX_PREP_MINUTES = 240
ORDER_NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"

STATUS_TIMESTAMPS: dict[OrderStatus, str] = {
    OrderStatus.PAYMENT_SUCCESS: "paid_at",
    OrderStatus.RESTAURANT_CONFIRMED: "confirmed_at",
    OrderStatus.RESTAURANT_REJECTED: "cancelled_at",
    OrderStatus.PREPARING: "preparing_at",
    OrderStatus.READY_FOR_PICKUP: "ready_at",
    OrderStatus.ORDER_PICKED_UP: "picked_up_at",
    OrderStatus.OUT_FOR_DELIVERY: "out_for_delivery_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.COMPLETED: "completed_at",
    OrderStatus.RETURNED: "returned_at",
    OrderStatus.CANCELLED: "cancelled_at",
}

STATUS_EVENTS: dict[OrderStatus, EventType] = {
    OrderStatus.PAYMENT_SUCCESS: EventType.PAYMENT_SUCCEEDED,
    OrderStatus.PAYMENT_FAILED: EventType.PAYMENT_FAILED,
    OrderStatus.READY_FOR_PICKUP: EventType.READY_FOR_PICKUP,
    OrderStatus.ORDER_PICKED_UP: EventType.PICKED_UP,
    OrderStatus.OUT_FOR_DELIVERY: EventType.OUT_FOR_DELIVERY,
    OrderStatus.DELIVERED: EventType.DELIVERED,
    OrderStatus.CANCELLED: EventType.CANCELLED,
}


# ---------------------------------------------------------------- placing


@dataclass(frozen=True)
class OrderLine:
    menu_item_id: Any
    quantity: Any
    choice_ids: Sequence[Any] = ()
    notes: str = ""


@dataclass(frozen=True)
class DeliveryAddress:
    street: str
    city: str
    latitude: Any
    longitude: Any
    state: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass
class _Errors:
    fields: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, name: str, message: str) -> None:
        self.fields[name].append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationFailed(dict(self.fields), "The order cannot be placed as requested.")


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _as_str_list(values: Any) -> list[str] | None:
    if not isinstance(values, (list, tuple)):
        return None
    return [str(v) for v in values]


def _new_order_number(now: datetime) -> str:
    suffix = "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(6))
    return f"ORD-{now:%Y%m%d}-{suffix}"


def _eta_after_ready(order: Order, restaurant: Restaurant, ready_at: datetime) -> datetime:
    if order.delivery_type == DeliveryType.PICKUP or order.delivery_latitude is None:
        return ready_at
    distance = haversine_km(
        restaurant.latitude, restaurant.longitude, order.delivery_latitude, order.delivery_longitude
    )
    return ready_at + timedelta(minutes=travel_minutes(distance))


def _deadline(order: Order, now: datetime) -> tuple[datetime | None, str]:
    s = settings
    waits = {
        OrderStatus.PAYMENT_PENDING: (s.ORDERFLOW_PAYMENT_TIMEOUT_SECONDS, DeadlineKind.PAYMENT),
        OrderStatus.ORDER_PLACED: (s.ORDERFLOW_CONFIRM_TIMEOUT_SECONDS, DeadlineKind.CONFIRMATION),
        OrderStatus.PAYMENT_SUCCESS: (s.ORDERFLOW_CONFIRM_TIMEOUT_SECONDS, DeadlineKind.CONFIRMATION),
        OrderStatus.DELIVERED: (s.ORDERFLOW_RETURN_WINDOW_SECONDS, DeadlineKind.RETURN_WINDOW),
    }
    if order.status == OrderStatus.READY_FOR_PICKUP:
        if order.delivery_type == DeliveryType.PICKUP:
            waits[order.status] = (s.ORDERFLOW_COLLECTION_TIMEOUT_SECONDS, DeadlineKind.COLLECTION)
        else:
            waits[order.status] = (s.ORDERFLOW_PICKUP_TIMEOUT_SECONDS, DeadlineKind.PICKUP)
    if order.status not in waits:
        return None, ""
    seconds, kind = waits[order.status]
    return now + timedelta(seconds=seconds), kind


def order_place(
    *,
    customer: AbstractBaseUser,
    restaurant_id: Any,
    lines: Sequence[OrderLine],
    delivery_type: str,
    payment_method: str,
    address: DeliveryAddress | None = None,
    tip: Any = Decimal("0"),
    notes: str = "",
) -> Order:
    """Place an order from the restaurant's menu; prices always come from the menu."""
    errors = _Errors()
    restaurant = Restaurant.objects.filter(pk=restaurant_id).first() if parse_uuid(restaurant_id) else None
    if restaurant is None:
        errors.add("restaurant", "No such restaurant.")
    elif not restaurant.is_open:
        errors.add("restaurant", "This restaurant is not taking orders right now.")

    if delivery_type not in DeliveryType.values:
        errors.add("delivery_type", f"Must be one of: {', '.join(DeliveryType.values)}.")
    if payment_method not in PaymentMethod.values:
        errors.add("payment_method", f"Must be one of: {', '.join(PaymentMethod.values)}.")

    tip_amount = _decimal(tip if tip is not None else 0)
    if tip_amount is None or tip_amount < 0 or tip_amount > MAX_TIP or tip_amount != tip_amount.quantize(CENT):
        errors.add("tip", f"Must be an amount between 0 and {MAX_TIP} with at most two decimals.")
    if len(notes or "") > 500:
        errors.add("notes", "At most 500 characters.")

    latitude = longitude = None
    if delivery_type == DeliveryType.DELIVERY:
        if address is None:
            errors.add("delivery_address", "A delivery order needs a delivery address.")
        else:
            if not (address.street or "").strip():
                errors.add("delivery_address.street", "This field is required.")
            if not (address.city or "").strip():
                errors.add("delivery_address.city", "This field is required.")
            latitude = parse_coordinate(address.latitude, 90)
            longitude = parse_coordinate(address.longitude, 180)
            if latitude is None:
                errors.add("delivery_address.latitude", "Must be a number between -90 and 90.")
            if longitude is None:
                errors.add("delivery_address.longitude", "Must be a number between -180 and 180.")

    priced_lines = _price_lines(lines, restaurant, errors)
    errors.raise_if_any()

    subtotal = sum((line["line_total"] for line in priced_lines), Decimal("0.00"))
    discount = Decimal("0.00")
    delivery_fee = restaurant.delivery_fee if delivery_type == DeliveryType.DELIVERY else Decimal("0.00")
    tax = _money((subtotal - discount) * restaurant.tax_rate)
    total = subtotal - discount + delivery_fee + tip_amount + tax
    now = timezone.now()
    is_online = payment_method == PaymentMethod.ONLINE

    order = Order(
        customer=customer,
        restaurant=restaurant,
        status=OrderStatus.PAYMENT_PENDING if is_online else OrderStatus.ORDER_PLACED,
        delivery_type=delivery_type,
        payment_method=payment_method,
        currency=restaurant.currency,
        subtotal=subtotal,
        discount=discount,
        delivery_fee=delivery_fee,
        tip=tip_amount,
        tax=tax,
        total=total,
        notes=(notes or "").strip(),
        placed_at=now,
        updated_at=now,
        estimated_prep_minutes=restaurant.average_prep_minutes,
        estimated_ready_at=now + timedelta(minutes=restaurant.average_prep_minutes),
    )
    if delivery_type == DeliveryType.DELIVERY:
        order.delivery_street = address.street.strip()
        order.delivery_city = address.city.strip()
        order.delivery_state = (address.state or "").strip()
        order.delivery_postal_code = (address.postal_code or "").strip()
        order.delivery_country = (address.country or "").strip()
        order.delivery_latitude = latitude
        order.delivery_longitude = longitude
    order.estimated_delivery_at = _eta_after_ready(order, restaurant, order.estimated_ready_at)
    order.deadline_at, order.deadline_kind = _deadline(order, now)

    actor = Actor.customer(customer)
    with transaction.atomic():
        _save_with_unique_number(order, now)
        _save_lines(order, priced_lines)
        payment_create_for_order(order=order)
        event_record(
            order=order,
            event_type=EventType.PLACED,
            actor=actor,
            to_status=order.status,
            metadata={"payment_method": payment_method, "delivery_type": delivery_type},
            at=now,
        )
    return order


def _price_lines(lines: Sequence[OrderLine], restaurant: Restaurant | None, errors: _Errors) -> list[dict]:
    max_lines = settings.ORDERFLOW_MAX_ORDER_LINES
    max_quantity = settings.ORDERFLOW_MAX_ITEM_QUANTITY
    if not isinstance(lines, (list, tuple)) or not lines:
        errors.add("items", "An order needs at least one item.")
        return []
    if len(lines) > max_lines:
        errors.add("items", f"An order may have at most {max_lines} lines.")
        return []

    item_ids = {str(line.menu_item_id) for line in lines if parse_uuid(line.menu_item_id)}
    choice_ids = {
        int(choice_id)
        for line in lines
        for choice_id in (_as_str_list(line.choice_ids) or [])
        if str(choice_id).isdigit() and len(str(choice_id)) < 12
    }
    menu_items = MenuItem.objects.in_bulk(item_ids) if item_ids else {}
    menu_items = {str(key): value for key, value in menu_items.items()}
    choices = CustomizationChoice.objects.select_related("group").in_bulk(choice_ids) if choice_ids else {}
    required_groups = defaultdict(list)
    for group in CustomizationGroup.objects.filter(menu_item_id__in=item_ids, min_choices__gt=0):
        required_groups[str(group.menu_item_id)].append(group)

    priced = []
    for index, line in enumerate(lines):
        where = f"items[{index}]"
        quantity = line.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= max_quantity:
            errors.add(f"{where}.quantity", f"Must be a whole number from 1 to {max_quantity}.")
        if len(line.notes or "") > 300:
            errors.add(f"{where}.notes", "At most 300 characters.")
        item = menu_items.get(str(line.menu_item_id))
        if item is None or restaurant is None or item.restaurant_id != restaurant.pk:
            errors.add(f"{where}.menu_item", "No such item on this restaurant's menu.")
            continue
        if not item.is_available:
            errors.add(f"{where}.menu_item", f"{item.name} is not available right now.")
            continue

        raw_choices = _as_str_list(line.choice_ids)
        if raw_choices is None:
            errors.add(f"{where}.customizations", "Must be a list of choice ids.")
            continue
        picked = []
        for choice_id in raw_choices:
            choice = choices.get(int(choice_id)) if choice_id.isdigit() and len(choice_id) < 12 else None
            if choice is None or choice.group.menu_item_id != item.pk:
                errors.add(f"{where}.customizations", f"{choice_id} is not a choice for {item.name}.")
            elif not choice.is_available:
                errors.add(f"{where}.customizations", f"{choice.name} is not available right now.")
            else:
                picked.append(choice)
        if len({choice.pk for choice in picked}) != len(picked):
            errors.add(f"{where}.customizations", "A choice may be picked only once.")
        per_group = Counter(choice.group_id for choice in picked)
        for choice in picked:
            if per_group[choice.group_id] > choice.group.max_choices:
                errors.add(
                    f"{where}.customizations",
                    f"Pick at most {choice.group.max_choices} of {choice.group.name}.",
                )
                per_group[choice.group_id] = 0
        for group in required_groups[str(item.pk)]:
            if per_group.get(group.pk, 0) < group.min_choices:
                errors.add(f"{where}.customizations", f"Pick at least {group.min_choices} of {group.name}.")

        unit_price = item.price + sum((choice.price_adjustment for choice in picked), Decimal("0.00"))
        if isinstance(quantity, int) and not isinstance(quantity, bool) and 1 <= quantity <= max_quantity:
            priced.append(
                {
                    "item": item,
                    "choices": picked,
                    "quantity": quantity,
                    "unit_price": _money(unit_price),
                    "line_total": _money(unit_price * quantity),
                    "notes": (line.notes or "").strip(),
                }
            )
    return priced


def _save_with_unique_number(order: Order, now: datetime) -> None:
    for _ in range(5):
        order.number = _new_order_number(now)
        try:
            with transaction.atomic():
                order.save(force_insert=True)
            return
        except IntegrityError:
            if Order.objects.filter(number=order.number).exists():
                continue
            raise
    raise Conflict("Could not allocate an order number; try again.", code="order_number_exhausted")


def _save_lines(order: Order, priced_lines: list[dict]) -> None:
    items = []
    customizations = []
    for line in priced_lines:
        order_item = OrderItem(
            order=order,
            menu_item=line["item"],
            name=line["item"].name,
            unit_price=line["unit_price"],
            quantity=line["quantity"],
            line_total=line["line_total"],
            notes=line["notes"],
        )
        items.append(order_item)
        customizations.extend(
            OrderItemCustomization(
                order_item=order_item,
                choice=choice,
                group_name=choice.group.name,
                choice_name=choice.name,
                price_adjustment=choice.price_adjustment,
            )
            for choice in line["choices"]
        )
    OrderItem.objects.bulk_create(items)
    OrderItemCustomization.objects.bulk_create(customizations)


# ---------------------------------------------------------------- transitions


@dataclass(frozen=True)
class TransitionResult:
    order: Order
    previous_status: str
    event: TrackingEvent


def _clean_metadata(metadata: Any) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValidationFailed({"metadata": ["Must be an object."]})
    try:
        # allow_nan=False: Infinity and NaN are not JSON, and PostgreSQL's jsonb refuses them.
        encoded = DjangoJSONEncoder(allow_nan=False).encode(metadata)
    except (TypeError, ValueError):
        raise ValidationFailed({"metadata": ["Must be plain JSON (finite numbers, strings, lists, objects)."]}) from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise ValidationFailed({"metadata": [f"At most {MAX_METADATA_BYTES} bytes."]})
    return metadata


def _prep_minutes(metadata: dict) -> int | None:
    value = metadata.get("estimated_prep_time")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PREP_MINUTES:
        raise ValidationFailed(
            {"estimated_prep_time": [f"Must be a whole number of minutes from 1 to {MAX_PREP_MINUTES}."]}
        )
    return value


def order_transition(
    *,
    order_id: Any,
    target: str,
    actor: Actor,
    reason: str = "",
    metadata: dict | None = None,
    otp: str | None = None,
) -> TransitionResult:
    """Move an order to `target` if the table allows it for this actor, and record why.

    Locks the order row, so two people acting at once get one success and one
    conflict. The tracking event and everything it triggers follow the commit.
    """
    target_status = normalise_status(target)
    if target_status is None:
        raise ValidationFailed({"status_code": [f"{target!r} is not an order status."]})
    reason = str(reason or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed({"reason": [f"At most {MAX_REASON_LENGTH} characters."]})
    metadata = _clean_metadata(metadata)
    prep_minutes = _prep_minutes(metadata)
    if not role_may_reach(actor.role, target_status):
        raise Forbidden(
            f"A {ActorRole(actor.role).label.lower()} may not move an order to {target_status}.",
            code="transition_forbidden",
        )

    now = timezone.now()
    handoff_error: ApplicationError | None = None
    with transaction.atomic():
        order = order_get_visible(actor=actor, order_id=order_id, for_update=True)
        rule = RULES.get((OrderStatus(order.status), target_status))
        if rule is None or not rule_applies(rule, order=order, role=actor.role):
            raise InvalidTransition(
                f"The order is {order.status}; it cannot move to {target_status}.",
                current_status=order.status,
                allowed_statuses=next_statuses_for(order=order, role=actor.role),
            )
        if actor.role == ActorRole.COURIER and order.courier_id != actor.user_id:
            raise Forbidden("Only the courier assigned to this order may do this.", code="not_assigned_courier")
        if actor.role in rule.reason_required_for and not reason:
            raise ValidationFailed({"reason": ["A reason is required."]})
        if rule.handoff:
            if not otp:
                raise ValidationFailed({"otp": ["The handoff code is required."]})
            try:
                otp_check(order=order, purpose=rule.handoff, code=str(otp), now=now)
            except ApplicationError as exc:
                # Commit the used-up attempt before refusing, so guessing is not free.
                handoff_error = exc
        if handoff_error is None:
            previous_status = order.status
            event = _apply(order, target_status, actor, reason, metadata, prep_minutes, now)
    if handoff_error is not None:
        raise handoff_error
    return TransitionResult(order=order, previous_status=previous_status, event=event)


def _apply(
    order: Order,
    target: OrderStatus,
    actor: Actor,
    reason: str,
    metadata: dict,
    prep_minutes: int | None,
    now: datetime,
) -> TrackingEvent:
    previous = order.status
    order.status = target
    changed = {"status", "deadline_at", "deadline_kind"}
    timestamp_field = STATUS_TIMESTAMPS.get(target)
    if timestamp_field:
        setattr(order, timestamp_field, now)
        changed.add(timestamp_field)

    if target == OrderStatus.PAYMENT_SUCCESS:
        order.payment_status = PaymentStatus.PAID
        changed.add("payment_status")
    elif target == OrderStatus.PAYMENT_FAILED:
        order.payment_status = PaymentStatus.FAILED
        changed.add("payment_status")
    elif target == OrderStatus.REFUND_COMPLETED:
        order.payment_status = PaymentStatus.REFUNDED
        order.refund_status = RefundStatus.COMPLETED
        changed |= {"payment_status", "refund_status"}
    elif target == OrderStatus.ORDER_PICKED_UP:
        order.delivery_status = DeliveryStatus.PICKED_UP
        changed.add("delivery_status")
    elif target == OrderStatus.OUT_FOR_DELIVERY:
        order.delivery_status = DeliveryStatus.IN_TRANSIT
        order.estimated_delivery_at = _eta_after_ready(order, order.restaurant, now)
        changed |= {"delivery_status", "estimated_delivery_at"}
    elif target == OrderStatus.DELIVERED:
        if order.delivery_type == DeliveryType.DELIVERY:
            order.delivery_status = DeliveryStatus.DELIVERED
            changed.add("delivery_status")
        if order.payment_method == PaymentMethod.COD:
            # Cash changes hands at the door or the counter.
            order.payment_status = PaymentStatus.PAID
            order.paid_at = now
            changed |= {"payment_status", "paid_at"}
    elif target == OrderStatus.RESTAURANT_CONFIRMED:
        minutes = prep_minutes or order.restaurant.average_prep_minutes
        order.estimated_prep_minutes = minutes
        order.estimated_ready_at = now + timedelta(minutes=minutes)
        order.estimated_delivery_at = _eta_after_ready(order, order.restaurant, order.estimated_ready_at)
        changed |= {"estimated_prep_minutes", "estimated_ready_at", "estimated_delivery_at"}
    elif target == OrderStatus.READY_FOR_PICKUP:
        order.estimated_delivery_at = _eta_after_ready(order, order.restaurant, now)
        changed.add("estimated_delivery_at")

    if target in (OrderStatus.CANCELLED, OrderStatus.RESTAURANT_REJECTED):
        order.cancelled_by = actor.role
        order.cancellation_reason = reason
        changed |= {"cancelled_by", "cancellation_reason"}

    order.deadline_at, order.deadline_kind = _deadline(order, now)
    event = event_record(
        order=order,
        event_type=STATUS_EVENTS.get(target, EventType.STATUS_CHANGED),
        actor=actor,
        changed_fields=changed,
        from_status=previous,
        to_status=target,
        reason=reason,
        metadata=metadata,
        at=now,
    )
    if target in ISSUES_HANDOFF:
        otp_issue(order=order, purpose=ISSUES_HANDOFF[target], now=now)
    if target in REFUNDABLE_STATUSES:
        refund_open_for_order(order=order, actor=actor)
    return event


def order_cancel(*, order_id: Any, actor: Actor, reason: str = "") -> TransitionResult:
    return order_transition(order_id=order_id, target=OrderStatus.CANCELLED, actor=actor, reason=reason)


def order_handoff(
    *, order_id: Any, purpose: HandoffPurpose, otp: str, actor: Actor, metadata: dict | None = None
) -> TransitionResult:
    """Make the handoff that `purpose`'s code belongs to, for whoever enters that code.

    The table says who types each code: the courier (pickup and delivery of a delivery
    order), restaurant staff (a self-pickup order handed to its customer).
    """
    targets = {rule.target for rule in TRANSITIONS if rule.handoff == purpose and actor.role in rule.roles}
    if not targets:
        raise Forbidden("This code is not entered by you.", code="otp_not_yours")
    (target,) = targets
    return order_transition(order_id=order_id, target=target, actor=actor, otp=otp, metadata=metadata)


# ---------------------------------------------------------------- couriers


def _lock_for_assignment(*, actor: Actor, order_id: Any) -> Order:
    """Lock the order before deciding whether the courier may claim it.

    Deciding after the lock is what lets two couriers racing for one order get one
    success and one `already_assigned` (not a 404 because, once taken, it stopped being
    offered). Orders never offered to couriers stay invisible to them.
    """
    if actor.role != ActorRole.COURIER:
        return order_get_visible(actor=actor, order_id=order_id, for_update=True)
    order = None
    if parse_uuid(order_id):
        order = Order.objects.select_for_update(of=("self",)).filter(pk=order_id).first()
    taken = (
        order is not None
        and order.courier_id is not None
        and order.delivery_type == DeliveryType.DELIVERY
        and order.status in ASSIGNABLE_STATUSES
    )
    offered = order is not None and order_is_claimable(
        delivery_type=order.delivery_type, courier_id=order.courier_id, status=order.status
    )
    if not (taken or offered):
        raise OrderNotFound("No order with this id is visible to you.")
    return order


def order_assign_courier(*, order_id: Any, courier: AbstractBaseUser, actor: Actor) -> Order:
    """Give a delivery order to a courier: a courier claiming it, or the system offering it."""
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
        order = _lock_for_assignment(actor=actor, order_id=order_id)
        if order.delivery_type != DeliveryType.DELIVERY:
            raise Conflict("Pickup orders have no courier.", code="not_a_delivery_order")
        if order.courier_id is not None:
            whose = "You already have" if order.courier_id == courier.pk else "Another courier already has"
            raise Conflict(f"{whose} this order.", code="already_assigned")
        if order.status not in ASSIGNABLE_STATUSES:
            raise InvalidTransition(
                f"An order that is {order.status} cannot be given to a courier.", current_status=order.status
            )
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


# ---------------------------------------------------------------- deadlines

# What the system does when a waiting order's deadline passes (`Order.deadline_kind`).
DEADLINE_TARGETS: dict[str, OrderStatus] = {
    DeadlineKind.PAYMENT: OrderStatus.CANCELLED,
    DeadlineKind.CONFIRMATION: OrderStatus.CANCELLED,
    DeadlineKind.PICKUP: OrderStatus.CANCELLED,
    DeadlineKind.COLLECTION: OrderStatus.CANCELLED,
    DeadlineKind.RETURN_WINDOW: OrderStatus.COMPLETED,
}


@dataclass(frozen=True)
class SweepReport:
    found: int
    enforced: int

    @property
    def skipped(self) -> int:
        return self.found - self.enforced


def order_enforce_deadline(*, order_id: Any, now: datetime | None = None) -> TransitionResult | None:
    """Carry out the order's deadline if it has passed; None if there is nothing to do.

    Safe to call from anywhere, as often as wanted (the sweep, a poll of the order's
    status): it acts only while the deadline is still due, under the order's lock. An
    order that someone is changing right now is left alone: if they move it on, its
    deadline moves with it; if not, the next sweep or poll acts.
    """
    now = now or timezone.now()
    # A plain read first, so that polling an order whose deadline is not due costs one lookup.
    if not parse_uuid(order_id) or not Order.objects.filter(pk=order_id, deadline_at__lte=now).exists():
        return None
    return _enforce_due_deadline(order_id, now)


def _enforce_due_deadline(order_id: Any, now: datetime) -> TransitionResult | None:
    with transaction.atomic():
        due = (
            Order.objects.select_for_update(skip_locked=True)
            .filter(pk=order_id, deadline_at__lte=now)
            .values_list("deadline_kind", flat=True)
            .first()
        )
        return None if due is None else _carry_out_deadline(order_id, due)


def _carry_out_deadline(order_id: Any, due: str) -> TransitionResult | None:
    """The deadline's transition for an order whose row lock the caller holds."""
    target = DEADLINE_TARGETS.get(due)
    if target is not None:
        try:
            return order_transition(order_id=order_id, target=target, actor=Actor.system(), reason=due)
        except InvalidTransition:
            pass
    # A deadline the table cannot honour would be found again by every sweep.
    logger.warning("order %s: deadline %r cannot be carried out; dropping it", order_id, due)
    Order.objects.filter(pk=order_id).update(deadline_at=None, deadline_kind="")
    return None


def orders_sweep_overdue(*, now: datetime | None = None, limit: int = 500) -> SweepReport:
    """Carry out up to `limit` overdue deadlines, oldest first.

    One query on the partial index `order_deadline_idx` finds them. They are carried out in
    transactions of `ORDERFLOW_SWEEP_TRANSACTION_SIZE`: one query locks those not locked by
    someone else (SKIP LOCKED, deadline checked again under the lock), each goes through the
    transition service as the system (a savepoint each, so one refusal spoils nothing), one
    commit; their events reach the subscribers together after it.
    """
    now = now or timezone.now()
    overdue = list(
        Order.objects.filter(deadline_at__lte=now).order_by("deadline_at").values_list("pk", flat=True)[:limit]
    )
    size = settings.ORDERFLOW_SWEEP_TRANSACTION_SIZE
    enforced = 0
    for start in range(0, len(overdue), size):
        with publishing_collected(), transaction.atomic():
            due = (
                Order.objects.select_for_update(skip_locked=True)
                .filter(pk__in=overdue[start : start + size], deadline_at__lte=now)
                .order_by("deadline_at")
                .values_list("pk", "deadline_kind")
            )
            for order_id, kind in due:
                if _carry_out_deadline(order_id, kind) is not None:
                    enforced += 1
    if overdue:
        logger.info("deadline sweep: %s overdue, %s enforced", len(overdue), enforced)
    return SweepReport(found=len(overdue), enforced=enforced)


# ---------------------------------------------------------------- idempotency keys


def idempotency_begin(
    *, user: AbstractBaseUser, key: str, method: str, path: str, body_hash: str, now: datetime | None = None
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
