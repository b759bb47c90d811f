"""Open sockets check again what they were opened with: the token's expiry (unless a new token is
sent in-band), the user being active and signed in, and the access itself (a staff membership, an
order still theirs to see, a courier profile, a tracking link). Each ends with a 44xx close, and
nothing is sent after it. ORDERFLOW_WS_RECHECK_SECONDS is short here; its default is at most 60 s."""

import asyncio
import json
import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from rest_framework_simplejwt.tokens import AccessToken

from core.actors import Actor
from delivery.models import CourierProfile
from orders.models import Order
from orders.tracking_links import order_tracking_link_renew, order_tracking_link_revoke
from restaurants.models import StaffMembership
from tests import factories
from tests.tracking.conftest import open_socket, receive, run_async, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async
RECHECK = 0.3


@pytest.fixture(autouse=True)
def quick_rechecks(settings):
    settings.ORDERFLOW_WS_RECHECK_SECONDS = RECHECK


def short_token(user, seconds: float) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=seconds))
    return str(token)


async def closed_within(communicator, seconds: float) -> tuple[int, list[dict]]:
    """(the close code, every message sent before it), failing if it does not close in time."""
    messages: list[dict] = []
    give_up = time.monotonic() + seconds
    while True:
        output = await communicator.receive_output(timeout=max(0.01, give_up - time.monotonic()))
        if output["type"] == "websocket.close":
            return output.get("code"), messages
        messages.append(json.loads(output["text"]))


def test_the_default_interval_is_at_most_a_minute():
    from config.settings import base

    assert 0 < base.ORDERFLOW_WS_RECHECK_SECONDS <= 60


@run_async
async def test_a_kitchen_socket_closes_when_the_membership_ends_and_hears_of_no_order_after(
    restaurant, menu, customer, staff_user, placed
):
    queue = await open_socket(f"ws/restaurants/{restaurant.pk}/orders/", staff_user)
    assert (await receive(queue))["type"] == "snapshot"

    await db(StaffMembership.objects.filter(user=staff_user, restaurant=restaurant).delete)()
    await db(factories.place_order)(customer, menu["salad"])
    code, messages = await closed_within(queue, RECHECK + 2)

    assert code == 4404
    assert not any(m.get("event_type") == "order.placed" for m in messages), messages
    await db(factories.place_order)(customer, menu["salad"])
    assert await queue.receive_nothing(timeout=0.5)


@run_async
async def test_a_kitchen_socket_closes_within_the_interval_with_no_event_at_all(restaurant, staff_user, placed):
    queue = await open_socket(f"ws/restaurants/{restaurant.pk}/orders/", staff_user)
    await receive(queue)
    await db(StaffMembership.objects.filter(user=staff_user).delete)()

    code, messages = await closed_within(queue, RECHECK + 2)
    assert (code, messages) == (4404, [])


@run_async
async def test_an_order_socket_closes_when_its_token_expires(placed, customer):
    order_socket = await open_socket(f"ws/orders/{placed.pk}/", token=await db(short_token)(customer, 1.0))
    assert (await receive(order_socket))["type"] == "snapshot"

    started = time.monotonic()
    code, _ = await closed_within(order_socket, 4)
    assert code == 4401 and time.monotonic() - started < 2.5


@run_async
async def test_a_new_token_sent_in_band_keeps_the_socket_open(placed, customer, staff_user):
    # Expiry is a whole second (JWT `exp`): three seconds leave at least two to send the new one.
    order_socket = await open_socket(f"ws/orders/{placed.pk}/", token=await db(short_token)(customer, 3.0))
    await receive(order_socket)
    fresh = await db(short_token)(customer, 60)
    await order_socket.send_json_to({"action": "authenticate", "token": fresh})
    assert (await receive(order_socket))["type"] == "authenticated"
    someone_else = await db(short_token)(staff_user, 60)
    await order_socket.send_json_to({"action": "authenticate", "token": someone_else})
    assert (await receive(order_socket))["code"] == "token_invalid"

    await asyncio.sleep(3.5)  # past the first token's expiry
    await db(factories.confirm)(placed.pk, staff_user)
    event = await receive(order_socket)
    assert (event["type"], event["sequence"]) == ("event", 2)
    await order_socket.disconnect()


@run_async
async def test_a_socket_closes_when_its_user_is_deactivated(placed, customer):
    order_socket = await open_socket(f"ws/orders/{placed.pk}/", customer)
    await receive(order_socket)
    customer.is_active = False
    await db(customer.save)()

    code, _ = await closed_within(order_socket, RECHECK + 2)
    assert code == 4401


@run_async
async def test_a_session_socket_closes_when_the_session_ends(placed, customer):
    order_socket = await open_socket(
        f"ws/orders/{placed.pk}/", headers=[(b"cookie", await db(session_cookie)(customer))]
    )
    await receive(order_socket)
    await db(Session.objects.all().delete)()  # signed out

    code, _ = await closed_within(order_socket, RECHECK + 2)
    assert code == 4401


@run_async
async def test_a_courier_socket_on_an_order_closes_when_the_assignment_ends(
    placed, staff_user, courier_user, other_courier_user
):
    await db(factories.confirm)(placed.pk, staff_user)  # assigns a courier (automatic dispatch)
    await db(Order.objects.filter(pk=placed.pk).update)(courier=courier_user)
    order_socket = await open_socket(f"ws/orders/{placed.pk}/", courier_user)
    await receive(order_socket)
    await db(Order.objects.filter(pk=placed.pk).update)(courier=other_courier_user)

    code, _ = await closed_within(order_socket, RECHECK + 2)
    assert code == 4404


@run_async
async def test_a_courier_board_closes_when_the_courier_profile_goes(courier_user):
    board = await open_socket("ws/courier/", courier_user)
    assert (await receive(board))["type"] == "snapshot"
    await db(CourierProfile.objects.filter(user=courier_user).delete)()

    code, _ = await closed_within(board, RECHECK + 2)
    assert code == 4403


@run_async
async def test_a_tracking_link_socket_closes_when_the_link_is_revoked(placed, customer):
    order = await db(order_tracking_link_renew)(actor=Actor.customer(customer), order_id=placed.pk)
    tracker = await open_socket(f"ws/track/{order.tracking_token}/")
    assert (await receive(tracker))["type"] == "snapshot"
    await db(order_tracking_link_revoke)(actor=Actor.customer(customer), order_id=placed.pk)

    code, _ = await closed_within(tracker, RECHECK + 2)
    assert code == 4404


def test_the_interval_is_a_setting_the_servers_read():
    assert django_settings.ORDERFLOW_WS_RECHECK_SECONDS == RECHECK


@run_async
async def test_the_signalr_hub_closes_when_its_token_expires(customer):
    from channels.testing import WebsocketCommunicator

    from config.asgi import application
    from tests.tracking.contracts.test_customer_tracking import Hub, negotiate

    negotiated = await db(negotiate)(customer)
    token = await db(short_token)(customer, 2.0)
    communicator = WebsocketCommunicator(
        application, f"/hubs/customer-orders?id={negotiated['connectionToken']}&access_token={token}"
    )
    connected, _ = await communicator.connect()
    assert connected
    hub = Hub(communicator)
    await hub.send({"protocol": "json", "version": 1})
    assert await hub.receive() == {}

    close = await hub.receive(timeout=4)
    assert close["type"] == 7 and close["allowReconnect"] is True
    assert await hub.receive(timeout=2) == {"closed": 4401}
