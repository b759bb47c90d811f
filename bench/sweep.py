"""One deadline sweep over 100,000 open orders of which 10,000 are overdue, on PostgreSQL.

Measures, in the same run and on the same table:
  - the sweep's query for overdue order ids (partial index `order_deadline_idx`), against the
    same query made to scan the whole table (index scans switched off): the baseline;
  - the same two when nothing is overdue (what most sweeps, every few seconds, find);
  - carrying out all 10,000 deadlines through the transition service: the first 2,000 one per
    transaction, each event published on its own (the baseline), the rest in batched
    transactions whose events are published together.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderflow_jobs .venv/bin/python bench/sweep.py
"""

import argparse
import multiprocessing
import os
import statistics
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from _setup import scratch_database
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from config.gc_tuning import tune_garbage_collection
from orders.models import DeadlineKind, Order, OrderStatus
from orders.services.deadlines import orders_sweep_overdue
from restaurants.models import Restaurant


def build(total: int, overdue: int) -> None:
    now = timezone.now()
    restaurant = Restaurant.objects.create(
        name="Bench Kitchen", address="1 Bench Street", latitude=Decimal("37.7749"), longitude=Decimal("-122.4194")
    )
    customer = get_user_model().objects.create_user(username="bench-customer")
    batch = []
    for n in range(total):
        late = n < overdue
        batch.append(
            Order(
                id=uuid.uuid4(),
                number=f"BENCH-{n:07d}",
                customer=customer,
                restaurant=restaurant,
                status=OrderStatus.ORDER_PLACED,
                payment_method="cod",
                currency="USD",
                subtotal=Decimal("20.00"),
                total=Decimal("20.00"),
                placed_at=now - timedelta(minutes=20),
                updated_at=now - timedelta(minutes=20),
                # Overdue ones passed their deadline up to 5 minutes ago; the rest are due within the hour.
                deadline_at=now - timedelta(seconds=1 + n % 300) if late else now + timedelta(seconds=60 + n % 3600),
                deadline_kind=DeadlineKind.CONFIRMATION,
            )
        )
        if len(batch) == 5000:
            Order.objects.bulk_create(batch)
            batch = []
    Order.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")


def overdue_query(now, limit):
    return Order.objects.filter(deadline_at__lte=now).order_by("deadline_at").values_list("pk", flat=True)[:limit]


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def full_scan(fn):
    def run():
        with connection.cursor() as cursor:
            cursor.execute("SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off")
        try:
            return fn()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET enable_indexscan; RESET enable_bitmapscan; RESET enable_indexonlyscan")

    return run


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n  ".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--overdue", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--baseline", type=int, default=2_000, help="overdue orders carried out one at a time")
    parser.add_argument("--sweepers", type=int, default=os.cpu_count(), help="sweeps at once (default: one per core)")
    args = parser.parse_args()
    batch = settings.ORDERFLOW_SWEEP_BATCH_SIZE
    tune_garbage_collection()  # as in a Celery worker process (config/celery.py), where sweeps run

    with scratch_database():
        started = time.perf_counter()
        build(args.orders, args.overdue)
        print(f"built {args.orders:,} open orders ({args.overdue:,} overdue) in {time.perf_counter() - started:.1f} s")
        now = timezone.now()
        quiet = now - timedelta(hours=1)

        rows = [
            ("overdue ids, one batch", lambda: list(overdue_query(now, batch))),
            ("overdue ids, all of them", lambda: list(overdue_query(now, args.overdue))),
            ("nothing overdue (typical sweep)", lambda: list(overdue_query(quiet, batch))),
        ]
        print(f"\nquery plan (indexed):\n  {plan(overdue_query(now, batch))}")
        print(f"\n{'query':34} {'indexed':>12} {'full scan':>12} {'speed-up':>9}")
        for label, fn in rows:
            indexed = timed(fn, args.repeat)
            scanned = timed(full_scan(fn), args.repeat)
            print(f"{label:34} {indexed * 1000:9.2f} ms {scanned * 1000:9.2f} ms {scanned / indexed:8.1f}x")

        # Baseline, same run: the first orders one per transaction, each event published on its own.
        with override_settings(ORDERFLOW_SWEEP_TRANSACTION_SIZE=1):
            single = carry_out(now, batch, args.baseline)
        rest = args.overdue - args.baseline
        batched = carry_out(now, batch, rest // 2)
        parallel = carry_out_in_parallel(now, batch, rest - batched[0], args.sweepers)
        cancelled = Order.objects.filter(status=OrderStatus.CANCELLED).count()
        assert single[0] + batched[0] + parallel[0] == cancelled == args.overdue, (single, batched, parallel, cancelled)
        print("\ncarrying out deadlines through the transition service (lock, check, save, event, publish):")
        size = settings.ORDERFLOW_SWEEP_TRANSACTION_SIZE
        runs = (
            ("baseline: one order per transaction", single),
            (f"batched: {size} orders per transaction", batched),
            (f"batched, {args.sweepers} sweeps at once", parallel),
        )
        for label, (enforced, elapsed) in runs:
            print(
                f"  {label:40} {enforced:6,} in {elapsed:5.1f} s: {enforced / elapsed:6,.0f} orders/s, "
                f"{elapsed / enforced * 1000:.2f} ms each"
            )
        baseline_rate = single[0] / single[1]
        print(
            f"  speed-up: {(batched[0] / batched[1]) / baseline_rate:.1f}x batched, "
            f"{(parallel[0] / parallel[1]) / baseline_rate:.1f}x with {args.sweepers} sweeps at once"
        )


def carry_out(now, batch: int, count: int) -> tuple[int, float]:
    """Sweep until `count` overdue orders are carried out: (carried out, seconds)."""
    started = time.perf_counter()
    enforced = 0
    while enforced < count:
        report = orders_sweep_overdue(now=now, limit=min(batch, count - enforced))
        enforced += report.enforced
        if report.found == 0:
            break
    return enforced, time.perf_counter() - started


def carry_out_in_parallel(now, batch: int, count: int, sweepers: int) -> tuple[int, float]:
    """`sweepers` processes sweeping at once, as a Celery worker's processes do when a sweep is
    still busy with a backlog when the next one starts: SKIP LOCKED shares the orders out."""
    connection.close()
    if hasattr(connection, "close_pool"):
        connection.close_pool()  # each process opens its own connections
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    with context.Pool(sweepers) as pool:
        results = pool.starmap(_sweeper, [(now, batch, count // sweepers + 1)] * sweepers)
    return sum(results), time.perf_counter() - started


def _sweeper(now, batch: int, count: int) -> int:
    connection.close()
    try:
        return carry_out(now, batch, count)[0]
    finally:
        connection.close()


if __name__ == "__main__":
    main()
