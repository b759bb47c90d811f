"""Placing an order: prices from the menu, snapshots of what was ordered, the first event."""

import math
import secrets
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict, TooManyRequests, ValidationFailed
from core.timestamps import iso
from orders import hooks
from orders.kitchen import kitchen_intake
from orders.models import (
    CustomerAddress,
    DeliveryType,
    EventType,
    Order,
    OrderItem,
    OrderItemCustomization,
    OrderStatus,
    PaymentMethod,
)
from orders.schedule import deadline_for, eta_after_ready
from orders.services.events import event_record
from restaurants.models import CustomizationChoice, CustomizationGroup, MenuItem, Restaurant

CENT = Decimal("0.01")
MAX_TIP = Decimal("1000.00")
ORDER_NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
PLACEMENT_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class OrderLine:
    menu_item_id: uuid.UUID
    quantity: int
    choice_ids: Sequence[int] = ()
    notes: str = ""


DEFAULT_ADDRESS_TITLE = "Delivery address"
_SIX_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class DeliveryAddress:
    street: str
    city: str
    latitude: Decimal
    longitude: Decimal
    state: str = ""
    postal_code: str = ""
    country: str = ""
    title: str = DEFAULT_ADDRESS_TITLE


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


def _new_order_number(now: datetime) -> str:
    suffix = "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(6))
    return f"ORD-{now:%Y%m%d}-{suffix}"


def order_place(
    *,
    customer: User,
    restaurant_id: uuid.UUID,
    lines: Sequence[OrderLine],
    delivery_type: str,
    payment_method: str,
    address: DeliveryAddress | None = None,
    tip: Decimal = Decimal("0.00"),
    notes: str = "",
    rate_limited: bool = False,
    fulfill_at: datetime | None = None,
) -> Order:
    """Place an order from the restaurant's menu; prices always come from the menu.

    Its input has the shape `orders.placing_serializers.OrderPlaceSerializer` checks (types, ranges,
    lengths, a delivery order's address). What only the database can tell is checked here: the
    restaurant takes orders, each item and choice is on its menu and available, and the menu's
    rules for choices hold. Every such problem is reported at once, and nothing is written.

    `rate_limited` (a customer placing through the API): at most ORDERFLOW_ORDER_PLACE_LIMIT_PER_HOUR
    orders in any hour per customer, else 429 `order_rate_limited` with `Retry-After`.

    The kitchen decides the rest (orders.kitchen): closed or paused is a 409 with when it
    reopens; the quote comes from its history, busy minutes and slot capacity; `fulfill_at`
    (an order for later) must fall in its hours, horizon and a slot with room.
    """
    errors = _Errors()
    restaurant = Restaurant.objects.filter(pk=restaurant_id).first()
    if restaurant is None:
        errors.add("restaurant", "No such restaurant.")
    elif not restaurant.is_open:
        errors.add("restaurant", "This restaurant is not taking orders right now.")
    priced_lines = _price_lines(lines, restaurant, errors)
    errors.raise_if_any()
    restaurant = cast(Restaurant, restaurant)  # a missing restaurant was refused just above

    subtotal = sum((line["line_total"] for line in priced_lines), Decimal("0.00"))
    discount = Decimal("0.00")
    delivery_fee = restaurant.delivery_fee if delivery_type == DeliveryType.DELIVERY else Decimal("0.00")
    tax = _money((subtotal - discount) * restaurant.tax_rate)
    total = subtotal - discount + delivery_fee + tip + tax
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
        tip=tip,
        tax=tax,
        total=total,
        notes=notes.strip(),
        placed_at=now,
        updated_at=now,
    )
    if delivery_type == DeliveryType.DELIVERY:
        address = cast(DeliveryAddress, address)  # the input serializer requires one for a delivery
        order.delivery_street = address.street.strip()
        order.delivery_city = address.city.strip()
        order.delivery_state = address.state.strip()
        order.delivery_postal_code = address.postal_code.strip()
        order.delivery_country = address.country.strip()
        order.delivery_latitude = address.latitude
        order.delivery_longitude = address.longitude
    travel = eta_after_ready(order, restaurant, now) - now
    item_count = sum(line["quantity"] for line in priced_lines)

    actor = Actor.customer(customer)
    with transaction.atomic():
        if rate_limited:
            _check_placement_rate(customer=customer, now=now)
        if restaurant.slot_capacity is not None:
            # Placements at one kitchen take its slots one after the other.
            restaurant = Restaurant.objects.select_for_update().get(pk=restaurant.pk)
        intake = kitchen_intake(
            restaurant=restaurant, item_count=item_count, now=now, travel=travel, fulfill_at=fulfill_at
        )
        order.estimated_prep_minutes = intake.prep_minutes
        order.estimated_ready_at = intake.ready_at
        order.estimated_delivery_at = eta_after_ready(order, restaurant, intake.ready_at)
        order.slot_at = intake.slot_at
        order.fulfill_at = intake.fulfill_at
        order.release_at = intake.release_at
        order.deadline_at, order.deadline_kind = deadline_for(order, now)
        if delivery_type == DeliveryType.DELIVERY:
            order.delivery_address = _saved_address(customer, cast(DeliveryAddress, address))
            order.delivery_title = order.delivery_address.title
        _save_with_unique_number(order, now)
        _save_lines(order, priced_lines)
        event = event_record(
            order=order,
            event_type=EventType.PLACED,
            actor=actor,
            to_status=order.status,
            metadata={
                "payment_method": payment_method,
                "delivery_type": delivery_type,
                **({"fulfill_at": iso(order.fulfill_at)} if order.fulfill_at else {}),
            },
            at=now,
        )
        hooks.run_order_change_hooks(order=order, event=event, actor=actor, now=now)
    return order


