"""`ws/courier/`: orders to claim reach only couriers online and within the claim radius, as the
restaurant, the drop-off area, distances and pay; never the customer."""

import json
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from delivery.models import CourierProfile
from delivery.services import courier_set_availability
from tests import factories
from tests.tracking.conftest import open_socket, receive, receive_all, run_async

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async

NOTE = "Code 4417 at the gate, flat 3B"


@pytest.fixture
def placed(customer, restaurant, menu):
    customer.first_name, customer.last_name = "Alicia", "Vandersloot"
    customer.save(update_fields=["first_name", "last_name"])
    order = factories.place_order(customer, menu["salad"])
    order.notes = NOTE
    order.delivery_postal_code = "94105"
    order.save(update_fields=["notes", "delivery_postal_code"])
    return order


def _no_customer_in(message: dict, customer) -> None:
    text = json.dumps(message)
    for secret in ("Alicia", "Vandersloot", customer.username, "500 Howard", "94105", NOTE, str(customer.pk) + ","):
        assert secret not in text, secret
    area = message["order"]["drop_off_area"]
    assert all(len(area[key].split(".")[1]) <= 3 for key in ("latitude", "longitude"))


@run_async
async def test_online_couriers_in_reach_hear_of_an_order_offline_and_distant_ones_do_not(
    placed, customer, staff_user, courier_user, other_courier_user, settings
):
    settings.ORDERFLOW_COURIER_OFFER_RADIUS_KM = 0.001  # nobody is given the order automatically
    await db(courier_set_availability)(courier=other_courier_user, online=False)
    online = await open_socket("ws/courier/", courier_user)
    offline = await open_socket("ws/courier/", other_courier_user)
    assert (await receive(online))["available"] == []
    assert (await receive(offline))["available"] == []

    await db(factories.confirm)(placed.pk, staff_user)
    (frame,) = await receive_all(online)
    assert (frame["type"], frame["order_id"], frame["new_status"]) == (
        "available",
        str(placed.pk),
        "RESTAURANT_CONFIRMED",
    )
    assert frame["order"]["restaurant_name"] == "Pizza Palace"
    assert frame["order"]["pay"]["total"] == "2.99"
    assert frame["order"]["distance_to_restaurant_km"] == pytest.approx(0.24, abs=0.02)
    assert "updated_by" not in frame and "metadata" not in frame
    _no_customer_in(frame, customer)
    assert await offline.receive_nothing(timeout=0.3)

    # The courier who went offline starts hearing again once online; one who moved away does not.
    await db(courier_set_availability)(courier=other_courier_user, online=True)
    await db(CourierProfile.objects.filter(user=courier_user).update)(latitude=Decimal("38.500000"))
    await db(factories.start_preparing)(placed.pk, staff_user)
    (frame,) = await receive_all(offline)
    assert (frame["type"], frame["new_status"]) == ("available", "PREPARING")
    _no_customer_in(frame, customer)
    assert await online.receive_nothing(timeout=0.3)

    # A snapshot lists it with the same preview.
    again = await open_socket("ws/courier/", other_courier_user)
    snapshot = await receive(again)
    (listed,) = snapshot["available"]
    assert listed["order"]["drop_off_area"] == {"city": "San Francisco", "latitude": "37.785", "longitude": "-122.395"}
    _no_customer_in(listed, customer)
    for communicator in (online, offline, again):
        await communicator.disconnect()


@run_async
async def test_an_offline_courier_socket_gets_no_available_frame_at_all(
    placed, staff_user, courier_user, other_courier_user, settings
):
    settings.ORDERFLOW_COURIER_OFFER_RADIUS_KM = 0.001
    await db(courier_set_availability)(courier=courier_user, online=False)
    socket = await open_socket("ws/courier/", courier_user)
    assert (await receive(socket))["available"] == []
    for step in (factories.confirm, factories.start_preparing, factories.mark_ready):
        await db(step)(placed.pk, staff_user)
    assert [m for m in await receive_all(socket) if m["type"] == "available"] == []
    await socket.disconnect()


@run_async
async def test_an_orders_socket_does_not_name_the_customer_to_a_courier(placed, customer, staff_user, courier_user):
    await db(factories.confirm)(placed.pk, staff_user)
    for path in (f"ws/orders/{placed.pk}/?after=0",):
        socket = await open_socket(path, courier_user)
        messages = await receive_all(socket)
        placed_event = next(m for m in messages if m.get("event_type") == "order.placed")
        assert placed_event["updated_by"] == "Customer" and placed_event["actor_role"] == "customer"
        assert "Alicia" not in json.dumps(messages) and "Vandersloot" not in json.dumps(messages)
        await socket.disconnect()
    hub = await open_socket("ws/orders/", courier_user)
    await hub.send_json_to({"action": "subscribe", "order_id": str(placed.pk), "after": 0})
    messages = await receive_all(hub)
    assert any(m.get("event_type") == "order.placed" for m in messages)
    assert "Alicia" not in json.dumps(messages)
    await hub.disconnect()
    # The customer's own socket still names them.
    own = await open_socket(f"ws/orders/{placed.pk}/?after=0", customer)
    assert "Alicia Vandersloot" in json.dumps(await receive_all(own))
    await own.disconnect()
