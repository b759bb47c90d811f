import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from freezegun import freeze_time

from core.actors import ActorRole
from core.errors import InvalidTransition
from orders.models import (
    DeadlineKind,
    DeliveryType,
    Order,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    TrackingEvent,
)
from orders.services.deadlines import SweepReport, order_enforce_deadline, orders_sweep_overdue, sweep_overdue_on_read
from orders.services.transitions import order_transition
from orders.tasks import orders_sweep_overdue_task
from payments.models import Refund
from tests.factories import OrderFactory, move, place_order, to_ready

pytestmark = pytest.mark.django_db

START = "2026-03-01 12:00:00"


def _cancellations(order):
    return TrackingEvent.objects.filter(order=order, event_type="order.cancelled")  # the event's wire name


@freeze_time(START)
def test_unconfirmed_order_is_cancelled_by_the_system_once_its_deadline_passes(customer, menu, settings):
    settings.ORDERFLOW_CONFIRM_TIMEOUT_SECONDS = 600
    order = place_order(customer, menu["salad"], quantity=2)
    assert order.deadline_kind == DeadlineKind.CONFIRMATION

    with freeze_time("2026-03-01 12:09:59"):
        assert orders_sweep_overdue() == SweepReport(found=0, enforced=0)
    with freeze_time("2026-03-01 12:10:00"):
        report = orders_sweep_overdue()

    order.refresh_from_db()
    assert report.found == report.enforced == 1
    assert order.status == OrderStatus.CANCELLED
    assert order.cancelled_by == ActorRole.SYSTEM
    assert order.cancellation_reason == "restaurant_timeout"
    assert order.deadline_at is None and order.deadline_kind == ""
    event = _cancellations(order).get()
    assert (event.actor_role, event.from_status) == (ActorRole.SYSTEM, "ORDER_PLACED")
    assert event.reason == "restaurant_timeout"


@freeze_time(START)
def test_unpaid_online_order_expires_without_a_refund(customer, menu, settings):
    settings.ORDERFLOW_PAYMENT_TIMEOUT_SECONDS = 900
    order = place_order(customer, menu["salad"], quantity=2, payment_method="online")

    with freeze_time("2026-03-01 12:15:01"):
        orders_sweep_overdue()

    order.refresh_from_db()
    assert (order.status, order.cancellation_reason) == (OrderStatus.CANCELLED, "payment_timeout")
    assert order.refund_status == RefundStatus.NONE
    assert not Refund.objects.filter(order=order).exists()


@freeze_time(START)
def test_paid_order_the_restaurant_ignores_is_cancelled_and_refunded(customer, menu):
    order = place_order(customer, menu["salad"], quantity=2, paid=True)

    with freeze_time("2026-03-01 13:00:00"):
        orders_sweep_overdue()

    order.refresh_from_db()
    assert (order.status, order.cancellation_reason) == (OrderStatus.CANCELLED, "restaurant_timeout")
    assert order.refund_status == RefundStatus.PENDING
    assert Refund.objects.get(order=order).amount == order.total


@freeze_time(START)
@pytest.mark.parametrize(
    ("delivery_type", "reason"),
    [(DeliveryType.DELIVERY, "pickup_timeout"), (DeliveryType.PICKUP, "collection_timeout")],
)
def test_ready_order_nobody_collects_is_cancelled(customer, staff_user, menu, actors, settings, delivery_type, reason):
    settings.ORDERFLOW_PICKUP_TIMEOUT_SECONDS = 1800
    settings.ORDERFLOW_COLLECTION_TIMEOUT_SECONDS = 3600
    order = to_ready(place_order(customer, menu["salad"], quantity=2, delivery_type=delivery_type), staff_user)
    waited = 1800 if delivery_type == DeliveryType.DELIVERY else 3600

    with freeze_time(timezone.now() + timedelta(seconds=waited - 1)):
        orders_sweep_overdue()
        order.refresh_from_db()
        assert order.status == OrderStatus.READY_FOR_PICKUP
    with freeze_time(timezone.now() + timedelta(seconds=waited)):
        orders_sweep_overdue()

    order.refresh_from_db()
    assert (order.status, order.cancellation_reason) == (OrderStatus.CANCELLED, reason)