def _check_placement_rate(*, customer: User, now: datetime) -> None:
    """Refuse a placement over the customer's hourly limit; their user row is locked so that
    requests at once are counted one after the other."""
    limit = settings.ORDERFLOW_ORDER_PLACE_LIMIT_PER_HOUR
    get_user_model().objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True).first()
    window_start = now - PLACEMENT_WINDOW
    recent = list(
        Order.objects.filter(customer=customer, placed_at__gt=window_start)
        .order_by("-placed_at")
        .values_list("placed_at", flat=True)[:limit]
    )
    if len(recent) >= limit:
        retry_after = max(1, math.ceil((recent[-1] + PLACEMENT_WINDOW - now).total_seconds()))
        raise TooManyRequests(
            f"At most {limit} orders an hour; try again in {retry_after} seconds.",
            code="order_rate_limited",
            retry_after=retry_after,
            limit=limit,
        )


def _price_lines(lines: Sequence[OrderLine], restaurant: Restaurant | None, errors: _Errors) -> list[dict[str, Any]]:
    """Each line priced from the menu, or its problems added to `errors`."""
    item_ids = {line.menu_item_id for line in lines}
    choice_ids = {choice_id for line in lines for choice_id in line.choice_ids}
    menu_items = MenuItem.objects.in_bulk(item_ids)
    choices = CustomizationChoice.objects.select_related("group").in_bulk(choice_ids) if choice_ids else {}
    required_groups = defaultdict(list)
    for group in CustomizationGroup.objects.filter(menu_item_id__in=item_ids, min_choices__gt=0):
        required_groups[group.menu_item_id].append(group)

    priced = []
    for index, line in enumerate(lines):
        where = f"items[{index}]"
        item = menu_items.get(line.menu_item_id)
        if item is None or restaurant is None or item.restaurant_id != restaurant.pk:
            errors.add(f"{where}.menu_item", "No such item on this restaurant's menu.")
            continue
        if not item.is_available:
            errors.add(f"{where}.menu_item", f"{item.name} is not available right now.")
            continue

        picked = []
        for choice_id in line.choice_ids:
            choice = choices.get(choice_id)
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
        for group in required_groups[item.pk]:
            if per_group.get(group.pk, 0) < group.min_choices:
                errors.add(f"{where}.customizations", f"Pick at least {group.min_choices} of {group.name}.")

        unit_price = item.price + sum((choice.price_adjustment for choice in picked), Decimal("0.00"))
        priced.append(
            {
                "item": item,
                "choices": picked,
                "quantity": line.quantity,
                "unit_price": _money(unit_price),
                "line_total": _money(unit_price * line.quantity),
                "notes": line.notes.strip(),
            }
        )
    return priced


def _saved_address(customer: User, address: DeliveryAddress) -> CustomerAddress:
    """The customer's saved address with this title and these lines: the same one again when they
    order to it again, so its id is the one the order-process document's `delivery_address` shows."""
    saved, _ = CustomerAddress.objects.get_or_create(
        customer=customer,
        title=address.title.strip() or DEFAULT_ADDRESS_TITLE,
        street=address.street.strip(),
        city=address.city.strip(),
        state=address.state.strip(),
        postal_code=address.postal_code.strip(),
        country=address.country.strip(),
        latitude=Decimal(address.latitude).quantize(_SIX_PLACES),
        longitude=Decimal(address.longitude).quantize(_SIX_PLACES),
    )
    return saved


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


def _save_lines(order: Order, priced_lines: list[dict[str, Any]]) -> None:
    items = []
    customizations: list[OrderItemCustomization] = []
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
