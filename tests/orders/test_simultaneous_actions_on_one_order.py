"""People acting on one order at the same moment, against PostgreSQL's real row locks.

Each thread has its own database connection and waits at a barrier, so the
calls really do overlap; the order's row lock must serialise them.
"""

import itertools
import threading
from collections.abc import Callable
from typing import Any, cast

import pytest
from django.db import connection

from core.actors import Actor
from core.errors import ApplicationError, Conflict, InvalidTransition
from delivery.services import order_assign_courier
from orders.models import Order, TrackingEvent
from orders.services.transitions import order_transition
from payments.services import payment_record_result
from payments.tasks import refund_process_task
from tests.factories import place_order

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

THREAD_JOIN_SECONDS = 60


def race(calls: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run `calls` at once, one thread each; ("ok", result) or ("error", exception) per call, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[str, Any] | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            outcomes[index] = ("ok", call())
        except BaseException as exc:
            outcomes[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck: deadlock?"
    return cast("list[tuple[str, Any]]", outcomes)  # every thread finished (above) and set its outcome


def assert_gapless_history(order: Order) -> list[TrackingEvent]:
    order.refresh_from_db()
    events = list(TrackingEvent.objects.filter(order=order).order_by("sequence"))
    assert [event.sequence for event in events] == list(range(1, len(events) + 1))
    assert order.sequence == len(events)
    # Each event starts where the previous one left the order, and the last is where it is now.
    for previous, event in itertools.pairwise(events):
        assert event.from_status == previous.to_status, (previous, event)
    assert events[-1].to_status == order.status
    return events


# Pairs where either change rules the other out. (Confirm vs customer or system cancel is not
# one: both may cancel a confirmed order, so both calls succeed, one after the other.)
CONFLICTS = {
    "confirm vs reject": ([], ("restaurant", "RESTAURANT_CONFIRMED"), ("admin", "RESTAURANT_REJECTED")),
    "customer cancel vs reject": ([], ("customer", "CANCELLED"), ("restaurant", "RESTAURANT_REJECTED")),
    "customer cancel vs start preparing": (
        [("restaurant", "RESTAURANT_CONFIRMED")],
        ("customer", "CANCELLED"),
        ("restaurant", "PREPARING"),
    ),
}


@pytest.mark.usefixtures("offers_dispatch")  # counts events: no courier assigned on confirmation
@pytest.mark.parametrize(("setup", "first", "second"), CONFLICTS.values(), ids=CONFLICTS.keys())
def test_two_conflicting_changes_one_wins(setup, first, second, customer, menu, actors):
    order = place_order(customer, menu["salad"], quantity=2)
    for role, target in setup:
        order_transition(order_id=order.pk, target=target, actor=actors[role])
    events_before = TrackingEvent.objects.filter(order=order).count()

    outcomes = race(
        [
            lambda role=role, target=target: order_transition(
                order_id=order.pk, target=target, actor=actors[role], reason="race"
            )
            for role, target in (first, second)
        ]
    )

    winners = [index for index, (kind, _) in enumerate(outcomes) if kind == "ok"]
    losers = [value for kind, value in outcomes if kind == "error"]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    won_target = (first, second)[winners[0]][1]
    assert isinstance(losers[0], InvalidTransition), losers[0]
    assert losers[0].extra["current_status"] == won_target

    events = assert_gapless_history(order)
    assert order.status == won_target
    assert len(events) == events_before + 1


@pytest.mark.usefixtures("offers_dispatch")
@pytest.mark.parametrize("status_path", [["RESTAURANT_CONFIRMED"], ["RESTAURANT_CONFIRMED", "PREPARING"]])
def test_two_couriers_claiming_one_order_one_gets_it(
    status_path, customer, menu, actors, courier_user, other_courier_user
):
    order = place_order(customer, menu["salad"], quantity=2)
    for target in status_path:
        order_transition(order_id=order.pk, target=target, actor=actors["restaurant"])
    couriers = [courier_user, other_courier_user]

    outcomes = race(
        [
            lambda courier=courier: order_assign_courier(
                order_id=order.pk, courier=courier, actor=Actor.courier(courier)
            )
            for courier in couriers
        ]
    )

    winners = [couriers[index] for index, (kind, _) in enumerate(outcomes) if kind == "ok"]
    losers = [value for kind, value in outcomes if kind == "error"]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], Conflict), losers[0]
    assert losers[0].code == "already_assigned"

    events = assert_gapless_history(order)
    assert order.courier == winners[0]
    assert order.delivery_status == "ASSIGNED"
    assigned = [event for event in events if event.event_type == "order.assigned"]
    assert len(assigned) == 1
    assert assigned[0].actor_user == winners[0]


