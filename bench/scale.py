"""Flat cost as data grows: the hot reads at 10 thousand, 100 thousand and 1 million orders.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderflow REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000 --samples 400 --rounds 8 --active 250]

Each size has a scratch database of its own (`<name>_scale` for the smallest, `<name>_scale_<size>`
for the others; created and dropped by the run), and the history grows from one to the next: the
smallest is loaded, copied (`CREATE DATABASE ... TEMPLATE`) and grown to the next size, and so on.
The history is a year of finished orders, each with one line, three tracking events and (card
orders) a payment, written by PostgreSQL itself (tests/bulk_orders.py: `generate_series`, about 6
minutes for a million on a 2-core machine). Two restaurants, 2,000 customers and 200 couriers share
it. What does not grow with history is the same rows at every size, as it is in production: one
regular customer's 1,000 orders, and `--active` orders placed in the last hour, still in the
kitchen, with deadlines. Every load ends with VACUUM (ANALYZE), as autovacuum would have done, and
before the timing a CHECKPOINT writes out what the loads left dirty.

Then every hot read is timed in-process through Django's test client in `--rounds` rounds; in
each round the sizes take turns (in a rotating order), and each read gets `--samples / --rounds`
calls at each size after two not counted. A slow minute of the machine thus falls on every size
alike instead of on whichever size was being timed then. The slowest SQL statement of each read is
explained at the largest size.

The table gives p50/p99 in ms per size, and the p99 at the largest size over the p99 at the
smallest (the baseline measured in the same run): the goal is at most 1.5x. The plans show
the access path PostgreSQL chose for the slowest statement of each call at the largest size.
The curves are drawn as SVG (`--svg`, by default into docs/operations/figures/scale.svg).
"""

import argparse
import contextlib
import functools
import gc
import json
import math
import os
import statistics
import sys
import time
from base64 import b64encode
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _setup import ROOT, checkpoint, end_other_sessions, scratch_database
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken
from svg_chart import line_chart

from config.gc_tuning import tune_garbage_collection
from orders.models import Order
from restaurants.services import staff_group_ensure
from tests.bulk_orders import analyze, bulk_active, bulk_orders, bulk_world
from tests.plan_limits import under_limit

REGULAR_ORDERS = 1000
CHUNK = 100_000  # orders per transaction while loading
TABS = ("to_pay", "to_ship", "to_receive", "completed", "cancelled", "returned")


def calls(world, regular_order: str, staff, deep_cursor: str) -> dict:
    """Name -> (client, path) of every hot read; the regular customer's and the staff's."""
    regular = get_user_model().objects.get(pk=world.regular_id)
    customer = Client(HTTP_AUTHORIZATION=f"Bearer {token(regular)}")
    staff_api = Client(HTTP_AUTHORIZATION=f"Bearer {token(staff)}")
    staff_admin = Client()
    staff_admin.force_login(staff)
    named = {
        "poll: lean status": (customer, f"/api/orders/{regular_order}/status/"),
        "detail": (customer, f"/api/orders/{regular_order}/"),
        "customer's list (1,000 orders)": (customer, "/api/orders/?page_size=20"),
        **{f"customer's tab {tab}": (customer, f"/api/orders/?tab={tab}&page_size=20") for tab in TABS},
        "kitchen queue": (staff_api, "/api/restaurants/orders/queue/"),
        "staff list, page 1": (staff_api, "/api/orders/?page_size=20"),
        "staff list, deep page by cursor": (staff_api, f"/api/orders/?page_size=20&cursor={deep_cursor}"),
        "staff search=X7": (staff_api, "/api/orders/?page_size=20&search=X7"),
        "admin: order list": (staff_admin, "/admin/orders/order/"),
        "admin: queue=active": (staff_admin, "/admin/orders/order/?queue=active"),
        "admin: status=COMPLETED": (staff_admin, "/admin/orders/order/?status__exact=COMPLETED"),
        "admin: search X7": (staff_admin, "/admin/orders/order/?q=X7"),
    }
    return named


def token(user) -> str:
    """An access token that outlives the timing at the largest size (minutes on a busy host)."""
    access = AccessToken.for_user(user)
    access.set_exp(lifetime=timedelta(hours=2))
    return str(access)


