"""The courier socket (ws/courier/): orders to claim, offers, and positions reaching the
customer's tracking socket."""

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from delivery.models import CourierProfile
from delivery.services import courier_set_availability
from tests import factories
from tests.tracking.conftest import close_code, open_socket, receive, receive_all, run_async

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


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