def _everyone_at_once(order, actors, couriers, *, cancellers):
    """Scripts for everyone who could act on a freshly paid order; each returns how many of its steps worked."""

    def move(role, target):
        return lambda: order_transition(order_id=order.pk, target=target, actor=actors[role], reason="all at once")

    def claim(courier):
        return lambda: order_assign_courier(order_id=order.pk, courier=courier, actor=Actor.courier(courier))

    def duplicate_webhook():
        return payment_record_result(order_id=order.pk, succeeded=True, provider_reference="duplicate")

    def script(*steps):
        def run():
            done = 0
            for step in steps:
                try:
                    step()
                    done += 1
                except ApplicationError:
                    pass
            return done

        return run

    kitchen = ("RESTAURANT_CONFIRMED", "PREPARING", "READY_FOR_PICKUP")
    scripts = [
        script(*(move("restaurant", target) for target in kitchen)),
        script(*(move("admin", target) for target in kitchen)),
        *(script(claim(courier), claim(courier)) for courier in couriers),
        script(duplicate_webhook, move("payment", "PAYMENT_FAILED")),
        script(move("system", "REFUND_COMPLETED"), move("system", "REFUND_COMPLETED")),
    ]
    if cancellers:
        scripts += [
            script(move("restaurant", "RESTAURANT_REJECTED")),
            script(move("customer", "CANCELLED")),
            script(move("system", "CANCELLED"), move("system", "REFUND_COMPLETED")),
        ]
    return scripts


@pytest.mark.parametrize("cancellers", [False, True], ids=["moving on", "with cancellations"])
@pytest.mark.parametrize("round_", range(3))
def test_many_people_at_once_leave_a_gapless_history(
    round_, cancellers, customer, menu, actors, courier_user, other_courier_user, monkeypatch
):
    # Refund processing is the worker's business (tests/payments); here it only has to be queued.
    queued_refunds = []
    monkeypatch.setattr(refund_process_task, "delay", queued_refunds.append)
    order = place_order(customer, menu["salad"], quantity=2, payment_method="online")
    payment_record_result(order_id=order.pk, succeeded=True, provider_reference=f"pay-{round_}")
    events_before = TrackingEvent.objects.filter(order=order).count()

    outcomes = race(_everyone_at_once(order, actors, [courier_user, other_courier_user], cancellers=cancellers))

    assert [kind for kind, _ in outcomes] == ["ok"] * len(outcomes), outcomes
    successes = sum(done for _, done in outcomes)
    assert successes >= 1

    events = assert_gapless_history(order)
    refund_events = sum(event.event_type == "order.refund_updated" for event in events)
    # Confirming a delivery order dispatches it to a free online courier, unless a claim got there first.
    dispatched = sum(event.event_type == "order.assigned" and event.actor_role == "system" for event in events)
    assert len(events) == events_before + successes + refund_events + dispatched
    assert refund_events <= 1
    assert len(queued_refunds) == refund_events
    assert sum(event.event_type == "order.assigned" for event in events) <= 1
    if not cancellers:
        # Nobody stops it, so the kitchen gets it all the way to the counter, whoever clicked first.
        assert order.status == "READY_FOR_PICKUP"
