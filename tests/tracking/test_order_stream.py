"""What the socket of one order sends: the snapshot, live events once and in order, replay after
a sequence, gaps and out-of-order broadcasts filled, and the close after the final event."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from core.actors import Actor
from orders import snapshots
from orders.models import Order, TrackingEvent
from orders.services.transitions import order_transition
from orders.snapshots import SNAPSHOT_FIELDS, status_snapshot_store
from orders.subscribers import log_events
from tests import factories
from tests.tracking.conftest import close_code, events_of, open_socket, receive, receive_all, run_async, specific_type
from tracking import streams
from tracking.broadcast import broadcast_events
from tracking.groups import order_group
from tracking.payloads import event_payload

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


# ---------------------------------------------------------------- one order: what is sent


@run_async
async def test_live_events_arrive_once_in_order_with_the_order_process_payload(placed, customer, staff_user):
    communicator = await open_socket(f"ws/orders/{placed.pk}/", customer)
    assert (await receive(communicator))["sequence"] == 1
    await db(factories.confirm)(placed.pk, staff_user)
    await db(factories.start_preparing)(placed.pk, staff_user)
    confirmed, preparing = await receive(communicator), await receive(communicator)
    assert await communicator.receive_nothing(timeout=0.2)
    event = await db(lambda: TrackingEvent.objects.select_related("order").get(order=placed, sequence=2))()
    assert confirmed == {
        "type": "event",
        **event_payload(event),
        "refund_status": "none",
        "event_types": ["order.status_changed"],
    }
    assert {k: confirmed[k] for k in ("event_type", "previous_status", "new_status", "status_name", "updated_by")} == {
        "event_type": "order.status_changed",
        "previous_status": "ORDER_PLACED",
        "new_status": "RESTAURANT_CONFIRMED",
        "status_name": "Order Confirmed",
        "updated_by": staff_user.get_full_name() or staff_user.username,
    }
    assert (preparing["sequence"], preparing["new_status"]) == (3, "PREPARING")
    await communicator.disconnect()


@run_async
async def test_after_replays_the_missed_events_then_streams_live_ones(placed, customer, staff_user):
    for step in (factories.confirm, factories.start_preparing, factories.mark_ready):
        await db(step)(placed.pk, staff_user)
    communicator = await open_socket(f"ws/orders/{placed.pk}/?after=1", customer)
    snapshot = await receive(communicator)
    assert (snapshot["status"], snapshot["sequence"]) == ("READY_FOR_PICKUP", 4)
    replay = [await receive(communicator) for _ in range(3)]
    assert events_of(replay) == [
        (2, "order.status_changed"),
        (3, "order.status_changed"),
        (4, "order.ready_for_pickup"),
    ]
    await db(factories.cancel)(placed.pk, staff_user)
    cancelled = await receive(communicator)
    assert (cancelled["sequence"], specific_type(cancelled)) == (5, "order.cancelled")
    assert await close_code(communicator) == 1000


@run_async
async def test_without_after_nothing_before_the_snapshot_is_replayed(confirmed, customer):
    communicator = await open_socket(f"ws/orders/{confirmed.pk}/", customer)
    assert (await receive(communicator))["sequence"] == 2
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


@pytest.mark.parametrize("after", ["-1", "abc", "1.5", "99999999999"])
@run_async
async def test_a_malformed_after_is_4400(after, placed, customer):
    communicator = await open_socket(f"ws/orders/{placed.pk}/?after={after}", customer)
    assert await close_code(communicator) == 4400


@run_async
async def test_an_after_beyond_the_last_event_streams_from_the_snapshot(placed, customer, staff_user):
    communicator = await open_socket(f"ws/orders/{placed.pk}/?after=50", customer)
    assert (await receive(communicator))["sequence"] == 1
    await db(factories.confirm)(placed.pk, staff_user)
    assert (await receive(communicator))["sequence"] == 2
    await communicator.disconnect()


@pytest.mark.skipif(not settings.REDIS_URL, reason="the status snapshots live in Redis")
@run_async
async def test_a_snapshot_behind_the_client_replays_nothing_it_has(placed, customer, staff_user):
    """After a Redis failover the promoted replica may hold an order's snapshot without the last
    write: a client resuming with the real last sequence must not be sent that event again."""

    def lose_the_last_snapshot_write():
        before = Order.objects.filter(pk=placed.pk).values(*SNAPSHOT_FIELDS).get()
        factories.confirm(placed.pk, staff_user)
        snapshots._redis().delete(f"{snapshots.KEY_PREFIX}{placed.pk}")
        status_snapshot_store(before)

    await db(lose_the_last_snapshot_write)()
    communicator = await open_socket(f"ws/orders/{placed.pk}/?after=2", customer)
    assert (await receive(communicator))["sequence"] == 1  # the stale snapshot
    assert await communicator.receive_nothing(timeout=0.3)
    await db(factories.start_preparing)(placed.pk, staff_user)
    assert events_of([await receive(communicator)]) == [(3, "order.status_changed")]
    await communicator.disconnect()


@run_async
async def test_a_live_copy_of_a_replayed_event_is_not_sent_twice(confirmed, customer):
    communicator = await open_socket(f"ws/orders/{confirmed.pk}/?after=0", customer)
    await receive(communicator)  # snapshot
    assert events_of([await receive(communicator), await receive(communicator)]) == [
        (1, "order.placed"),
        (2, "order.status_changed"),
    ]
    # The broadcast of event 2 reaching the group after the replay read it.
    event = await db(lambda: TrackingEvent.objects.select_related("order").get(order=confirmed, sequence=2))()
    await get_channel_layer().group_send(
        order_group(confirmed.pk), {"type": "order.event", "event": event_payload(event), "courier_id": None}
    )
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


@run_async
async def test_a_lost_broadcast_is_filled_from_the_history_before_the_next_event(
    placed, customer, staff_user, order_event_effects
):
    communicator = await open_socket(f"ws/orders/{placed.pk}/", customer)
    await receive(communicator)
    order_event_effects([log_events])  # the layer "misses" one
    await db(factories.confirm)(placed.pk, staff_user)
    assert await communicator.receive_nothing(timeout=0.2)
    order_event_effects([broadcast_events])
    await db(factories.start_preparing)(placed.pk, staff_user)
    assert events_of([await receive(communicator), await receive(communicator)]) == [
        (2, "order.status_changed"),
        (3, "order.status_changed"),
    ]
    await communicator.disconnect()


@run_async
async def test_events_broadcast_out_of_order_are_delivered_in_order(placed, customer, staff_user, order_event_effects):
    communicator = await open_socket(f"ws/orders/{placed.pk}/", customer)
    await receive(communicator)
    order_event_effects([])
    await db(factories.confirm)(placed.pk, staff_user)
    await db(factories.start_preparing)(placed.pk, staff_user)
    events = await db(
        lambda: list(TrackingEvent.objects.select_related("order").filter(order=placed, sequence__gt=1))
    )()
    layer = get_channel_layer()
    for event in reversed(events):  # two server processes racing to publish
        await layer.group_send(order_group(placed.pk), {"type": "order.event", "event": event_payload(event)})
    received = [await receive(communicator), await receive(communicator)]
    assert events_of(received) == [(2, "order.status_changed"), (3, "order.status_changed")]
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


@pytest.mark.usefixtures("offers_dispatch")
@run_async
async def test_delivery_ends_the_stream_with_a_polite_close(placed, customer, staff_user, courier_user):
    order_id = placed.pk
    for step in (factories.confirm, factories.start_preparing, factories.mark_ready):
        await db(step)(order_id, staff_user)
    for step in (factories.claim, factories.pick_up, factories.start_delivery):
        await db(step)(order_id, courier_user)
    communicator = await open_socket(f"ws/orders/{order_id}/", customer)
    assert (await receive(communicator))["status"] == "OUT_FOR_DELIVERY"
    await db(factories.complete_delivery)(order_id, courier_user)
    delivered = await receive(communicator)
    assert (delivered["event_type"], delivered["new_status"]) == ("order.status_changed", "DELIVERED")
    assert delivered["event_types"] == ["order.status_changed", "order.delivered"]
    assert delivered["actual_delivery_time"] is not None
    assert await close_code(communicator) == 1000


@run_async
async def test_a_paid_cancellation_sends_the_refund_opened_with_it_then_closes(customer, restaurant, menu, staff_user):
    order = await db(factories.place_order)(customer, menu["salad"], payment_method="online")
    await db(order_transition)(order_id=order.pk, target="PAYMENT_SUCCESS", actor=Actor.payment_provider("test"))
    communicator = await open_socket(f"ws/orders/{order.pk}/", customer)
    assert (await receive(communicator))["payment_status"] == "paid"
    await db(factories.cancel)(order.pk, staff_user)
    messages = await receive_all(communicator)
    events = events_of(messages)
    # The refund the cancellation opened comes with it; the refund's own progress (a task
    # started by the same commit) may already be in the history too, and is sent if so.
    assert events[:2] == [(3, "order.cancelled"), (4, "order.refund_updated")]
    assert [sequence for sequence, _ in events] == list(range(3, 3 + len(events)))
    assert messages[-1] == {"closed": 1000}


@run_async
async def test_connecting_to_a_finished_order_sends_its_snapshot_and_closes(placed, customer, staff_user):
    await db(factories.cancel)(placed.pk, staff_user)
    communicator = await open_socket(f"ws/orders/{placed.pk}/?after=1", customer)
    assert (await receive(communicator))["status"] == "CANCELLED"
    assert events_of([await receive(communicator)]) == [(2, "order.cancelled")]
    assert await close_code(communicator) == 1000


@run_async
async def test_reconnecting_after_the_final_event_gets_the_snapshot_and_a_close_of_its_own(
    placed, customer, staff_user
):
    """The order-process API, "Best Practices", "4. Real-Time Updates": "Reconnect: Implement automatic
    reconnection". The socket that carried the final event closes 1000; a reconnect after it is
    told apart (4410), so a client reconnecting on every close knows to stop."""
    live = await open_socket(f"ws/orders/{placed.pk}/", customer)
    assert (await receive(live))["final"] is False
    await db(factories.cancel)(placed.pk, staff_user)
    assert (await receive(live))["event_type"] == "order.status_changed"
    assert await close_code(live) == 1000

    again = await open_socket(f"ws/orders/{placed.pk}/", customer)
    snapshot = await receive(again)
    assert (snapshot["type"], snapshot["event_type"], snapshot["status"], snapshot["final"]) == (
        "snapshot",
        "order.snapshot",
        "CANCELLED",
        True,
    )
    assert await close_code(again) == 4410


# ---------------------------------------------------------------- deadlines


@run_async
async def test_the_snapshot_of_an_overdue_order_shows_its_deadline_carried_out(placed, customer):
    def deadline_passes():
        Order.objects.filter(pk=placed.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
        # With Redis, the order's snapshot carries the deadline too (a transition stores both).
        status_snapshot_store(Order.objects.filter(pk=placed.pk).values(*SNAPSHOT_FIELDS).get())

    await db(deadline_passes)()
    communicator = await open_socket(f"ws/orders/{placed.pk}/", customer)
    snapshot = await receive(communicator)
    assert (snapshot["status"], snapshot["sequence"], snapshot["final"]) == ("CANCELLED", 2, True)
    # Final before anything was sent on this socket: the close that says "do not reconnect".
    assert await close_code(communicator) == 4410


@run_async
async def test_sockets_of_one_order_share_the_history_read_after_its_final_event(
    placed, customer, staff_user, monkeypatch
):
    reads = []
    fetch = streams.fetch_events

    async def counted(**kwargs):
        reads.append(kwargs)
        return await fetch(**kwargs)

    monkeypatch.setattr(streams, "fetch_events", counted)
    sockets = [await open_socket(f"ws/orders/{placed.pk}/", customer) for _ in range(5)]
    for communicator in sockets:
        await receive_all(communicator)
    reads.clear()  # the reads made while connecting are each socket's own

    await db(factories.cancel)(placed.pk, staff_user)

    for communicator in sockets:
        messages = await receive_all(communicator)
        assert events_of(messages) == [(2, "order.cancelled")] and messages[-1] == {"closed": 1000}
    assert len(reads) == 1, reads  # one read of what the cancelling transaction wrote after it


@run_async
async def test_a_final_event_goes_out_before_the_history_is_read_after_it(placed, customer, staff_user, monkeypatch):
    communicator = await open_socket(f"ws/orders/{placed.pk}/", customer)
    await receive_all(communicator)
    read_started, read_may_finish = asyncio.Event(), asyncio.Event()
    fetch = streams.fetch_events

    async def held(**kwargs):
        read_started.set()
        await read_may_finish.wait()
        return await fetch(**kwargs)

    monkeypatch.setattr(streams, "fetch_events", held)
    await db(factories.cancel)(placed.pk, staff_user)

    event = await receive(communicator)  # while the read after it is held back
    assert events_of([event]) == [(2, "order.cancelled")]
    assert read_started.is_set() and await communicator.receive_nothing(timeout=0.2)
    read_may_finish.set()
    assert await close_code(communicator) == 1000
