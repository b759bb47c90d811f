"""A simulated day in one kitchen: how good the quoted ready times are, and how long couriers and
food wait, with and without what docs/kitchen.md describes.

A restaurant with a fixed capacity (STATIONS orders cooked at once, SLOT_CAPACITY orders per
15-minute slot) takes a day of orders with a lunch and a dinner peak (Poisson arrivals). Each
order's true preparation time depends on its size and varies (log-normal); the restaurant's
configured average is the usual 20 minutes. The kitchen cooks first come, first served.

Each order is quoted twice in the same run, as orders.kitchen quotes it now (from when a station
is free after the orders in hand, orders.kitchen.queue_start) and as it quoted before the queue
counted (from now); both add a preparation time that is either the configured average, or
learned: the median confirmed-to-ready time of the restaurant's last
ORDERFLOW_PREP_HISTORY_ORDERS orders of the same size band (orders.kitchen.SIZE_BANDS, at least
MIN_HISTORY of them), and both follow the slot rule (an order in a full slot is quoted the next
free one). The figures are the quote made at placement against when the order was really ready.

Couriers ride to the restaurant (3-15 minutes) and are sent either at confirmation, or timed
(delivery.dispatch.dispatch_due) so that their ride ends at the quoted ready time. Reported:
quote error |quoted - actual| median and p90 and the share ready later than quoted, with and
without learned times, with and without the queue; the courier's wait at the counter and the food's wait on the pass,
median and p90, with and without timed dispatch. Pure computation: no database, seeded.

    .venv/bin/python bench/kitchen_day.py [--seed 7] [--days 3]
"""

import argparse
import math
import os
import random
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from django.conf import settings  # noqa: E402

from orders.kitchen import MIN_HISTORY, SIZE_BANDS, queue_start  # noqa: E402

STATIONS = 4
SLOT_MINUTES = 15
SLOT_CAPACITY = 9
CONFIGURED_PREP_MINUTES = 20
OPEN_MINUTES = (11 * 60, 22 * 60)
# Orders per hour: a base rate, and the peaks (centre in minutes of the day, width, height).
BASE_RATE = 4.0
PEAKS = ((12 * 60 + 30, 45, 9.0), (19 * 60, 60, 11.0))


def band_of(items: int) -> tuple[int, int]:
    return next(band for band in SIZE_BANDS if band[0] <= items <= band[1])


def true_prep_minutes(rng: random.Random, items: int) -> float:
    """What an order really takes: 9 minutes plus 3.5 an item, give or take (log-normal)."""
    return (9 + 3.5 * items) * rng.lognormvariate(0, 0.25)


def arrival_rate(minute: float) -> float:
    return BASE_RATE + sum(h * math.exp(-(((minute - c) / w) ** 2)) for c, w, h in PEAKS)


@dataclass
class Order:
    placed: float
    items: int
    ride: float
    true_prep: float
    # The quote without the queue (now + preparation, then the slot rule), and with it.
    quoted_ready: float = 0.0
    queue_quote: float = 0.0
    started: float = 0.0
    ready: float = 0.0

    def quote(self, queued: bool) -> float:
        return self.queue_quote if queued else self.quoted_ready


