"""What outbound webhooks cost: recording each committed event, and delivering it over HTTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderflow .venv/bin/python bench/webhooks.py [--orders 200]

In a scratch database (`<name>_bench`), with a receiver on loopback in this process:

1. places and moves `--orders` orders (4 events each) through the services, without and then
   with one subscribed endpoint: the difference is what recording costs a transition;
2. delivers every recorded event with `webhook_deliver_queue` (one process, one queue after
   the other), against the baseline of the same number of signed POSTs sent straight to the
   receiver with urllib3 (no database, no lock, no log).
"""

import argparse
import json
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Tasks go nowhere: the benchmark drives delivery itself.
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ["CELERY_RESULT_BACKEND"] = "cache+memory://"
os.environ["ORDERFLOW_WEBHOOK_ALLOW_PRIVATE_ADDRESSES"] = "1"

import urllib3
from _setup import scratch_database
from django.db import transaction

from core.actors import Actor
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.signing import signature_header
from notifications.webhooks import webhook_deliver_queue
from orders.models import OrderStatus
from orders.services.placing import DeliveryAddress, OrderLine, order_place
from orders.services.transitions import order_transition
from tests.factories import MenuItemFactory, RestaurantFactory, StaffFactory, UserFactory
from tests.notifications.receiver import Receiver

STEPS = (OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP)
ADDRESS = DeliveryAddress(street="1 Main St", city="SF", latitude=Decimal("37.78"), longitude=Decimal("-122.40"))


def run_orders(count, customer, staff, item) -> list[float]:
    """Per-transition wall time (ms), the after-commit subscribers included."""
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        with transaction.atomic():
            order = order_place(
                customer=customer,
                restaurant_id=item.restaurant_id,
                lines=[OrderLine(menu_item_id=item.pk, quantity=1)],
                delivery_type="delivery",
                payment_method="cod",
                address=ADDRESS,
            )
        timings.append((time.perf_counter() - start) * 1000)
        for target in STEPS:
            start = time.perf_counter()
            order_transition(order_id=order.pk, target=target, actor=Actor.restaurant(staff))
            timings.append((time.perf_counter() - start) * 1000)
    return timings


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    with scratch_database():
        receiver = Receiver()
        restaurant = RestaurantFactory()
        item = MenuItemFactory(restaurant=restaurant, price="10.00")
        staff = StaffFactory(restaurant=restaurant).user
        customer = UserFactory()

        without = run_orders(args.orders, customer, staff, item)
        endpoint = WebhookEndpoint.objects.create(name="bench", url=receiver.url, secret="whsec_bench")
        with_endpoint = run_orders(args.orders, customer, staff, item)
        recorded = WebhookDelivery.objects.count()

        queues = list(WebhookDelivery.objects.values_list("order_id", flat=True).distinct())
        start = time.perf_counter()
        delivered = sum(webhook_deliver_queue(endpoint_id=endpoint.pk, order_id=order_id) for order_id in queues)
        delivery_seconds = time.perf_counter() - start
        latencies = [ms for ms in WebhookDelivery.objects.values_list("last_latency_ms", flat=True) if ms is not None]

        distinct_at_receiver = len(receiver.accepted())
        bodies = list(WebhookDelivery.objects.values_list("payload", flat=True))
        raw = []
        start = time.perf_counter()
        for payload in bodies:
            body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
            ts = int(time.time())
            t0 = time.perf_counter()
            # A new connection per POST, as each delivery makes.
            pool = urllib3.PoolManager(retries=False)
            pool.request(
                "POST",
                receiver.url,
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Orderflow-Timestamp": str(ts),
                    "X-Orderflow-Signature": signature_header(secrets=["whsec_bench"], timestamp=ts, body=body),
                },
            )
            raw.append((time.perf_counter() - t0) * 1000)
            pool.clear()
        raw_seconds = time.perf_counter() - start
        receiver.close()

    print(
        f"events: {len(with_endpoint)} transitions, {recorded} deliveries recorded, {delivered} delivered, "
        f"{distinct_at_receiver} distinct event ids at the receiver"
    )
    print("| measure | p50 ms | p95 ms | per second |")
    print("| --- | --- | --- | --- |")
    print(f"| transition, no endpoint (baseline) | {statistics.median(without):.2f} | {pct(without, 0.95):.2f} | - |")
    print(f"| transition, one endpoint | {statistics.median(with_endpoint):.2f} | {pct(with_endpoint, 0.95):.2f} | - |")
    print(
        f"| delivery through `webhook_deliver_queue` | {statistics.median(latencies):.2f} (HTTP only) | "
        f"{pct(latencies, 0.95):.2f} (HTTP only) | {delivered / delivery_seconds:.0f} |"
    )
    print(
        f"| raw signed POST, no database (baseline) | {statistics.median(raw):.2f} | {pct(raw, 0.95):.2f} | "
        f"{len(raw) / raw_seconds:.0f} |"
    )


if __name__ == "__main__":
    main()
