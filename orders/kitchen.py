"""The kitchen's intake at placement (docs/kitchen.md): whether it takes the order, the quoted
ready time (the kitchen's queue, then the learned preparation time), its 15-minute slot under
the kitchen's capacity, and an order for later's release.

Reads and pure computations; `orders.services.placing` writes the order with what they say.
"""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Sum

from core.errors import RestaurantClosed, RestaurantPaused, SlotFull, ValidationFailed
from core.timestamps import iso
from orders.models import Order, OrderStatus
from restaurants.hours import EffectiveStatus, KitchenState, WeeklyHours, kitchen_state, weekly_hours
from restaurants.models import Restaurant, SlotCapacityUnit

SLOT = timedelta(minutes=15)
# How many slots ahead an ASAP order looks for room, and how many free ones a refusal lists.
SLOT_SEARCH = 96
FREE_SLOTS_LISTED = 3
# Orders that no longer take a place in the kitchen.
NOT_COOKING = (
    OrderStatus.CANCELLED,
    OrderStatus.RESTAURANT_REJECTED,
    OrderStatus.PAYMENT_FAILED,
    OrderStatus.REFUND_COMPLETED,
)
# Orders the kitchen has in hand: waiting for it, confirmed, or cooking.
QUEUED_STATUSES = (
    OrderStatus.ORDER_PLACED,
    OrderStatus.PAYMENT_SUCCESS,
    OrderStatus.RESTAURANT_CONFIRMED,
    OrderStatus.PREPARING,
)
# Preparation learned from history: orders of the same size band, at least this many of them.
SIZE_BANDS = ((1, 2), (3, 5), (6, 10_000))
MIN_HISTORY = 5


def slot_start(at: datetime) -> datetime:
    """The start of the 15-minute slot `at` falls in (slots are aligned to UTC quarter hours)."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def _size_band(item_count: int) -> tuple[int, int]:
    return next(band for band in SIZE_BANDS if band[0] <= item_count <= band[1])


def learned_prep_minutes(restaurant: Restaurant, *, item_count: int) -> int | None:
    """The median minutes from confirmed to ready of the restaurant's last orders of this size
    (ORDERFLOW_PREP_HISTORY_ORDERS of them); None while it has fewer than MIN_HISTORY."""
    low, high = _size_band(item_count)
    took = ExpressionWrapper(F("ready_at") - F("confirmed_at"), output_field=DurationField())
    durations = list(
        Order.objects.filter(restaurant=restaurant, ready_at__isnull=False, confirmed_at__isnull=False)
        .annotate(size=Sum("items__quantity"), took=took)
        .filter(size__gte=low, size__lte=high)
        .order_by("-ready_at")
        .values_list("took", flat=True)[: settings.ORDERFLOW_PREP_HISTORY_ORDERS]
    )
    if len(durations) < MIN_HISTORY:
        return None
    minutes: int = max(1, round(statistics.median(d.total_seconds() for d in durations) / 60))
    return minutes


def prep_minutes_quote(restaurant: Restaurant, *, item_count: int) -> int:
    """Preparation minutes for an order of this size: learned, else the restaurant's average."""
    learned = learned_prep_minutes(restaurant, item_count=item_count)
    return learned if learned is not None else restaurant.average_prep_minutes


class PrepTimes:
    """One restaurant's preparation minutes per size band, each band learned once (one query a
    band), for a pass that quotes many of its orders."""

    def __init__(self, restaurant: Restaurant) -> None:
        self.restaurant = restaurant
        self._bands: dict[tuple[int, int], int] = {}

    def minutes(self, item_count: int) -> int:
        band = _size_band(item_count)
        if band not in self._bands:
            self._bands[band] = prep_minutes_quote(self.restaurant, item_count=item_count)
        return self._bands[band]


Moment = TypeVar("Moment", datetime, float)


