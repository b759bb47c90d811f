"""The sweep carries out deadlines in batched transactions whose events are published together.

Real commits on PostgreSQL: what the effects get is what committed, each event once, one
order's events in their order, and an order the sweep cannot move spoils nothing for the rest.
"""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from config.settings.services import redis_channel_layer
from orders.models import DeadlineKind, EventType, Order, OrderStatus
from orders.services.deadlines import orders_sweep_overdue
from orders.snapshots import status_snapshot_on_events, status_snapshot_read
from tests.factories import place_order
from tracking import broadcast
from tracking.groups import order_group

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BATCHES: list[list] = []


def record_batch(events) -> None:
    BATCHES.append(list(events))


@pytest.fixture
def recorded(order_event_effects):
    BATCHES.clear()
    order_event_effects([status_snapshot_on_events, record_batch])
    yield
    BATCHES.clear()


def test_one_sweep_publishes_each_transaction_s_events_together(customer, menu, settings, recorded):
    settings.ORDERFLOW_SWEEP_TRANSACTION_SIZE = 3
    orders = [place_order(customer, menu["salad"], quantity=2) for _ in range(7)]
    BATCHES.clear()

    report = orders_sweep_overdue(now=timezone.now() + timedelta(hours=1))

    assert (report.found, report.enforced) == (7, 7)
    assert [len(batch) for batch in BATCHES] == [3, 3, 1]  # one batch per transaction
    published = [event for batch in BATCHES for event in batch]
    assert sorted(str(event.order_id) for event in published) == sorted(str(order.pk) for order in orders)
    assert {(event.event_type, event.sequence) for event in published} == {(EventType.CANCELLED, 2)}
    for order in orders:
        assert status_snapshot_read(order.pk)["status"]["status"] == "CANCELLED"


def test_a_paid_order_s_cancellation_and_refund_reach_the_effects_in_order(customer, menu, settings, recorded):
    settings.ORDERFLOW_SWEEP_TRANSACTION_SIZE = 10
    paid = [place_order(customer, menu["salad"], quantity=2, paid=True) for _ in range(2)]
    cod = place_order(customer, menu["salad"], quantity=2)
    BATCHES.clear()

    orders_sweep_overdue(now=timezone.now() + timedelta(hours=1))

    # The sweep's one transaction, then the refunds it opened, each in a transaction of its own.
    batch = BATCHES[0]
    for order in paid:
        mine = [(event.sequence, event.event_type) for event in batch if event.order_id == order.pk]
        assert mine == sorted(mine) and mine[0][1] == EventType.CANCELLED
    assert [event.event_type for event in batch if event.order_id == cod.pk] == [EventType.CANCELLED]


def test_an_order_the_sweep_cannot_move_spoils_nothing_for_the_rest(customer, menu, settings, recorded):
    settings.ORDERFLOW_SWEEP_TRANSACTION_SIZE = 10
    orders = [place_order(customer, menu["salad"], quantity=2) for _ in range(3)]
    BATCHES.clear()
    # A deadline the table cannot honour from this status: the sweep drops it.
    Order.objects.filter(pk=orders[1].pk).update(deadline_kind=DeadlineKind.RETURN_WINDOW)

    report = orders_sweep_overdue(now=timezone.now() + timedelta(hours=1))

    assert report.enforced == 2
    statuses = dict(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("pk", "status"))
    assert [statuses[o.pk] for o in orders] == [OrderStatus.CANCELLED, OrderStatus.ORDER_PLACED, OrderStatus.CANCELLED]
    assert Order.objects.get(pk=orders[1].pk).deadline_at is None
    assert sorted(str(e.order_id) for b in BATCHES for e in b) == sorted([str(orders[0].pk), str(orders[2].pk)])


def test_a_batch_broadcast_sends_one_order_s_events_in_rounds(customer, menu, monkeypatch):
    first, second = (
        place_order(customer, menu["salad"], quantity=2, paid=True),
        place_order(customer, menu["salad"], quantity=2),
    )
    sent_rounds = []
    monkeypatch.setattr(broadcast, "_send", lambda *rounds, what: sent_rounds.extend(rounds))
    events = [*first.events.order_by("sequence"), *second.events.order_by("sequence")]

    broadcast.broadcast_events(events)

    def turns(order):
        return [
            turn for turn, messages in enumerate(sent_rounds) for group, _ in messages if group == order_group(order.pk)
        ]

    assert turns(first) == list(range(first.events.count())) and len(turns(first)) > 1
    assert turns(second) == list(range(second.events.count()))


def test_a_batch_larger_than_the_layer_s_connection_pool_is_broadcast_whole(customer, menu, settings, caplog):
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(settings.REDIS_URL)}
    orders = [place_order(customer, menu["salad"], quantity=2) for _ in range(120)]
    events = [order.events.get() for order in orders]
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(order_group(orders[-1].pk), channel)

    broadcast.broadcast_events(events)  # 240 group sends (order and restaurant groups)

    received = async_to_sync(layer.receive)(channel)
    assert received["event"]["order_id"] == str(orders[-1].pk)
    assert "failed" not in caplog.text
