"""Who may open which socket: tokens, the session of a browser of this site, unknown paths, and
who may watch one order."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from rest_framework_simplejwt.tokens import AccessToken

from tests import factories
from tests.tracking.conftest import close_code, open_socket, receive, run_async, session_cookie, socket

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


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
