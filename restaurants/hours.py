"""When a restaurant takes orders: its weekly hours, their exceptions and the kitchen's status.

Pure reads (docs/kitchen.md). The effective status is computed at read time from the stored one
and its `until`: a pause or busy spell that has run out reads as open without anything having
to write first (the beat task that clears it only tells the screens).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.timestamps import iso
from restaurants.models import KitchenStatus, OpeningException, OpeningHours, Restaurant

# How far ahead the next opening is looked for.
LOOKAHEAD_DAYS = 14

Interval = tuple[datetime, datetime]


class EffectiveStatus:
    OPEN = "open"
    CLOSED = "closed"
    PAUSED = "paused"
    BUSY = "busy"


@dataclass(frozen=True)
class WeeklyHours:
    """A restaurant's hours, loaded once: the week's openings and the exceptions by date."""

    zone: ZoneInfo
    weekly: dict[int, list[tuple[time, time]]]
    exceptions: dict[date, list[tuple[time, time]]]
    # Whether any hours are set: a restaurant without any is open at every hour.
    restricted: bool

    def intervals_on(self, day: date) -> list[Interval]:
        """The openings that start on `day` (local), as aware datetimes."""
        spans = self.exceptions[day] if day in self.exceptions else self.weekly.get(day.weekday(), [])
        intervals = []
        for opens, closes in spans:
            start = datetime.combine(day, opens, tzinfo=self.zone)
            end_day = day if closes > opens else day + timedelta(days=1)
            intervals.append((start, datetime.combine(end_day, closes, tzinfo=self.zone)))
        return intervals

    def _around(self, at: datetime, days: int) -> Iterable[Interval]:
        local_day = at.astimezone(self.zone).date()
        for offset in range(-1, days + 1):
            yield from self.intervals_on(local_day + timedelta(days=offset))

    def is_open_at(self, at: datetime) -> bool:
        if not self.restricted:
            return True
        return any(start <= at < end for start, end in self._around(at, 0))

    def next_opening(self, at: datetime) -> datetime | None:
        """`at` itself when open then, else the start of the next opening (None: none in sight)."""
        if self.is_open_at(at):
            return at
        starts = [start for start, _ in self._around(at, LOOKAHEAD_DAYS) if start > at]
        return min(starts, default=None)


def weekly_hours(restaurant: Restaurant, *, around: datetime) -> WeeklyHours:
    """The restaurant's hours near `around` (its `opening_hours` and `opening_exceptions`, which
    a listing prefetches)."""
    zone = ZoneInfo(restaurant.time_zone)
    weekly: dict[int, list[tuple[time, time]]] = {}
    rows: list[OpeningHours] = list(restaurant.opening_hours.all())
    for row in rows:
        weekly.setdefault(row.weekday, []).append((row.opens, row.closes))
    first = around.astimezone(zone).date() - timedelta(days=1)
    last = first + timedelta(days=LOOKAHEAD_DAYS + 2)
    exceptions: dict[date, list[tuple[time, time]]] = {}
    exception_rows: list[OpeningException] = list(restaurant.opening_exceptions.all())
    for exception in exception_rows:
        if not first <= exception.date <= last:
            continue
        spans = exceptions.setdefault(exception.date, [])
        if exception.opens is not None and exception.closes is not None:
            spans.append((exception.opens, exception.closes))
    return WeeklyHours(zone=zone, weekly=weekly, exceptions=exceptions, restricted=bool(rows or exception_rows))


@dataclass(frozen=True)
class KitchenState:
    status: str
    # Minutes added to every quote (busy only).
    busy_minutes: int
    # When the pause or busy spell ends by itself.
    until: datetime | None
    # Paused or closed: when orders are taken again (None: not known).
    reopens_at: datetime | None


def stored_status_in_force(restaurant: Restaurant, at: datetime) -> str:
    """The status staff set, unless its end time has passed (then: open)."""
    until = restaurant.kitchen_status_until
    if restaurant.kitchen_status != KitchenStatus.OPEN and until is not None and until <= at:
        return KitchenStatus.OPEN
    return restaurant.kitchen_status


def kitchen_state(restaurant: Restaurant, *, at: datetime, hours: WeeklyHours | None = None) -> KitchenState:
    hours = hours or weekly_hours(restaurant, around=at)
    stored = stored_status_in_force(restaurant, at)
    until = restaurant.kitchen_status_until if stored != KitchenStatus.OPEN else None
    if stored == KitchenStatus.PAUSED:
        reopens = hours.next_opening(until) if until is not None else None
        return KitchenState(EffectiveStatus.PAUSED, 0, until, reopens)
    if not hours.is_open_at(at):
        return KitchenState(EffectiveStatus.CLOSED, 0, None, hours.next_opening(at))
    if stored == KitchenStatus.BUSY:
        return KitchenState(EffectiveStatus.BUSY, restaurant.busy_minutes, until, None)
    return KitchenState(EffectiveStatus.OPEN, 0, None, None)


def busy_minutes_at(restaurant: Restaurant, at: datetime) -> int:
    return restaurant.busy_minutes if stored_status_in_force(restaurant, at) == KitchenStatus.BUSY else 0


def kitchen_status_payload(restaurant: Restaurant, *, at: datetime) -> dict:
    """The kitchen's status as the board, the listing and the API show it."""
    state = kitchen_state(restaurant, at=at)
    return {
        "restaurant_id": str(restaurant.pk),
        "status": state.status,
        "busy_minutes": state.busy_minutes,
        "until": iso(state.until),
        "reopens_at": iso(state.reopens_at),
        "time_zone": restaurant.time_zone,
    }