@dataclass
class Kitchen:
    learned: bool
    history: dict = field(default_factory=dict)
    # When each station is really free.
    stations: list = field(default_factory=lambda: [0.0] * STATIONS)
    # Orders placed and not yet ready: the kitchen's queue.
    in_hand: list = field(default_factory=list)
    # Each way of quoting books its own slots.
    slots: dict = field(default_factory=lambda: {False: {}, True: {}})

    def prep_estimate(self, items: int, now: float) -> float:
        """The configured average, or the median of the last orders of this size ready by `now`."""
        if not self.learned:
            return CONFIGURED_PREP_MINUTES
        done = [took for ready, took in self.history.get(band_of(items), []) if ready <= now]
        done = done[-settings.ORDERFLOW_PREP_HISTORY_ORDERS :]
        return statistics.median(done) if len(done) >= MIN_HISTORY else CONFIGURED_PREP_MINUTES

    def believed_ready(self, order: Order, now: float) -> float:
        """When the kitchen expects an order in hand ready (its `estimated_ready_at`): cooking,
        from its start (the quotes' refresh); still waiting, its queue-aware quote."""
        if order.started <= now:
            return order.started + self.prep_estimate(order.items, now)
        return order.queue_quote

    def quote(self, order: Order, *, queued: bool) -> float:
        """As orders.kitchen.kitchen_intake quotes: from now (`queued` False, the quote before
        the queue counted) or from when a station is free after the orders in hand
        (orders.kitchen.queue_start), plus the preparation estimate, pushed to a slot with room."""
        now = order.placed
        start = now
        if queued:
            self.in_hand = [o for o in self.in_hand if o.ready > now]
            start = queue_start(now, [self.believed_ready(o, now) for o in self.in_hand], STATIONS)
        ready = start + self.prep_estimate(order.items, now)
        slots = self.slots[queued]
        slot = int(ready // SLOT_MINUTES)
        while slots.get(slot, 0) >= SLOT_CAPACITY:
            slot += 1
        slots[slot] = slots.get(slot, 0) + 1
        return max(ready, slot * SLOT_MINUTES)

    def cook(self, order: Order) -> None:
        index = min(range(STATIONS), key=lambda i: self.stations[i])
        order.started = max(order.placed, self.stations[index])
        order.ready = order.started + order.true_prep
        self.stations[index] = order.ready
        self.in_hand.append(order)
        self.history.setdefault(band_of(order.items), []).append((order.ready, order.ready - order.started))


def day_of_orders(rng: random.Random) -> list[Order]:
    orders: list[Order] = []
    minute = float(OPEN_MINUTES[0])
    peak = max(arrival_rate(m) for m in range(*OPEN_MINUTES))
    while True:
        # Thinning: a Poisson process whose rate follows the day.
        minute += rng.expovariate(peak / 60)
        if minute >= OPEN_MINUTES[1]:
            return orders
        if rng.random() < arrival_rate(minute) / peak:
            items = min(12, 1 + int(rng.expovariate(1 / 2.2)))
            orders.append(Order(minute, items, rng.uniform(3, 15), true_prep_minutes(rng, items)))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(seed: int, days: int, *, learned: bool) -> list[Order]:
    rng = random.Random(seed)
    kitchen = Kitchen(learned=learned)
    served = []
    for day in range(days):
        for slots in kitchen.slots.values():
            slots.clear()
        for order in day_of_orders(rng):
            order.placed += day * 24 * 60
            order.quoted_ready = kitchen.quote(order, queued=False)
            order.queue_quote = kitchen.quote(order, queued=True)
            kitchen.cook(order)
            served.append(order)
    return served


def waits(orders: list[Order], *, timed: bool, queued: bool = True) -> tuple[list[float], list[float]]:
    courier, food = [], []
    for order in orders:
        set_off = max(order.placed, order.quote(queued) - order.ride) if timed else order.placed
        arrives = set_off + order.ride
        courier.append(max(0.0, order.ready - arrives))
        food.append(max(0.0, arrives - order.ready))
    return courier, food


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{args.days} simulated days, seed {args.seed}: {STATIONS} stations, {SLOT_CAPACITY} orders per"
        f" {SLOT_MINUTES}-minute slot, configured preparation {CONFIGURED_PREP_MINUTES} min"
    )
    results = {}
    for learned in (False, True):
        orders = run(args.seed, args.days, learned=learned)
        # The first day teaches: figures are from the days after it.
        measured = [o for o in orders if o.placed >= 24 * 60] if args.days > 1 else orders
        for queued in (False, True):
            errors = [abs(o.quote(queued) - o.ready) for o in measured]
            late = sum(o.ready > o.quote(queued) + 0.5 for o in measured) / len(measured)
            times = "learned preparation" if learned else "configured average"
            name = f"{times}, {'with the queue' if queued else 'without the queue'}"
            print(
                f"quotes, {name:44}: {len(measured)} orders, |quoted - actual| median "
                f"{statistics.median(errors):.1f} min, p90 {percentile(errors, 0.9):.1f} min; "
                f"ready later than quoted {late:.0%}"
            )
        results[learned] = measured
    for name, timed, queued in (
        ("at confirmation", False, True),
        ("timed, quote without the queue", True, False),
        ("timed, quote with the queue", True, True),
    ):
        courier, food = waits(results[True], timed=timed, queued=queued)
        print(
            f"couriers sent {name:30}: courier waits median {statistics.median(courier):.1f} min,"
            f" p90 {percentile(courier, 0.9):.1f} min; food waits median {statistics.median(food):.1f} min,"
            f" p90 {percentile(food, 0.9):.1f} min"
        )


if __name__ == "__main__":
    main()
