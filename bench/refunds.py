"""Refunds processed per second by one Celery worker, against the provider's latency floor.

Opens N refunds for cancelled paid orders, starts one real worker process (Redis broker,
PostgreSQL), queues the N refund tasks and times until every refund is COMPLETED. The
simulated provider takes LATENCY seconds per call, so one worker process working one task
at a time can do at most 1/LATENCY refunds per second: that floor is the baseline, and
the run with no latency shows the cost of the rest (locks, two transactions, three events).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderflow_jobs REDIS_URL=redis://127.0.0.1:6379/3 \\
      .venv/bin/python bench/refunds.py

The queue it empties before each run is its own: BENCH_REDIS_URL, by default REDIS_URL's
server with database 15, is the broker, result backend, cache and channel layer of the
benchmark and of its worker, so a run can never wipe the queue of a live deployment.
"""

# ruff: noqa: E402 - the benchmark's Redis must be in the environment before _setup starts Django.
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_REDIS_DB = 15


def bench_redis_url(environ) -> str:
    """BENCH_REDIS_URL, or REDIS_URL's server with database 15; never a queue a deployment uses."""
    live = {environ.get(name) for name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")} - {None, ""}
    url = environ.get("BENCH_REDIS_URL")
    if not url:
        if not environ.get("REDIS_URL"):
            sys.exit("The refund benchmark runs a real worker on Redis: set REDIS_URL=redis://...")
        parts = urlsplit(environ["REDIS_URL"])
        url = urlunsplit(parts._replace(path=f"/{BENCH_REDIS_DB}"))
    if url in live:
        sys.exit(
            f"The benchmark empties its Redis queue; {url} is the deployment's: set BENCH_REDIS_URL to another db."
        )
    return url


# Before Django reads the settings; the worker inherits the environment.
_bench_redis = bench_redis_url(os.environ)
os.environ.update(REDIS_URL=_bench_redis, CELERY_BROKER_URL=_bench_redis, CELERY_RESULT_BACKEND=_bench_redis)

import redis
from _setup import ROOT, database_url, scratch_database
from django.conf import settings
from django.contrib.auth import get_user_model

from config.celery import app as celery_app
from orders.models import Order, OrderStatus, PaymentStatus, RefundStatus
from payments.models import Payment, PaymentRecordStatus, Refund, RefundRecordStatus
from payments.tasks import refund_process_task
from restaurants.models import Restaurant


def open_refunds(count: int) -> list[str]:
    restaurant = Restaurant.objects.create(
        name="Bench Kitchen", address="1 Bench Street", latitude=Decimal("37.7749"), longitude=Decimal("-122.4194")
    )
    customer, _ = get_user_model().objects.get_or_create(username="bench-customer")
    orders, payments, refunds = [], [], []
    for _ in range(count):
        order = Order(
            id=uuid.uuid4(),
            number=f"BENCH-R-{uuid.uuid4().hex[:12]}",
            customer=customer,
            restaurant=restaurant,
            status=OrderStatus.CANCELLED,
            payment_method="online",
            payment_status=PaymentStatus.PAID,
            refund_status=RefundStatus.PENDING,
            currency="USD",
            subtotal=Decimal("20.00"),
            total=Decimal("20.00"),
            placed_at=restaurant.created_at,
            updated_at=restaurant.created_at,
            paid_at=restaurant.created_at,
        )
        payment = Payment(
            order=order,
            provider="simulated",
            provider_reference=f"sim_ch_{order.pk.hex}",
            amount=order.total,
            currency="USD",
            status=PaymentRecordStatus.SUCCEEDED,
        )
        orders.append(order)
        payments.append(payment)
        refunds.append(Refund(order=order, payment=payment, amount=order.total, currency="USD"))
    Order.objects.bulk_create(orders)
    Payment.objects.bulk_create(payments)
    Refund.objects.bulk_create(refunds)
    return [str(refund.pk) for refund in refunds]


def start_worker(database: str, latency: float, concurrency: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(database),
        "ORDERFLOW_SIMULATED_PROVIDER_LATENCY_SECONDS": str(latency),
        "ORDERFLOW_SIMULATED_PROVIDER_FAILURE_RATE": "0",
        "LOG_LEVEL": "WARNING",
    }
    worker = [sys.executable, "-m", "celery", "-A", "config", "worker", f"--concurrency={concurrency}"]
    quiet = ["--loglevel=INFO", "--without-gossip", "--without-mingle", f"--logfile={log}"]
    process = subprocess.Popen(
        worker + quiet,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if log.exists() and " ready." in log.read_text():
            return process
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    sys.exit(f"the worker did not start; see {log}")


def run(count: int, latency: float, concurrency: int, workdir: Path) -> float:
    Refund.objects.all().delete()
    Order.objects.all().delete()
    refund_ids = open_refunds(count)
    log = workdir / f"worker-{latency}.log"
    worker = start_worker(settings.DATABASES["default"]["NAME"], latency, concurrency, log)
    try:
        started = time.perf_counter()
        for refund_id in refund_ids:
            refund_process_task.delay(refund_id)
        while Refund.objects.filter(status=RefundRecordStatus.COMPLETED).count() < count:
            if time.perf_counter() - started > 600:
                sys.exit(f"refunds did not complete in time; see {log}")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert Order.objects.filter(status=OrderStatus.REFUND_COMPLETED).count() == count
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--refunds", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05, help="simulated provider latency, seconds")
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes of the one worker")
    args = parser.parse_args()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery", "unacked", "unacked_index")
    celery_app.conf.task_always_eager = False

    with scratch_database(), tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        floor = args.concurrency / args.latency
        with_latency = run(args.refunds, args.latency, args.concurrency, workdir)
        without = run(args.refunds, 0.0, args.concurrency, workdir)
        print(f"one worker, {args.concurrency} pool process(es), {args.refunds} refunds per run")
        print(f"{'provider latency':18} {'refunds/s':>10} {'latency floor':>14} {'of floor':>9}")
        print(f"{args.latency * 1000:15.0f} ms {with_latency:10.1f} {floor:14.1f} {with_latency / floor:8.0%}")
        print(f"{0:15.0f} ms {without:10.1f} {'-':>14} {'-':>9}")


if __name__ == "__main__":
    main()