def overdue_detection() -> list:
    """The sweep's first query (orders.services.deadlines.orders_sweep_overdue), read only."""
    return list(
        Order.objects.filter(deadline_at__lte=timezone.now()).order_by("deadline_at").values_list("pk", flat=True)[:500]
    )


def timed(call, samples: int) -> list[float]:
    # As a production server process runs (config/gc_tuning.py): what is loaded is frozen out of
    # the collections, and the garbage of the reads before is not this one's cost.
    gc.unfreeze()
    tune_garbage_collection()
    times = []
    for n in range(samples + 2):
        started = time.perf_counter()
        outcome = call()
        elapsed = (time.perf_counter() - started) * 1000
        status = getattr(outcome, "status_code", 200)
        if status != 200:
            raise RuntimeError(f"answered {status}: {getattr(outcome, 'content', b'')[:300]!r}")
        if n >= 2:
            times.append(elapsed)
    return times


def slowest_plan(call) -> str:
    """The access paths of the statement that took longest in one call: `Index Scan using x on t`..."""
    with CaptureQueriesContext(connection) as captured:
        call()
    # The admin's paginator asks the planner for its estimate (an EXPLAIN of its own): not a read.
    reads = [query for query in captured.captured_queries if not query["sql"].lstrip().upper().startswith("EXPLAIN")]
    if not reads:
        return "no query"
    slowest = max(reads, key=lambda query: float(query["time"]))
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {slowest['sql']}")
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return "; ".join(dict.fromkeys(_scans(plan[0]["Plan"])))