def test_delivered_order_completes_after_the_return_window():
    now = timezone.now()
    order = OrderFactory(
        status=OrderStatus.DELIVERED,
        delivered_at=now - timedelta(hours=49),
        deadline_at=now - timedelta(hours=1),
        deadline_kind=DeadlineKind.RETURN_WINDOW,
    )

    orders_sweep_overdue(now=now)

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.completed_at is not None and order.deadline_at is None
    event = TrackingEvent.objects.get(order=order, to_status=OrderStatus.COMPLETED)
    assert (event.actor_role, event.reason) == (ActorRole.SYSTEM, "return_window")


@freeze_time(START)
def test_a_person_who_acts_first_wins_and_the_sweep_leaves_the_order_alone(customer, menu, actors):
    order = place_order(customer, menu["salad"], quantity=2)
    late = timezone.now() + timedelta(hours=1)
    overdue_ids = list(Order.objects.filter(deadline_at__lte=late).values_list("pk", flat=True))
    assert overdue_ids == [order.pk]

    # The restaurant confirms after the sweep has listed the order but before it acts on it.
    move(order, OrderStatus.RESTAURANT_CONFIRMED, actor=actors["restaurant"])
    assert order_enforce_deadline(order_id=order.pk, now=late) is None

    order.refresh_from_db()
    assert order.status == OrderStatus.RESTAURANT_CONFIRMED
    assert not _cancellations(order).exists()
    assert list(order.events.values_list("sequence", flat=True)) == [1, 2]


@freeze_time(START)
def test_when_the_sweep_acts_first_the_person_gets_a_conflict(customer, menu, actors):
    order = place_order(customer, menu["salad"], quantity=2)

    with freeze_time("2026-03-01 13:00:00"):
        assert order_enforce_deadline(order_id=order.pk) is not None
        with pytest.raises(InvalidTransition) as refused:
            order_transition(order_id=order.pk, target=OrderStatus.RESTAURANT_CONFIRMED, actor=actors["restaurant"])

    assert refused.value.extra["current_status"] == OrderStatus.CANCELLED
    assert _cancellations(order).count() == 1


@freeze_time(START)
def test_enforcing_a_deadline_that_is_not_due_does_nothing(customer, menu):
    order = place_order(customer, menu["salad"], quantity=2)

    assert order_enforce_deadline(order_id=order.pk) is None
    assert order_enforce_deadline(order_id="not-a-uuid") is None

    order.refresh_from_db()
    assert order.status == OrderStatus.ORDER_PLACED and order.sequence == 1


@freeze_time(START)
def test_the_sweep_task_run_twice_cancels_once(customer, menu):
    order = place_order(customer, menu["salad"], quantity=2)

    with freeze_time("2026-03-01 13:00:00"):
        first = orders_sweep_overdue_task()
        second = orders_sweep_overdue_task()

    assert first == {"found": 1, "enforced": 1}
    assert second == {"found": 0, "enforced": 0}
    assert _cancellations(order).count() == 1


@freeze_time(START)
def test_the_sweep_task_works_through_every_batch(customer, menu, settings):
    settings.ORDERFLOW_SWEEP_BATCH_SIZE = 3
    settings.ORDERFLOW_SWEEP_HELPERS = 0
    orders = [place_order(customer, menu["salad"], quantity=2) for _ in range(7)]
    fresh = place_order(customer, menu["salad"], quantity=2)
    Order.objects.filter(pk=fresh.pk).update(deadline_at=timezone.now() + timedelta(days=1))

    with freeze_time("2026-03-01 13:00:00"):
        assert orders_sweep_overdue_task() == {"found": 7, "enforced": 7}

    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in orders])} == {OrderStatus.CANCELLED}
    fresh.refresh_from_db()
    assert fresh.status == OrderStatus.ORDER_PLACED