def queue_start(now: Moment, ahead: Iterable[Moment], stations: int) -> Moment:
    """When a kitchen of `stations` stations can start one more order, given when each order
    ahead of it will be ready: at once while fewer than `stations` of them are unfinished, else
    when all but `stations` - 1 of them are ready. Shared with bench/kitchen_day.py."""
    unfinished = sorted((ready for ready in ahead if ready > now), reverse=True)
    return unfinished[stations - 1] if len(unfinished) >= stations else now


@dataclass
class Ticket:
    placed_at: datetime
    ready_at: datetime
    item_count: int


@dataclass
class KitchenQueue:
    """The orders one kitchen has in hand, with when it expects each ready (their quotes)."""

    stations: int
    tickets: dict[Any, Ticket] = field(default_factory=dict)

    def start_for(self, *, now: datetime, order_id: Any = None, placed_at: datetime | None = None) -> datetime:
        """When a station is free for an order: after the orders placed before it (a new order:
        after all of them)."""
        ahead = (
            ticket.ready_at
            for pk, ticket in self.tickets.items()
            if pk != order_id and (placed_at is None or ticket.placed_at < placed_at)
        )
        return queue_start(now, ahead, self.stations)

    def requote(self, order_id: Any, ready_at: datetime) -> None:
        if order_id in self.tickets:
            self.tickets[order_id].ready_at = ready_at


def kitchen_queue(restaurant: Restaurant) -> KitchenQueue:
    """The restaurant's queue, in one query: its orders in hand with a quote, except orders for
    later not yet released (they are not the kitchen's work yet)."""
    rows = (
        Order.objects.filter(restaurant=restaurant, status__in=QUEUED_STATUSES, estimated_ready_at__isnull=False)
        .exclude(release_at__isnull=False, released_at__isnull=True)
        .annotate(size=Sum("items__quantity"))
        .values_list("pk", "placed_at", "estimated_ready_at", "size")
    )
    tickets = {pk: Ticket(placed, ready, size or 0) for pk, placed, ready, size in rows if ready is not None}
    return KitchenQueue(stations=restaurant.kitchen_stations, tickets=tickets)


def order_size(*, restaurant: Restaurant, item_count: int) -> int:
    """What an order takes of a slot: one order, or its items."""
    return item_count if restaurant.slot_capacity_unit == SlotCapacityUnit.ITEMS else 1


def slot_loads(restaurant: Restaurant, slots: list[datetime]) -> dict[datetime, int]:
    """Orders (or items) already in each slot."""
    rows = Order.objects.filter(restaurant=restaurant, slot_at__in=slots).exclude(status__in=NOT_COOKING)
    loads = dict.fromkeys(slots, 0)
    if restaurant.slot_capacity_unit == SlotCapacityUnit.ITEMS:
        counted = rows.values("slot_at").annotate(load=Sum("items__quantity")).values_list("slot_at", "load")
    else:
        counted = rows.values("slot_at").annotate(load=Count("id")).values_list("slot_at", "load")
    for slot, load in counted:
        if slot is not None:
            loads[slot] = load or 0
    return loads


def _has_room(restaurant: Restaurant, load: int, size: int) -> bool:
    # An order larger than a whole slot fits an empty one.
    return restaurant.slot_capacity is None or load == 0 or load + size <= restaurant.slot_capacity


def free_slots(restaurant: Restaurant, *, start: datetime, size: int, hours: WeeklyHours, count: int) -> list[datetime]:
    """The first `count` slots from `start` with room for `size`, while the kitchen is open."""
    slots = [slot_start(start) + SLOT * index for index in range(SLOT_SEARCH)]
    loads = slot_loads(restaurant, slots)
    found = []
    for slot in slots:
        if _has_room(restaurant, loads[slot], size) and hours.is_open_at(max(slot, start)):
            found.append(slot)
            if len(found) == count:
                break
    return found


@dataclass(frozen=True)
class Intake:
    """What placing needs from the kitchen: the quote and, for an order for later, its release."""

    prep_minutes: int
    ready_at: datetime
    slot_at: datetime
    fulfill_at: datetime | None = None
    release_at: datetime | None = None


