"""Real Celery workers (separate processes) on the real Redis and PostgreSQL of the machine.

The workers read and write the test database, so these tests commit (`transaction=True`).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import Client

from config.celery import app as celery_app
from core.actors import ActorRole
from orders.models import EventType, OrderStatus, PaymentStatus, RefundStatus, TrackingEvent
from payments.models import Refund, RefundRecordStatus, SimulatedProviderOperation
from payments.services import refund_idempotency_key
from payments.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_signature
from tests.factories import place_order

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 90


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Workers:
    """Starts `celery -A config worker` processes pointed at the test database."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []

    def start(self, *, beat: bool = False, **env: str) -> subprocess.Popen:
        name = f"worker{len(self.processes)}"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "ORDERFLOW_PAYMENT_WEBHOOK_SECRET": settings.ORDERFLOW_PAYMENT_WEBHOOK_SECRET,
            # A message whose worker died goes back to the queue after 5 s, looked for every second.
            "CELERY_VISIBILITY_TIMEOUT_SECONDS": "5",
            "CELERY_UNACKED_RESTORE_INTERVAL_SECONDS": "1",
            "CELERY_UNACKED_RESTORE_THROTTLE": "1",
            "ORDERFLOW_SWEEP_INTERVAL_SECONDS": "1",
            "ORDERFLOW_SIMULATED_PROVIDER_FAILURE_RATE": "0",
            "ORDERFLOW_SIMULATED_PROVIDER_LATENCY_SECONDS": "0",
            **env,
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            f"--hostname={name}@%h",
        ]
        if beat:
            command += ["--beat", f"--schedule={self.tmp_path / 'beat-schedule'}"]
        log = open(self.tmp_path / f"{name}.log", "w")
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool: no warm shutdown, no acknowledgement."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(path.read_text()[-3000:] for path in sorted(self.tmp_path.glob("worker*.log")))


@pytest.fixture
def workers(tmp_path):
    # Start from an empty queue; tasks from this test go to the real broker, not inline.
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("celery", "unacked", "unacked_index", "unacked_mutex")
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    started = Workers(tmp_path)
    yield started
    started.stop_all()
    celery_app.conf.task_always_eager = eager
    client.delete("celery", "unacked", "unacked_index", "unacked_mutex")


def wait_for(condition, workers: Workers | Any, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}; worker logs:\n{workers.logs()}")


def pay_over_http(order) -> None:
    body = json.dumps(
        {
            "id": f"evt_{order.pk.hex}",
            "type": "payment.succeeded",
            "data": {
                "order_id": str(order.pk),
                "reference": f"sim_ch_{order.pk.hex}",
                "amount": str(order.total),
                "currency": order.currency,
            },
        }
    ).encode()
    timestamp = str(int(time.time()))
    response = Client().post(
        "/api/payments/webhook/",
        data=body,
        content_type="application/json",
        headers={
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: webhook_signature(
                secret=settings.ORDERFLOW_PAYMENT_WEBHOOK_SECRET, timestamp=timestamp, body=body
            ),
        },
    )
    assert response.status_code == 200, response.content


def cancel(order, customer) -> None:
    client = Client()
    client.force_login(customer)
    response = client.post(
        f"/api/orders/{order.pk}/cancel/", data={"reason": "Changed my mind"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content


def refund_states(order) -> list[str]:
    events = TrackingEvent.objects.filter(order=order, event_type=EventType.REFUND_UPDATED).order_by("sequence")
    return [event.metadata["refund_status"] for event in events]


def test_a_cancelled_paid_order_is_refunded_by_the_worker(workers, customer, menu):
    workers.start()
    order = place_order(customer, menu["salad"], quantity=2, payment_method="online")
    pay_over_http(order)

    cancel(order, customer)

    refund = wait_for(
        lambda: Refund.objects.filter(order=order, status=RefundRecordStatus.COMPLETED).first(),
        workers,
        "the refund to complete",
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUND_COMPLETED
    assert (order.payment_status, order.refund_status) == (PaymentStatus.REFUNDED, RefundStatus.COMPLETED)
    assert refund_states(order) == ["PENDING", "PROCESSING", "COMPLETED"]
    assert SimulatedProviderOperation.objects.get(idempotency_key=refund_idempotency_key(refund)).calls == 1


def test_beat_cancels_an_order_nobody_confirms(workers, customer, menu, settings):
    settings.ORDERFLOW_CONFIRM_TIMEOUT_SECONDS = 2
    workers.start(beat=True)

    order = place_order(customer, menu["salad"], quantity=2)

    wait_for(
        lambda: type(order).objects.filter(pk=order.pk, status=OrderStatus.CANCELLED).exists(),
        workers,
        "the sweep to cancel the order",
    )
    order.refresh_from_db()
    assert (order.cancelled_by, order.cancellation_reason) == (ActorRole.SYSTEM, "restaurant_timeout")
    assert TrackingEvent.objects.filter(order=order, event_type=EventType.CANCELLED).count() == 1


def test_a_worker_killed_mid_refund_neither_loses_nor_repeats_it(workers, customer, menu):
    # The first worker's provider answers slowly: it has paid the refund out and is still
    # waiting for the answer when it is killed.
    slow = workers.start(ORDERFLOW_SIMULATED_PROVIDER_LATENCY_SECONDS="60")
    order = place_order(customer, menu["salad"], quantity=2, payment_method="online")
    pay_over_http(order)
    cancel(order, customer)
    refund = wait_for(lambda: Refund.objects.filter(order=order).first(), workers, "the refund")
    key = refund_idempotency_key(refund)
    wait_for(
        lambda: SimulatedProviderOperation.objects.filter(idempotency_key=key).exists(),
        workers,
        "the provider to receive the refund",
    )

    workers.kill(slow)

    refund.refresh_from_db()
    assert refund.status == RefundRecordStatus.PROCESSING
    workers.start()
    wait_for(
        lambda: Refund.objects.filter(pk=refund.pk, status=RefundRecordStatus.COMPLETED).exists(),
        workers,
        "the second worker to finish the refund",
    )
    refund.refresh_from_db()
    operation = SimulatedProviderOperation.objects.get(idempotency_key=key)
    payouts = SimulatedProviderOperation.objects.filter(kind="refund", source_reference=f"sim_ch_{order.pk.hex}")
    assert payouts.count() == 1
    assert operation.calls == 2, "the re-delivered task asked again, with the same key"
    assert refund.provider_reference == operation.reference
    assert refund.attempts == 2
    assert refund_states(order) == ["PENDING", "PROCESSING", "COMPLETED"]
    assert TrackingEvent.objects.filter(order=order, to_status=OrderStatus.REFUND_COMPLETED).count() == 1
