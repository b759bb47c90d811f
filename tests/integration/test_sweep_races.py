"""A deadline sweep and a person acting on the same order at the same moment, on PostgreSQL."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import InvalidTransition
from orders.models import EventType, Order, OrderStatus
from orders.services.deadlines import order_enforce_deadline, orders_sweep_overdue
from orders.services.transitions import order_transition
from tests.factories import place_order

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def in_thread(target):
    outcome = {}

    def run():
        try:
            outcome["value"] = target()
        except Exception as exc:  # handed to the test to assert on
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def blocked_on_a_lock(*, timeout: float) -> bool:
    """Whether another session of this database waits on a lock within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # pg_stat_activity is read once per transaction unless the snapshot is cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def test_the_sweep_skips_an_order_a_person_is_changing_and_the_person_wins(customer, menu, staff_user):
    order = place_order(customer, menu["salad"], quantity=2)
    locked, sweep_done = threading.Event(), threading.Event()

    def restaurant_confirms():
        with transaction.atomic():
            Order.objects.select_for_update().get(pk=order.pk)
            locked.set()
            sweep_done.wait(timeout=30)
            return order_transition(
                order_id=order.pk, target=OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff_user)
            )

    thread, outcome = in_thread(restaurant_confirms)
    assert locked.wait(timeout=30)
    report = orders_sweep_overdue(now=timezone.now() + timedelta(hours=1))
    sweep_done.set()
    thread.join(timeout=30)

    assert (report.found, report.enforced) == (1, 0)
    assert "error" not in outcome
    order.refresh_from_db()
    assert order.status == OrderStatus.RESTAURANT_CONFIRMED
    assert not order.events.filter(event_type=EventType.CANCELLED).exists()
    assert list(order.events.values_list("sequence", flat=True)) == [1, 2]


def test_a_person_waiting_behind_the_sweep_gets_a_conflict(customer, menu, staff_user):
    order = place_order(customer, menu["salad"], quantity=2)
    started = threading.Event()

    def restaurant_confirms():
        started.set()
        return order_transition(
            order_id=order.pk, target=OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff_user)
        )

    with transaction.atomic():
        assert order_enforce_deadline(order_id=order.pk, now=timezone.now() + timedelta(hours=1)) is not None
        thread, outcome = in_thread(restaurant_confirms)
        assert started.wait(timeout=30)
        # The sweep's transaction keeps the row locked until the person is seen waiting on it.
        assert blocked_on_a_lock(timeout=30), "the person never waited on the order's row lock"
    thread.join(timeout=30)

    assert isinstance(outcome.get("error"), InvalidTransition)
    assert outcome["error"].extra["current_status"] == OrderStatus.CANCELLED
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.events.filter(event_type=EventType.CANCELLED).count() == 1
    assert list(order.events.values_list("sequence", flat=True)) == [1, 2]