def kitchen_refusal(state: KitchenState, *, scheduled: bool) -> None:
    """Refuse an order the kitchen does not take now: paused (any order), closed (ASAP only)."""
    if state.status == EffectiveStatus.PAUSED:
        when = f" until {iso(state.until)}" if state.until else ""
        raise RestaurantPaused(f"The kitchen has paused new orders{when}.", reopens_at=iso(state.reopens_at))
    if state.status == EffectiveStatus.CLOSED and not scheduled:
        raise RestaurantClosed(
            "The restaurant is closed now; order for later, or when it opens.", reopens_at=iso(state.reopens_at)
        )


def kitchen_intake(
    *,
    restaurant: Restaurant,
    item_count: int,
    now: datetime,
    travel: timedelta,
    fulfill_at: datetime | None = None,
) -> Intake:
    """The kitchen's answer to an order: refused (closed, paused, slot full, a time it cannot
    keep), or its quote, slot and release. `travel`: from the kitchen to the customer (zero for
    pickup). Call it under the restaurant's row lock when the kitchen has a slot capacity, so
    that two customers racing for the last place get one place."""
    hours = weekly_hours(restaurant, around=fulfill_at or now)
    state = kitchen_state(restaurant, at=now, hours=hours if fulfill_at is None else None)
    kitchen_refusal(state, scheduled=fulfill_at is not None)
    prep = prep_minutes_quote(restaurant, item_count=item_count) + state.busy_minutes
    size = order_size(restaurant=restaurant, item_count=item_count)
    earliest_ready = kitchen_queue(restaurant).start_for(now=now) + timedelta(minutes=prep)
    if fulfill_at is None:
        free = free_slots(restaurant, start=earliest_ready, size=size, hours=hours, count=1)
        first = free[0] if free else slot_start(earliest_ready)
        return Intake(prep_minutes=prep, ready_at=max(earliest_ready, first), slot_at=first)

    ready_at = fulfill_at - travel
    if ready_at < earliest_ready:
        raise ValidationFailed(
            {"fulfill_at": [f"The earliest time this order can make is {iso(earliest_ready + travel)}."]}
        )
    horizon = timedelta(days=settings.ORDERFLOW_ORDER_AHEAD_DAYS)
    if fulfill_at > now + horizon:
        raise ValidationFailed({"fulfill_at": [f"At most {horizon.days} days ahead."]})
    if not hours.is_open_at(ready_at):
        opening = hours.next_opening(ready_at)
        raise ValidationFailed(
            {
                "fulfill_at": [
                    f"The restaurant is closed then; it next opens at {iso(opening)}."
                    if opening
                    else "The restaurant is closed then."
                ]
            }
        )
    slot = slot_start(ready_at)
    if not _has_room(restaurant, slot_loads(restaurant, [slot])[slot], size):
        after = free_slots(restaurant, start=slot, size=size, hours=hours, count=FREE_SLOTS_LISTED)
        raise SlotFull(
            "That slot is fully booked; pick one of the next free slots.",
            next_free_slots=[iso(free + travel) for free in after],
        )
    return Intake(
        prep_minutes=prep,
        ready_at=ready_at,
        slot_at=slot,
        fulfill_at=fulfill_at,
        release_at=ready_at - timedelta(minutes=prep),
    )


def slot_board(restaurant: Restaurant, *, now: datetime, count: int = 8) -> list[dict[str, Any]]:
    """The load of the kitchen's next `count` slots, from the current one, for its board."""
    slots = [slot_start(now) + SLOT * index for index in range(count)]
    loads = slot_loads(restaurant, slots)
    return [
        {
            "start": iso(slot),
            "load": loads[slot],
            "capacity": restaurant.slot_capacity,
            "unit": restaurant.slot_capacity_unit,
        }
        for slot in slots
    ]