def test_a_deadline_the_table_cannot_honour_is_dropped_not_retried_forever():
    now = timezone.now()
    order = OrderFactory(
        status=OrderStatus.OUT_FOR_DELIVERY, deadline_at=now - timedelta(minutes=1), deadline_kind=DeadlineKind.PICKUP
    )

    assert orders_sweep_overdue(now=now).enforced == 0
    assert orders_sweep_overdue(now=now).found == 0

    order.refresh_from_db()
    assert order.status == OrderStatus.OUT_FOR_DELIVERY and order.deadline_at is None


@freeze_time(START)
def test_cash_order_cancelled_by_a_timeout_is_not_refunded(customer, menu):
    order = place_order(customer, menu["salad"], quantity=2)

    with freeze_time("2026-03-01 13:00:00"):
        orders_sweep_overdue()

    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.PENDING and order.refund_status == RefundStatus.NONE


@freeze_time(START)
def test_a_backlog_queues_helper_sweeps_that_share_it_out(customer, menu, settings, monkeypatch):
    settings.ORDERFLOW_SWEEP_BATCH_SIZE = 3
    settings.ORDERFLOW_SWEEP_HELPERS = 1
    orders = [place_order(customer, menu["salad"], quantity=2) for _ in range(7)]
    helpers = []
    monkeypatch.setattr(orders_sweep_overdue_task, "delay", lambda **kwargs: helpers.append(kwargs))

    with freeze_time("2026-03-01 13:00:00"):
        main = orders_sweep_overdue_task()
        helped = orders_sweep_overdue_task(**helpers[0])  # what the queued helper does

    assert helpers == [{"helper": True}]  # one, queued by the full first batch; a helper queues none
    assert main == {"found": 7, "enforced": 7} and helped == {"found": 0, "enforced": 0}
    assert all(_cancellations(order).count() == 1 for order in orders)


@freeze_time(START)
def test_a_sweep_without_a_backlog_queues_no_helper(customer, menu, settings, monkeypatch):
    settings.ORDERFLOW_SWEEP_BATCH_SIZE = 3
    place_order(customer, menu["salad"], quantity=2)
    helpers = []
    monkeypatch.setattr(orders_sweep_overdue_task, "delay", lambda **kwargs: helpers.append(kwargs))

    with freeze_time("2026-03-01 13:00:00"):
        assert orders_sweep_overdue_task() == {"found": 1, "enforced": 1}
    assert helpers == []


# ---------------------------------------------------------------- sweep-on-read, in one place

# Who may carry out a deadline directly: the sweep itself and the admin's explicit action. Every
# read goes through `sweep_overdue_on_read` (docs/background-work.md).
ENFORCERS = {"orders/services/deadlines.py", "notifications/admin.py"}
APPS = ("core", "orders", "delivery", "payments", "tracking", "pages", "privacy", "restaurants", "notifications")


def _calls(path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    return any(
        isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == name
        for node in ast.walk(tree)
    )


def test_reads_carry_out_a_deadline_only_through_sweep_overdue_on_read():
    root = Path(__file__).resolve().parents[2]
    sources = [path for app in APPS for path in (root / app).rglob("*.py") if "migrations" not in path.parts]
    enforcing = {str(path.relative_to(root)) for path in sources if _calls(path, "order_enforce_deadline")}
    reading = {str(path.relative_to(root)) for path in sources if _calls(path, "sweep_overdue_on_read")}
    assert enforcing == ENFORCERS
    assert {"orders/polling.py", "tracking/consumers.py", "tracking/public.py"} <= reading


def test_sweep_overdue_on_read_acts_only_on_a_due_deadline(customer, menu):
    order = place_order(customer, menu["salad"], quantity=2)
    assert sweep_overdue_on_read(order_id=order.pk, deadline_at=None) is False
    assert sweep_overdue_on_read(order_id=order.pk, deadline_at=order.deadline_at) is False
    assert Order.objects.get(pk=order.pk).status == OrderStatus.ORDER_PLACED

    late = order.deadline_at + timedelta(seconds=1)
    assert sweep_overdue_on_read(order_id=order.pk, deadline_at=order.deadline_at, now=late) is True
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
