from decimal import Decimal

import pytest

from delivery.models import CourierLocation, CourierProfile
from tests.api.support import problem
from tests.factories import assign, place_order, to_out_for_delivery, to_ready

pytestmark = pytest.mark.django_db


def test_location_updates_the_profile_and_the_track_of_the_delivery(dave, customer, staff_user, courier_user, menu):
    waiting = to_ready(place_order(customer, menu["pizza"]), staff_user)
    assign(waiting, courier_user)
    carrying = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)

    response = dave.post(
        "/api/delivery/location/", {"latitude": 37.78012345, "longitude": -122.40198765}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "success": True,
        "latitude": "37.780123",
        "longitude": "-122.401988",
        "recorded_at": body["recorded_at"],
        "order_id": str(carrying.pk),
    }
    profile = CourierProfile.objects.get(user=courier_user)
    assert (profile.latitude, profile.longitude) == (Decimal("37.780123"), Decimal("-122.401988"))
    assert CourierLocation.objects.get().order_id == carrying.pk


def test_location_without_a_delivery_is_kept_too(dave, courier_user):
    body = dave.post("/api/delivery/location/", {"latitude": "37.7", "longitude": "-122.4"}, format="json").json()

    assert body["order_id"] is None
    assert CourierLocation.objects.filter(courier__user=courier_user).count() == 1


@pytest.mark.parametrize(
    ("position", "field"),
    [
        ({"latitude": 91, "longitude": 0}, "latitude"),
        ({"latitude": 0, "longitude": -180.5}, "longitude"),
        ({"latitude": "north", "longitude": 0}, "latitude"),
        ({"latitude": "1e9999999", "longitude": 0}, "latitude"),
        ({"longitude": 0}, "latitude"),
    ],
)
def test_bad_positions_are_400(dave, position, field):
    errors = problem(dave.post("/api/delivery/location/", position, format="json"), 400, "validation_error")["errors"]

    assert field in errors
    assert not CourierLocation.objects.exists()


def test_location_reports_are_rate_limited(dave, settings):
    settings.ORDERFLOW_COURIER_LOCATION_RATE = "2/min"
    position = {"latitude": 37.7, "longitude": -122.4}

    statuses = [dave.post("/api/delivery/location/", position, format="json").status_code for _ in range(2)]
    limited = dave.post("/api/delivery/location/", position, format="json")

    assert statuses == [200, 200]
    problem(limited, 429, "rate_limited")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert CourierLocation.objects.count() == 2


def test_the_limit_is_per_courier(dave, erin, settings):
    settings.ORDERFLOW_COURIER_LOCATION_RATE = "1/min"
    position = {"latitude": 37.7, "longitude": -122.4}

    assert dave.post("/api/delivery/location/", position, format="json").status_code == 200
    assert erin.post("/api/delivery/location/", position, format="json").status_code == 200
    assert dave.post("/api/delivery/location/", position, format="json").status_code == 429


def test_availability_toggles(dave, courier_user):
    offline = dave.post("/api/delivery/availability/", {"online": False}, format="json")
    assert offline.json() == {"success": True, "online": False}
    assert CourierProfile.objects.get(user=courier_user).is_online is False

    assert dave.post("/api/delivery/availability/", {"online": True}, format="json").json()["online"] is True
    assert CourierProfile.objects.get(user=courier_user).is_online is True


@pytest.mark.parametrize("body", [{}, {"online": "sometimes"}, {"online": None}])
def test_availability_needs_a_boolean(dave, body):
    assert (
        "online"
        in problem(dave.post("/api/delivery/availability/", body, format="json"), 400, "validation_error")["errors"]
    )


@pytest.mark.parametrize("path", ["/api/delivery/location/", "/api/delivery/availability/"])
@pytest.mark.parametrize("who", ["alice", "kitchen"])
def test_only_couriers(request, path, who):
    problem(
        request.getfixturevalue(who).post(path, {"latitude": 1, "longitude": 1, "online": True}, format="json"),
        403,
        "not_a_courier",
    )
