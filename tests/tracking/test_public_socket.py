"""`ws/track/<token>/`: the public link's socket, through the real ASGI application and the
in-process layer. The same stream as `ws/orders/<id>/`, without an account and without
anything a link may not show."""

import pytest
from channels.db import database_sync_to_async

from core.actors import Actor
from delivery.models import HandoffPurpose
from orders.models import Order
from orders.tracking_links import order_tracking_link_revoke
from tests import factories
from tests.tracking.conftest import close_code, open_socket, receive, receive_all, run_async

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("offers_dispatch")]

db = database_sync_to_async
PRIVATE_KEYS = {"order_id", "updated_by", "reason", "metadata", "actor_role", "event_id", "distance_km"}


def token_of(order) -> str:
    token = Order.objects.get(pk=order.pk).tracking_token
    assert token is not None
    return token


def events_of(messages):
    return [(m["sequence"], m["event_type"]) for m in messages if m.get("type") == "event"]


@run_async
async def test_a_link_gets_a_snapshot_and_live_events_without_an_account(placed, staff_user):
    token = await db(token_of)(placed)
    tracking = await open_socket(f"ws/track/{token}/")
    snapshot = await receive(tracking)
    assert snapshot["type"] == "snapshot"
    assert (snapshot["order_number"], snapshot["status"], snapshot["sequence"]) == (placed.number, "ORDER_PLACED", 1)
    assert snapshot["restaurant"]["name"] == "Pizza Palace"
    assert snapshot["courier"] is None and snapshot["courier_location"] is None
    assert "order_id" not in snapshot and "total" not in snapshot

    await db(factories.cancel)(placed.pk, staff_user, reason="Our oven broke at 500 Howard Street")
    messages = await receive_all(tracking)
    assert events_of(messages) == [(2, "order.cancelled")]
    assert messages[-1] == {"closed": 1000}  # a cash order: nothing more will change
    event = messages[0]
    assert event["new_status"] == "CANCELLED" and event["courier"] is None
    assert not set(event) & PRIVATE_KEYS
    assert "Howard" not in str(messages)


@run_async
async def test_after_replays_exactly_what_was_missed(placed, staff_user):
    for step in (factories.confirm, factories.start_preparing):
        await db(step)(placed.pk, staff_user)
    token = await db(token_of)(placed)
    tracking = await open_socket(f"ws/track/{token}/?after=1")
    messages = await receive_all(tracking)
    assert messages[0]["type"] == "snapshot" and messages[0]["sequence"] == 3
    assert events_of(messages) == [(2, "order.status_changed"), (3, "order.status_changed")]
    await db(factories.mark_ready)(placed.pk, staff_user)
    assert events_of(await receive_all(tracking)) == [(4, "order.ready_for_pickup")]
    await tracking.disconnect()


@run_async
async def test_the_courier_first_name_and_position_while_on_the_road(placed, staff_user, courier_user):
    courier_user.first_name = "Dave"
    await db(courier_user.save)()
    for step in (factories.confirm, factories.start_preparing, factories.mark_ready):
        await db(step)(placed.pk, staff_user)
    await db(factories.claim)(placed.pk, courier_user)
    token = await db(token_of)(placed)
    tracking = await open_socket(f"ws/track/{token}/")
    await receive(tracking)
    await db(factories.pick_up)(placed.pk, courier_user)
    picked = await receive(tracking)
    assert picked["new_status"] == "ORDER_PICKED_UP" and picked["courier"] == {"first_name": "Dave"}
    dave = await open_socket("ws/courier/", courier_user)
    await receive(dave)
    await dave.send_json_to({"action": "location", "latitude": 37.78, "longitude": -122.40})
    await receive(dave)
    location = await receive(tracking)
    assert location == {
        "type": "location",
        "event_type": "order.location_updated",
        "latitude": 37.78,
        "longitude": -122.4,
        "recorded_at": location["recorded_at"],
        "estimated_delivery_time": location["estimated_delivery_time"],
    }
    code = await db(factories.handoff_code)(placed.pk, HandoffPurpose.PICKUP)
    assert code not in str(picked)
    for communicator in (tracking, dave):
        await communicator.disconnect()


@pytest.mark.parametrize("token", ["no-such-token", "a" * 43])
@run_async
async def test_an_unknown_token_is_4404(placed, token):
    assert await close_code(await open_socket(f"ws/track/{token}/")) == 4404


@run_async
async def test_a_malformed_after_is_4400(placed):
    token = await db(token_of)(placed)
    assert await close_code(await open_socket(f"ws/track/{token}/?after=x")) == 4400


@run_async
async def test_a_revoked_link_closes_at_its_next_event(placed, customer, staff_user):
    token = await db(token_of)(placed)
    tracking = await open_socket(f"ws/track/{token}/")
    await receive(tracking)
    await db(order_tracking_link_revoke)(actor=Actor.customer(customer), order_id=placed.pk)
    await db(factories.confirm)(placed.pk, staff_user)
    assert await receive_all(tracking) == [{"closed": 4404}]
    assert await close_code(await open_socket(f"ws/track/{token}/")) == 4404


@run_async
async def test_a_final_order_closes_after_its_snapshot(placed, staff_user):
    await db(factories.cancel)(placed.pk, staff_user)
    token = await db(token_of)(placed)
    messages = await receive_all(await open_socket(f"ws/track/{token}/?after=0"))
    assert messages[0]["final"] is True
    assert events_of(messages) == [(1, "order.placed"), (2, "order.cancelled")]
    assert messages[-1] == {"closed": 1000}


@run_async
async def test_an_expired_link_is_refused_with_4410_before_and_after_the_retention_task(placed):
    from datetime import timedelta

    from django.utils import timezone

    from privacy.tasks import retention_enforce_task

    token = await db(token_of)(placed)
    ended = timezone.now() - timedelta(days=2)
    await db(Order.objects.filter(pk=placed.pk).update)(status="CANCELLED", cancelled_at=ended)
    assert await close_code(await open_socket(f"ws/track/{token}/")) == 4410
    await db(retention_enforce_task)()
    assert await close_code(await open_socket(f"ws/track/{token}/")) == 4410
    assert await close_code(await open_socket("ws/track/no-such-token/")) == 4404
