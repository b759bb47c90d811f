"""The live sockets, through the real ASGI application (auth, routing, consumers) and the
in-process channel layer; orders move through the same services the API and admin call."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from core.actors import Actor
from delivery.models import CourierProfile
from delivery.services import courier_set_availability
from orders import snapshots
from orders.models import Order, TrackingEvent
from orders.services.transitions import order_transition
from orders.snapshots import SNAPSHOT_FIELDS, status_snapshot_store
from orders.subscribers import log_events
from payments.models import Refund
from payments.services import payment_record_result, refund_process
from tests import factories
from tests.factories import OrderFactory
from tests.tracking.conftest import (
    close_code,
    open_socket,
    receive,
    receive_all,
    run_async,
    session_cookie,
    socket,
)
from tracking import streams
from tracking.broadcast import broadcast_events
from tracking.groups import order_group
from tracking.payloads import event_payload

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


def specific_type(message: dict) -> str:
    """The event's own type: a status change is sent as `order.status_changed` with its specific
    type last in `event_types` (tracking.payloads.native_wire)."""
    return message.get("event_types", [message.get("event_type")])[-1]


def events_of(messages: list[dict]) -> list[tuple[int, str]]:
    return [(m["sequence"], specific_type(m)) for m in messages if m.get("type") == "event"]


@pytest.fixture
def confirmed(placed, staff_user):
    factories.confirm(placed.pk, staff_user)
    return placed


# ---------------------------------------------------------------- authentication


@pytest.mark.parametrize(
    "path",
    ["ws/orders/{order}/", "ws/orders/", "ws/restaurants/{restaurant}/orders/", "ws/courier/"],
)
@run_async
async def test_every_socket_refuses_an_anonymous_client_with_4401(path, placed, restaurant):
    communicator = await open_socket(path.format(order=placed.pk, restaurant=restaurant.pk))
    assert await close_code(communicator) == 4401


@run_async
async def test_a_bad_token_is_4401_and_does_not_fall_back_to_the_session(placed, customer):
    headers = [(b"cookie", await db(session_cookie)(customer))]
    communicator = await open_socket(f"ws/orders/{placed.pk}/", token="not-a-jwt", headers=headers)
    assert await close_code(communicator) == 4401


@run_async
async def test_an_expired_token_is_4401(placed, customer):
    token = AccessToken.for_user(customer)
    token.set_exp(lifetime=-timedelta(minutes=1))
    communicator = await open_socket(f"ws/orders/{placed.pk}/", token=str(token))
    assert await close_code(communicator) == 4401


@run_async
async def test_a_token_of_a_deactivated_user_is_4401(placed, customer):
    token = await db(lambda: str(AccessToken.for_user(customer)))()
    customer.is_active = False
    await db(customer.save)()
    communicator = await open_socket(f"ws/orders/{placed.pk}/", token=token)
    assert await close_code(communicator) == 4401


@run_async
async def test_the_django_session_authenticates_a_browser_of_this_site(placed, customer):
    headers = [(b"cookie", await db(session_cookie)(customer)), (b"origin", b"http://testserver")]
    communicator = await open_socket(f"ws/orders/{placed.pk}/", headers=headers)
    snapshot = await receive(communicator)
    assert (snapshot["type"], snapshot["order_id"]) == ("snapshot", str(placed.pk))
    await communicator.disconnect()


@run_async
async def test_a_browser_of_another_site_is_refused_at_the_handshake(placed, customer):
    headers = [(b"cookie", await db(session_cookie)(customer)), (b"origin", b"https://evil.example")]
    communicator = socket(f"ws/orders/{placed.pk}/", headers=headers)
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.parametrize("path", ["ws/nowhere/", "ws/orders/not-a-uuid/", "ws/restaurants/1/orders/"])
@run_async
async def test_an_unknown_path_is_4404(path, customer):
    communicator = await open_socket(path, customer)
    assert await close_code(communicator) == 4404


# ---------------------------------------------------------------- one order: who may watch


@pytest.mark.parametrize("who", ["customer", "staff_user", "admin_user"])
@run_async
async def test_the_owner_the_restaurant_and_an_admin_get_the_snapshot(who, placed, request):
    user = await db(request.getfixturevalue)(who)
    communicator = await open_socket(f"ws/orders/{placed.pk}/", user)
    snapshot = await receive(communicator)
    assert snapshot == {
        "type": "snapshot",
        "event_type": "order.snapshot",
        "final": False,
        "order_id": str(placed.pk),
        "order_number": placed.number,
        "status": "ORDER_PLACED",
        "status_name": "Order Placed",
        "payment_status": "pending",
        "delivery_status": "unassigned",
        "refund_status": "none",
        "last_update_timestamp": snapshot["last_update_timestamp"],
        "estimated_delivery_time": snapshot["estimated_delivery_time"],
        "sequence": 1,
        "courier_location": None,
    }
    assert snapshot["last_update_timestamp"].startswith(placed.updated_at.strftime("%Y-%m-%dT%H:%M"))
    await communicator.disconnect()


@pytest.mark.parametrize("who", ["other_customer", "other_staff_user", "courier_user"])
@run_async
async def test_others_are_refused_with_4404_like_a_missing_order(who, placed, request):
    user = await db(request.getfixturevalue)(who)
    communicator = await open_socket(f"ws/orders/{placed.pk}/", user)
    assert await close_code(communicator) == 4404


@run_async
async def test_a_missing_order_is_4404(customer):
    communicator = await open_socket("ws/orders/00000000-0000-0000-0000-000000000000/", customer)
    assert await close_code(communicator) == 4404


@run_async
async def test_a_refused_socket_never_joins_the_order_group(placed, other_customer, staff_user):
    communicator = await open_socket(f"ws/orders/{placed.pk}/", other_customer)
    assert await close_code(communicator) == 4404
    await db(factories.confirm)(placed.pk, staff_user)
    assert await communicator.receive_nothing(timeout=0.2)


@run_async
async def test_couriers_may_watch_an_order_offered_to_them_and_their_own(confirmed, courier_user, other_courier_user):
    offered = await open_socket(f"ws/orders/{confirmed.pk}/", other_courier_user)
    assert (await receive(offered))["status"] == "RESTAURANT_CONFIRMED"
    await db(factories.claim)(confirmed.pk, courier_user)
    # Claimed by someone else: the offer's watcher is shown the door, without the claim.
    assert await close_code(offered) == 4404

    own = await open_socket(f"ws/orders/{confirmed.pk}/", courier_user)
    assert (await receive(own))["delivery_status"] == "assigned"
    await own.disconnect()
    refused = await open_socket(f"ws/orders/{confirmed.pk}/", other_courier_user)
    assert await close_code(refused) == 4404


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


# ---------------------------------------------------------------- the hub


@run_async
async def test_the_hub_follows_several_orders_and_stops_on_unsubscribe(customer, restaurant, menu, staff_user):
    first = await db(factories.place_order)(customer, menu["salad"])
    second = await db(factories.place_order)(customer, menu["salad"])
    hub = await open_socket("ws/orders/", customer)
    await hub.send_json_to({"action": "subscribe", "order_id": str(first.pk)})
    await hub.send_json_to({"action": "subscribe", "order_id": str(second.pk).upper(), "after": 0})
    messages = [await receive(hub) for _ in range(3)]
    assert [(m["type"], m["order_id"], m["sequence"]) for m in messages] == [
        ("snapshot", str(first.pk), 1),
        ("snapshot", str(second.pk), 1),
        ("event", str(second.pk), 1),
    ]
    await db(factories.confirm)(first.pk, staff_user)
    await db(factories.confirm)(second.pk, staff_user)
    assert [(m["order_id"], m["sequence"]) for m in [await receive(hub), await receive(hub)]] == [
        (str(first.pk), 2),
        (str(second.pk), 2),
    ]
    await hub.send_json_to({"action": "unsubscribe", "order_id": str(first.pk)})
    assert await receive(hub) == {"type": "unsubscribed", "order_id": str(first.pk), "reason": "requested"}
    await db(factories.start_preparing)(first.pk, staff_user)
    await db(factories.start_preparing)(second.pk, staff_user)
    assert [(m["order_id"], m["sequence"]) for m in await receive_all(hub)] == [(str(second.pk), 3)]
    await hub.disconnect()


@run_async
async def test_the_hub_answers_an_unauthorised_subscription_with_an_error_and_nothing_else(
    placed, other_customer, staff_user
):
    hub = await open_socket("ws/orders/", other_customer)
    await hub.send_json_to({"action": "subscribe", "order_id": str(placed.pk), "after": 0})
    assert await receive(hub) == {
        "type": "error",
        "code": "order_not_found",
        "detail": "No order with this id is visible to you.",
        "order_id": str(placed.pk),
    }
    await db(factories.confirm)(placed.pk, staff_user)
    assert await hub.receive_nothing(timeout=0.2)
    await hub.disconnect()


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "bad_request"),
        ("[1, 2]", "bad_request"),
        ('{"action": "dance"}', "bad_request"),
        ('{"action": "subscribe", "order_id": 12}', "order_not_found"),
        ('{"action": "subscribe", "order_id": "x"}', "order_not_found"),
        ('{"action": "unsubscribe", "order_id": "00000000-0000-0000-0000-000000000000"}', "not_subscribed"),
        ('{"action": "subscribe", "order_id": "00000000-0000-0000-0000-000000000000", "after": "x"}', "bad_request"),
        ('{"action": "subscribe", "order_id": "00000000-0000-0000-0000-000000000000", "after": true}', "bad_request"),
        ("x" * 5000, "bad_request"),
    ],
)
@run_async
async def test_the_hub_answers_bad_messages_with_an_error_and_stays_open(message, code, customer, placed):
    hub = await open_socket("ws/orders/", customer)
    await hub.send_to(text_data=message)
    assert (await receive(hub))["code"] == code
    await hub.send_json_to({"action": "subscribe", "order_id": str(placed.pk)})
    assert (await receive(hub))["type"] == "snapshot"
    await hub.disconnect()


@run_async
async def test_the_hub_limits_how_many_orders_one_socket_follows(customer, restaurant, menu, monkeypatch):
    monkeypatch.setattr("tracking.consumers.MAX_HUB_SUBSCRIPTIONS", 1)
    first = await db(factories.place_order)(customer, menu["salad"])
    second = await db(factories.place_order)(customer, menu["salad"])
    hub = await open_socket("ws/orders/", customer)
    await hub.send_json_to({"action": "subscribe", "order_id": str(first.pk)})
    assert (await receive(hub))["type"] == "snapshot"
    await hub.send_json_to({"action": "subscribe", "order_id": str(second.pk)})
    assert (await receive(hub))["code"] == "too_many_subscriptions"
    await hub.disconnect()


@run_async
async def test_the_hub_ends_a_subscription_after_the_final_event(placed, customer, staff_user):
    hub = await open_socket("ws/orders/", customer)
    await hub.send_json_to({"action": "subscribe", "order_id": str(placed.pk)})
    await receive(hub)
    await db(factories.cancel)(placed.pk, staff_user)
    assert specific_type(await receive(hub)) == "order.cancelled"
    assert await receive(hub) == {"type": "unsubscribed", "order_id": str(placed.pk), "reason": "final"}
    await hub.disconnect()


# ---------------------------------------------------------------- the restaurant queue


@run_async
async def test_the_kitchen_queue_gets_new_orders_and_every_change_of_its_own_only(
    restaurant, other_restaurant, menu, customer, staff_user, placed
):
    queue = await open_socket(f"ws/restaurants/{restaurant.pk}/orders/", staff_user)
    snapshot = await receive(queue)
    assert (snapshot["type"], [o["order_id"] for o in snapshot["orders"]]) == ("snapshot", [str(placed.pk)])
    elsewhere = await db(OrderFactory)(restaurant=other_restaurant)
    await db(order_transition)(order_id=elsewhere.pk, target="CANCELLED", actor=Actor.system())
    new = await db(factories.place_order)(customer, menu["salad"])
    await db(factories.confirm)(placed.pk, staff_user)
    messages = await receive_all(queue)
    assert [(m["order_id"], specific_type(m)) for m in messages] == [
        (str(new.pk), "order.placed"),
        (str(placed.pk), "order.status_changed"),
    ]
    await queue.disconnect()


@pytest.mark.parametrize(("who", "code"), [("other_staff_user", 4404), ("customer", 4404), ("courier_user", 4404)])
@run_async
async def test_the_kitchen_queue_is_only_for_its_staff(who, code, restaurant, request):
    communicator = await open_socket(f"ws/restaurants/{restaurant.pk}/orders/", await db(request.getfixturevalue)(who))
    assert await close_code(communicator) == code


@run_async
async def test_the_kitchen_queue_starts_from_the_same_orders_as_the_rest_queue(
    restaurant, menu, customer, staff_user, placed
):
    await db(factories.place_order)(customer, menu["salad"], payment_method="online")
    ready = await db(factories.place_order)(customer, menu["salad"])
    for step in (factories.confirm, factories.start_preparing, factories.mark_ready):
        await db(step)(ready.pk, staff_user)
    queue = await open_socket(f"ws/restaurants/{restaurant.pk}/orders/", staff_user)
    snapshot = await receive(queue)
    # The unpaid online order is not the kitchen's yet.
    assert [(o["order_id"], o["status"]) for o in snapshot["orders"]] == [
        (str(placed.pk), "ORDER_PLACED"),
        (str(ready.pk), "READY_FOR_PICKUP"),
    ]
    await queue.disconnect()


@run_async
async def test_a_platform_admin_may_watch_any_kitchen_queue(restaurant, admin_user, placed):
    queue = await open_socket(f"ws/restaurants/{restaurant.pk}/orders/", admin_user)
    assert [o["order_id"] for o in (await receive(queue))["orders"]] == [str(placed.pk)]
    await queue.disconnect()


# ---------------------------------------------------------------- couriers


@run_async
async def test_couriers_see_claimable_orders_until_one_of_them_claims_it(
    placed, staff_user, courier_user, other_courier_user, settings
):
    settings.ORDERFLOW_COURIER_OFFER_RADIUS_KM = 0.001  # nobody near enough for a personal offer
    dave = await open_socket("ws/courier/", courier_user)
    erin = await open_socket("ws/courier/", other_courier_user)
    assert await receive(dave) == {"type": "snapshot", "assigned": [], "available": [], "offers": []}
    await receive(erin)

    await db(factories.confirm)(placed.pk, staff_user)
    for courier in (dave, erin):
        available = await receive(courier)
        assert (available["type"], available["order_id"], available["new_status"]) == (
            "available",
            str(placed.pk),
            "RESTAURANT_CONFIRMED",
        )

    await db(factories.claim)(placed.pk, courier_user)
    claimed = await receive(dave)
    assert (claimed["type"], claimed["event_type"], claimed["sequence"]) == ("event", "order.assigned", 3)
    assert await receive(erin) == {
        "type": "unavailable",
        "order_id": str(placed.pk),
        "order_number": placed.number,
        "sequence": 3,
    }

    await db(factories.start_preparing)(placed.pk, staff_user)
    assert [(m["type"], m["sequence"]) for m in await receive_all(dave)] == [("event", 4)]
    assert await erin.receive_nothing(timeout=0.2)
    await dave.disconnect()
    await erin.disconnect()


@pytest.mark.usefixtures("offers_dispatch")
@run_async
async def test_the_courier_an_order_is_offered_to_is_told_and_told_when_the_offer_closes(
    placed, staff_user, courier_user, other_courier_user
):
    await db(courier_set_availability)(courier=other_courier_user, online=False)
    dave = await open_socket("ws/courier/", courier_user)
    erin = await open_socket("ws/courier/", other_courier_user)
    await receive(dave)
    await receive(erin)

    await db(factories.confirm)(placed.pk, staff_user)
    messages = await receive_all(dave)
    offers = [m for m in messages if m["type"] == "offer"]
    assert [(m["type"], m.get("sequence")) for m in messages if m["type"] != "offer"] == [("available", 2)]
    assert [(o["order_id"], o["state"]) for o in offers] == [(str(placed.pk), "pending")]
    assert offers[0]["expires_at"] > offers[0]["offered_at"]
    assert await erin.receive_nothing(timeout=0.3)  # offline: not told about orders to claim

    again = await open_socket("ws/courier/", courier_user)
    assert [o["offer_id"] for o in (await receive(again))["offers"]] == [offers[0]["offer_id"]]
    await again.disconnect()

    await db(factories.claim)(placed.pk, courier_user)
    messages = await receive_all(dave)
    assert [(m["type"], m.get("sequence"), m.get("state")) for m in messages] == [
        ("event", 3, None),
        ("offer", None, "accepted"),
    ]
    await dave.disconnect()
    await erin.disconnect()


@pytest.mark.usefixtures("offers_dispatch")
@run_async
async def test_a_courier_snapshot_lists_assigned_and_claimable_orders(
    placed, customer, restaurant, menu, staff_user, courier_user
):
    await db(factories.confirm)(placed.pk, staff_user)
    await db(factories.claim)(placed.pk, courier_user)
    claimable = await db(factories.place_order)(customer, menu["salad"])
    await db(factories.confirm)(claimable.pk, staff_user)
    await db(factories.place_order)(customer, menu["salad"], delivery_type="pickup")
    dave = await open_socket("ws/courier/", courier_user)
    snapshot = await receive(dave)
    assert [o["order_id"] for o in snapshot["assigned"]] == [str(placed.pk)]
    assert [o["order_id"] for o in snapshot["available"]] == [str(claimable.pk)]
    assert snapshot["offers"] == []  # a courier with a delivery under way is not offered more
    await dave.disconnect()


@run_async
async def test_the_courier_socket_is_only_for_couriers(customer):
    communicator = await open_socket("ws/courier/", customer)
    assert await close_code(communicator) == 4403


# ---------------------------------------------------------------- courier position


async def _out_for_delivery(order, staff, courier):
    for step in (factories.confirm, factories.start_preparing, factories.mark_ready):
        await db(step)(order.pk, staff)
    for step in (factories.claim, factories.pick_up, factories.start_delivery):
        await db(step)(order.pk, courier)


@pytest.mark.usefixtures("offers_dispatch")
@run_async
async def test_a_position_sent_on_the_courier_socket_reaches_the_customer_with_an_eta(
    placed, customer, staff_user, courier_user
):
    await _out_for_delivery(placed, staff_user, courier_user)
    tracking = await open_socket(f"ws/orders/{placed.pk}/", customer)
    await receive(tracking)
    dave = await open_socket("ws/courier/", courier_user)
    await receive(dave)
    await dave.send_json_to({"action": "location", "latitude": 37.78, "longitude": -122.40})
    recorded = await receive(dave)
    assert (recorded["type"], recorded["latitude"], recorded["longitude"]) == ("location_recorded", 37.78, -122.4)
    location = await receive(tracking)
    assert location["type"] == "location"
    assert location["event_type"] == "order.location_updated"
    assert (location["order_id"], location["latitude"], location["longitude"]) == (str(placed.pk), 37.78, -122.4)
    assert "sequence" not in location
    assert location["distance_km"] > 0 and location["estimated_delivery_time"] > location["recorded_at"]
    # A fresh tracking socket starts from the latest position.
    late = await open_socket(f"ws/orders/{placed.pk}/", customer)
    assert (await receive(late))["courier_location"]["latitude"] == 37.78
    for communicator in (tracking, dave, late):
        await communicator.disconnect()


@pytest.mark.usefixtures("offers_dispatch")
@run_async
async def test_a_position_posted_to_the_rest_api_reaches_the_tracking_socket(
    placed, customer, staff_user, courier_user
):
    await _out_for_delivery(placed, staff_user, courier_user)
    tracking = await open_socket(f"ws/orders/{placed.pk}/", customer)
    await receive(tracking)

    def post_location():
        client = APIClient()
        client.force_authenticate(courier_user)
        return client.post("/api/delivery/location/", {"latitude": "37.781", "longitude": "-122.401"}, format="json")

    response = await db(post_location)()
    assert response.status_code in (200, 201), response.content
    location = await receive(tracking)
    assert (location["type"], location["latitude"], location["longitude"]) == ("location", 37.781, -122.401)
    await tracking.disconnect()


@pytest.mark.usefixtures("offers_dispatch")
@run_async
async def test_a_position_of_unknown_age_still_gives_the_snapshot_an_eta(placed, customer, staff_user, courier_user):
    await _out_for_delivery(placed, staff_user, courier_user)
    await db(CourierProfile.objects.filter(user=courier_user).update)(location_updated_at=None)
    tracking = await open_socket(f"ws/orders/{placed.pk}/", customer)
    location = (await receive(tracking))["courier_location"]
    assert location["recorded_at"] is None
    assert location["estimated_delivery_time"] is not None
    await tracking.disconnect()


@run_async
async def test_bad_positions_are_refused_on_the_courier_socket(courier_user):
    dave = await open_socket("ws/courier/", courier_user)
    await receive(dave)
    await dave.send_json_to({"action": "location", "latitude": 91, "longitude": 0})
    error = await receive(dave)
    assert (error["code"], list(error["errors"])) == ("validation_error", ["latitude"])
    await dave.send_json_to({"action": "location", "latitude": 1, "longitude": 1})
    assert (await receive(dave))["code"] == "too_many_requests"
    await dave.disconnect()


@pytest.mark.usefixtures("offers_dispatch")
@run_async
async def test_positions_are_throttled_per_order_and_the_latest_wins(
    placed, customer, staff_user, courier_user, settings
):
    from delivery.services import courier_record_location

    settings.ORDERFLOW_LOCATION_THROTTLE_SECONDS = 0.5
    await _out_for_delivery(placed, staff_user, courier_user)
    tracking = await open_socket(f"ws/orders/{placed.pk}/", customer)
    await receive(tracking)
    for latitude in (37.70, 37.71, 37.72, 37.73):
        await db(courier_record_location)(courier=courier_user, latitude=latitude, longitude=-122.4)
    first = await receive(tracking)
    latest = await receive(tracking)
    assert [first["latitude"], latest["latitude"]] == [37.70, 37.73]
    assert await tracking.receive_nothing(timeout=0.7)
    await tracking.disconnect()


@run_async
async def test_positions_are_only_for_orders_on_the_road(confirmed, customer, courier_user):
    from delivery.services import courier_record_location

    await db(factories.claim)(confirmed.pk, courier_user)
    tracking = await open_socket(f"ws/orders/{confirmed.pk}/", customer)
    await receive(tracking)
    await db(courier_record_location)(courier=courier_user, latitude=37.7, longitude=-122.4)
    assert await tracking.receive_nothing(timeout=0.2)
    await tracking.disconnect()


# ---------------------------------------------------------------- refunds after the end


def _paid(customer, restaurant, menu):
    order = factories.place_order(customer, menu["salad"], payment_method="online")
    payment_record_result(
        order_id=order.pk,
        succeeded=True,
        provider_reference="sim_ch_paid",
        provider="simulated",
    )
    return order


@pytest.fixture
def refunds_wait(monkeypatch):
    """Refunds stay PENDING until the test processes them (no task runs on commit)."""
    monkeypatch.setattr("payments.tasks.refund_process_task.delay", lambda refund_id: None)


def refund_statuses(messages: list[dict]) -> list[str]:
    return [m["refund_status"] for m in messages if m.get("event_type") == "order.refund_updated"]


@run_async
async def test_a_paid_cancelled_order_streams_its_refund_to_the_end_then_closes(customer, restaurant, menu, staff_user):
    order = await db(_paid)(customer, restaurant, menu)
    communicator = await open_socket(f"ws/orders/{order.pk}/", customer)
    await receive(communicator)
    await db(factories.cancel)(order.pk, staff_user)
    messages = await receive_all(communicator)
    assert refund_statuses(messages) == ["pending", "processing", "completed"]
    assert [m["new_status"] for m in messages if m.get("type") == "event"][-1] == "REFUND_COMPLETED"
    assert messages[-1] == {"closed": 1000}


@run_async
async def test_a_cancelled_order_with_a_pending_refund_stays_live_until_the_refund_ends(
    customer, restaurant, menu, staff_user, refunds_wait
):
    order = await db(_paid)(customer, restaurant, menu)
    await db(factories.cancel)(order.pk, staff_user)
    communicator = await open_socket(f"ws/orders/{order.pk}/", customer)
    snapshot = await receive(communicator)
    assert (snapshot["status"], snapshot["refund_status"]) == ("CANCELLED", "pending")
    assert await communicator.receive_nothing(timeout=0.2)
    refund_id = await db(lambda: Refund.objects.get(order_id=order.pk).pk)()
    await db(refund_process)(refund_id=refund_id)
    messages = await receive_all(communicator)
    assert refund_statuses(messages) == ["processing", "completed"]
    assert [m["new_status"] for m in messages if m.get("type") == "event"] == [
        "CANCELLED",
        "CANCELLED",
        "REFUND_COMPLETED",
    ]
    assert messages[-1] == {"closed": 1000}


@run_async
async def test_a_failed_refund_ends_the_stream(customer, restaurant, menu, staff_user, refunds_wait, settings):
    settings.ORDERFLOW_REFUND_MAX_ATTEMPTS = 1
    settings.ORDERFLOW_SIMULATED_PROVIDER_FAILURE_RATE = 1.0
    order = await db(_paid)(customer, restaurant, menu)
    await db(factories.cancel)(order.pk, staff_user)
    communicator = await open_socket(f"ws/orders/{order.pk}/", customer)
    await receive(communicator)
    refund_id = await db(lambda: Refund.objects.get(order_id=order.pk).pk)()
    await db(refund_process)(refund_id=refund_id)
    messages = await receive_all(communicator)
    assert refund_statuses(messages) == ["processing", "failed"]
    assert messages[-1] == {"closed": 1000}


@run_async
async def test_the_hub_follows_a_refund_to_the_end(customer, restaurant, menu, staff_user, refunds_wait):
    order = await db(_paid)(customer, restaurant, menu)
    await db(factories.cancel)(order.pk, staff_user)
    hub = await open_socket("ws/orders/", customer)
    await hub.send_json_to({"action": "subscribe", "order_id": str(order.pk)})
    assert (await receive(hub))["refund_status"] == "pending"
    assert await hub.receive_nothing(timeout=0.2)
    refund_id = await db(lambda: Refund.objects.get(order_id=order.pk).pk)()
    await db(refund_process)(refund_id=refund_id)
    messages = await receive_all(hub)
    assert refund_statuses(messages) == ["processing", "completed"]
    assert messages[-1] == {
        "type": "unsubscribed",
        "order_id": str(order.pk),
        "reason": "final",
    }
    await hub.disconnect()


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
