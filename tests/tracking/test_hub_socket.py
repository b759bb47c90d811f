"""The hub socket (ws/orders/): one socket following several orders, its errors and limits."""

import pytest
from channels.db import database_sync_to_async

from tests import factories
from tests.tracking.conftest import open_socket, receive, receive_all, run_async, specific_type

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


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
    monkeypatch.setattr("tracking.hub_consumers.MAX_HUB_SUBSCRIPTIONS", 1)
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