def _scans(node: dict, *, limited: bool = False):
    kind = node["Node Type"]
    limited = under_limit(node, limited=limited)
    if "Scan" in kind and "Relation Name" in node:
        index = f" using {node['Index Name']}" if node.get("Index Name") else ""
        # A sequential scan under a Limit reads until it has the rows asked for (the bounded count).
        stopped = " (stopped by a Limit)" if kind == "Seq Scan" and limited else ""
        yield f"{kind}{index} on {node['Relation Name']}{stopped}"
    for child in node.get("Plans", []):
        yield from _scans(child, limited=limited)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--samples", type=int, default=400, help="calls per read and size, over all rounds")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--active", type=int, default=250)
    parser.add_argument("--svg", default=str(ROOT / "docs" / "operations" / "figures" / "scale.svg"))
    parser.add_argument("--json", default="", help="also write the figures to this file")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    if sizes[0] < REGULAR_ORDERS + args.active:
        sys.exit(f"the smallest size must hold the regular's {REGULAR_ORDERS} orders and the active ones")
    per_round = max(1, math.ceil(args.samples / args.rounds))

    # The test client's host. Not setup_test_environment(): its template instrumentation keeps
    # each rendered page's context, so the heap would grow with every admin page timed.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    results: dict[str, dict[int, list[float]]] = {}
    plans: dict[str, str] = {}
    with scratch_database(suffix="_scale") as base, database_copies(base) as copy_to:
        started = time.monotonic()
        world = bulk_world()
        bulk_orders(world, count=REGULAR_ORDERS, start=0, customer_id=world.regular_id)
        bulk_active(world, count=args.active, start=REGULAR_ORDERS)
        loaded = REGULAR_ORDERS + args.active
        staff = get_user_model().objects.get(pk=world.staff_ids[0])
        staff.is_staff = True
        staff.save(update_fields=["is_staff"])
        staff.groups.add(staff_group_ensure())
        regular_order = str(Order.objects.filter(customer_id=world.regular_id).values_list("pk", flat=True).first())
        print(f"scratch database {base}; load average {os.getloadavg()[0]:.1f}")
        databases: dict[int, str] = {}
        reads: dict[int, dict[str, Callable[[], Any]]] = {}
        for size in sizes:
            databases[size] = copy_to(f"{base}_{size}") if databases else base
            while loaded < size:
                count = min(CHUNK, size - loaded)
                bulk_orders(world, count=count, start=loaded)
                loaded += count
            analyze(vacuum=True)
            print(f"{size:,} orders in {databases[size]} ({time.monotonic() - started:.0f} s so far)", flush=True)
            named = calls(world, regular_order, staff, deep_cursor(world, staff))
            reads[size] = {name: functools.partial(client.get, path) for name, (client, path) in named.items()}
            reads[size]["sweep: overdue detection"] = overdue_detection
        checkpoint()  # what the loads and their VACUUM left dirty

        for turn in range(args.rounds):
            order = sizes[turn % len(sizes) :] + sizes[: turn % len(sizes)]
            print(f"round {turn + 1} of {args.rounds}: {', '.join(f'{size:,}' for size in order)}", flush=True)
            for size in order:
                use_database(databases[size])
                for name, call in reads[size].items():
                    results.setdefault(name, {}).setdefault(size, []).extend(timed(call, per_round))
        use_database(databases[sizes[-1]])
        for name, call in reads[sizes[-1]].items():
            plans[name] = slowest_plan(call)

    print(
        f"\n### Hot reads against orders held ({per_round * args.rounds} calls each in {args.rounds} rounds, ms;"
        " in-process, local settings)\n"
    )
    header = " | ".join(f"{size:,}: p50 / p99" for size in sizes)
    print(f"| call | {header} | p99 growth |")
    print("| --- |" + " --- |" * (len(sizes) + 1))
    worst = 0.0
    for name, by_size in results.items():
        cells = " | ".join(
            f"{statistics.median(by_size[size]):.1f} / {percentile(by_size[size], 0.99):.1f}" for size in sizes
        )
        growth = percentile(by_size[sizes[-1]], 0.99) / percentile(by_size[sizes[0]], 0.99)
        worst = max(worst, growth)
        print(f"| {name} | {cells} | {growth:.2f}x |")
    print(f"\nworst p99 growth from {sizes[0]:,} to {sizes[-1]:,} orders: {worst:.2f}x (goal <= 1.5x)")
    print(f"\n### Plans at {sizes[-1]:,} orders (the slowest statement of each call)\n")
    print("| call | access paths |")
    print("| --- | --- |")
    for name, plan in plans.items():
        print(f"| {name} | {plan} |")
    if args.svg:
        series = {
            name: [(size, percentile(by_size[size], 0.99)) for size in sizes] for name, by_size in results.items()
        }
        Path(args.svg).parent.mkdir(parents=True, exist_ok=True)
        Path(args.svg).write_text(
            line_chart(series, title="p99 of each hot read against orders held", x_label="orders held (log scale)",
                       y_label="p99, ms", log_x=True)
        )  # fmt: skip
        print(f"\ncurves: {args.svg}")
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": sizes, "results": results, "plans": plans}))


def use_database(name: str) -> None:
    """The next query connects to database `name` (the pool, if any, is closed with the connection)."""
    connection.close()
    connection.close_pool()  # type: ignore[attr-defined]  # PostgreSQL's backend, with its pool
    connection.settings_dict["NAME"] = name


@contextlib.contextmanager
def database_copies(base: str):
    """`copy_to(name)`: a copy of the database in use, named `name`, now in use. The copies are
    dropped on the way out, and `base` is in use again."""
    copies: list[str] = []

    def copy_to(name: str) -> str:
        source = connection.settings_dict["NAME"]
        use_database(source)  # closed: a template must have no sessions while it is copied
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)}")
            copies.append(name)
            cursor.execute(
                f"CREATE DATABASE {connection.ops.quote_name(name)} TEMPLATE {connection.ops.quote_name(source)}"
            )
        use_database(name)
        return name

    try:
        yield copy_to
    finally:
        use_database(base)
        with connection._nodb_cursor() as cursor:
            for name in copies:
                end_other_sessions(cursor, name)
                cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)}")


def deep_cursor(world, staff) -> str:
    """A cursor into the middle of the staff's list, as `next_cursor` would give there."""
    restaurant = world.restaurant_ids[0]
    middle = Order.objects.filter(restaurant_id=restaurant).order_by("-placed_at", "-id")
    count = middle.count()
    placed_at = middle.values_list("placed_at", flat=True)[count // 2]
    return b64encode(urlencode({"p": placed_at.isoformat()}).encode()).decode()


if __name__ == "__main__":
    main()
