"""The kitchen controls its intake: hours, pause and busy, orders for later, capacity per slot."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from core.timestamps import iso
from orders.kitchen import slot_start
from orders.models import DeadlineKind, EventType, Order, OrderStatus, TrackingEvent
from orders.services.deadlines import orders_sweep_overdue
from restaurants.models import KitchenStatus, OpeningException, OpeningHours
from restaurants.services import restaurants_status_expire
from tests.api.support import order_body, problem
from tracking.payloads import event_payload

pytestmark = pytest.mark.django_db

# A Tuesday, 12:00 UTC.
NOON = "2026-03-03 12:00:00"


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def kitchen_url(restaurant) -> str:
    return f"/api/restaurants/{restaurant.pk}/kitchen/"


# ---------------------------------------------------------------- status


@freeze_time(NOON)
def test_paused_kitchen_refuses_orders_with_when_it_reopens(kitchen, alice, restaurant, menu):
    until = timezone.now() + timedelta(minutes=30)
    answer = kitchen.put(kitchen_url(restaurant), {"status": "paused", "until": until.isoformat()}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "paused"
    assert parse(answer.json()["until"]) == until

    body = problem(alice.post("/api/orders/", order_body(menu), format="json"), 409, "restaurant_paused")
    assert parse(body["reopens_at"]) == until
    assert not Order.objects.exists()


def test_a_pause_past_its_end_reads_as_open_without_any_sweep(kitchen, alice, restaurant, menu):
    with freeze_time(NOON):
        until = timezone.now() + timedelta(minutes=5)
        kitchen.put(kitchen_url(restaurant), {"status": "paused", "until": until.isoformat()}, format="json")
        problem(alice.post("/api/orders/", order_body(menu), format="json"), 409, "restaurant_paused")
    with freeze_time(parse(NOON + "Z") + timedelta(minutes=6)):
        assert kitchen.get(kitchen_url(restaurant)).json()["status"] == "open"
        assert alice.post("/api/orders/", order_body(menu), format="json").status_code == 201
        restaurant.refresh_from_db()
        assert restaurant.kitchen_status == KitchenStatus.PAUSED  # nothing wrote: the read decided
        # The beat task clears it once, however many run.
        assert restaurants_status_expire() == 1
        assert restaurants_status_expire() == 0
        restaurant.refresh_from_db()
        assert restaurant.kitchen_status == KitchenStatus.OPEN


@freeze_time(NOON)
def test_busy_lengthens_every_quote(kitchen, alice, restaurant, menu):
    first = alice.post("/api/orders/", order_body(menu), format="json").json()
    kitchen.put(kitchen_url(restaurant), {"status": "busy", "busy_minutes": 15}, format="json")
    second = alice.post("/api/orders/", order_body(menu), format="json").json()

    quoted = {o["id"]: Order.objects.get(pk=o["id"]).estimated_ready_at for o in (first, second)}
    assert quoted[second["id"]] - quoted[first["id"]] == timedelta(minutes=15)
    listing = alice.get("/api/restaurants/").json()["results"][0]
    assert listing["kitchen"]["status"] == "busy"
    assert listing["kitchen"]["busy_minutes"] == 15


def test_only_the_restaurants_own_staff_set_its_status(alice, other_kitchen, kitchen, restaurant):
    problem(
        other_kitchen.put(kitchen_url(restaurant), {"status": "paused"}, format="json"), 404, "restaurant_not_found"
    )
    problem(alice.put(kitchen_url(restaurant), {"status": "paused"}, format="json"), 404, "restaurant_not_found")
    problem(kitchen.put(kitchen_url(restaurant), {"status": "busy"}, format="json"), 400, "validation_error")
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    body = problem(
        kitchen.put(kitchen_url(restaurant), {"status": "paused", "until": past}, format="json"),
        400,
        "validation_error",
    )
    assert "until" in body["errors"]
    problem(kitchen.put(kitchen_url(restaurant), {"status": "sleeping"}, format="json"), 400, "validation_error")


# ---------------------------------------------------------------- hours


def _nine_to_five(kitchen, restaurant, **extra):
    weekly = [{"weekday": day, "opens": "09:00", "closes": "17:00"} for day in range(7)]
    body = {"time_zone": "Europe/Berlin", "weekly": weekly, "exceptions": [], **extra}
    answer = kitchen.put(f"/api/restaurants/{restaurant.pk}/hours/", body, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()


@freeze_time("2026-03-03 17:30:00")  # 18:30 in Berlin
def test_closed_kitchen_refuses_now_with_its_next_opening_and_takes_orders_for_then(kitchen, alice, restaurant, menu):
    _nine_to_five(kitchen, restaurant, exceptions=[{"date": "2026-03-04", "opens": None, "closes": None}])
    body = problem(alice.post("/api/orders/", order_body(menu), format="json"), 409, "restaurant_closed")
    # Wednesday is a holiday: Thursday 09:00 in Berlin is 08:00 UTC.
    assert parse(body["reopens_at"]) == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)

    holiday = problem(
        alice.post("/api/orders/", order_body(menu, fulfill_at="2026-03-04T11:00:00Z"), format="json"),
        400,
        "validation_error",
    )
    assert "fulfill_at" in holiday["errors"]
    later = alice.post("/api/orders/", order_body(menu, fulfill_at="2026-03-05T11:00:00Z"), format="json")
    assert later.status_code == 201, later.content
    assert parse(later.json()["fulfill_at"]) == datetime(2026, 3, 5, 11, 0, tzinfo=UTC)


@freeze_time(NOON)
def test_hours_read_back_as_set_and_past_midnight_counts(kitchen, restaurant):
    OpeningHours.objects.create(restaurant=restaurant, weekday=1, opens=time(18), closes=time(2))
    answer = kitchen.get(f"/api/restaurants/{restaurant.pk}/hours/").json()
    assert answer["weekly"] == [{"weekday": 1, "opens": "18:00:00", "closes": "02:00:00"}]
    with freeze_time("2026-03-04 01:30:00"):  # Wednesday 01:30 UTC: Tuesday's evening still
        assert kitchen.get(kitchen_url(restaurant)).json()["status"] == "open"
    with freeze_time("2026-03-04 02:30:00"):
        state = kitchen.get(kitchen_url(restaurant)).json()
        assert state["status"] == "closed"
        OpeningException.objects.create(restaurant=restaurant, date="2026-03-10")
        # Next Tuesday is closed: the one after.
        assert parse(kitchen.get(kitchen_url(restaurant)).json()["reopens_at"]) == datetime(
            2026, 3, 17, 18, 0, tzinfo=UTC
        )


# ---------------------------------------------------------------- orders for later


@freeze_time(NOON)
def test_order_for_later_waits_for_its_release_and_deadlines_count_from_it(alice, kitchen, restaurant, menu, settings):
    settings.ORDERFLOW_CONFIRM_TIMEOUT_SECONDS = 600
    fulfill_at = timezone.now() + timedelta(hours=3)
    placed = alice.post(
        "/api/orders/", order_body(menu, delivery_type="pickup", fulfill_at=iso(fulfill_at)), format="json"
    )
    assert placed.status_code == 201, placed.content
    order = Order.objects.get(pk=placed.json()["id"])
    # Pickup: ready at the time asked for, released its preparation time before.
    assert order.estimated_ready_at == fulfill_at
    assert order.release_at == fulfill_at - timedelta(minutes=restaurant.average_prep_minutes)
    assert (order.deadline_at, order.deadline_kind) == (order.release_at, DeadlineKind.RELEASE)

    early = kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {}, format="json")
    problem(early, 400, "invalid_transition")
    queue = kitchen.get("/api/restaurants/orders/queue/").json()["orders"]
    assert [(o["id"], o["scheduled"]) for o in queue] == [(str(order.pk), True)]

    assert orders_sweep_overdue(now=order.release_at - timedelta(seconds=1)).enforced == 0
    assert orders_sweep_overdue(now=order.release_at).enforced == 1
    assert orders_sweep_overdue(now=order.release_at + timedelta(minutes=1)).enforced == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.ORDER_PLACED
    assert order.released_at is not None
    assert order.deadline_kind == DeadlineKind.CONFIRMATION
    assert order.deadline_at == order.released_at + timedelta(seconds=600)
    assert TrackingEvent.objects.filter(order=order, event_type=EventType.RELEASED).count() == 1
    assert kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {}, format="json").status_code == 200


@freeze_time(NOON)
def test_the_promised_time_is_in_every_event_payload(alice, menu):
    fulfill_at = timezone.now() + timedelta(hours=2)
    placed = alice.post("/api/orders/", order_body(menu, fulfill_at=iso(fulfill_at)), format="json").json()
    event = TrackingEvent.objects.select_related("order").get(order_id=placed["id"])
    assert parse(event_payload(event)["fulfill_at"]) == fulfill_at
    assert parse(placed["fulfill_at"]) == fulfill_at


@freeze_time(NOON)
def test_order_for_later_out_of_reach_is_refused(alice, menu, settings):
    settings.ORDERFLOW_ORDER_AHEAD_DAYS = 2
    too_soon = iso(timezone.now() + timedelta(minutes=5))
    too_far = iso(timezone.now() + timedelta(days=3))
    for when in (too_soon, too_far):
        body = problem(
            alice.post("/api/orders/", order_body(menu, fulfill_at=when), format="json"), 400, "validation_error"
        )
        assert "fulfill_at" in body["errors"]


# ---------------------------------------------------------------- capacity per slot


@freeze_time(NOON)
def test_a_full_slot_quotes_the_next_and_refuses_a_time_in_it(alice, restaurant, menu):
    restaurant.slot_capacity = 1
    restaurant.save()
    first = Order.objects.get(
        pk=alice.post("/api/orders/", order_body(menu, delivery_type="pickup"), format="json").json()["id"]
    )
    second = Order.objects.get(
        pk=alice.post("/api/orders/", order_body(menu, delivery_type="pickup"), format="json").json()["id"]
    )
    assert first.slot_at == slot_start(timezone.now() + timedelta(minutes=20))
    assert second.slot_at == first.slot_at + timedelta(minutes=15)
    assert second.estimated_ready_at == second.slot_at

    taken = iso(first.slot_at + timedelta(minutes=5))
    body = problem(
        alice.post("/api/orders/", order_body(menu, delivery_type="pickup", fulfill_at=taken), format="json"),
        409,
        "slot_full",
    )
    assert [parse(t) for t in body["next_free_slots"]] == [first.slot_at + timedelta(minutes=15 * n) for n in (2, 3, 4)]


@freeze_time(NOON)
def test_capacity_in_items_counts_each_orders_items(alice, restaurant, menu):
    restaurant.slot_capacity = 4
    restaurant.slot_capacity_unit = "items"
    restaurant.save()
    # order_body has three items: the first fills three of four places, the second no longer fits.
    first = Order.objects.get(pk=alice.post("/api/orders/", order_body(menu), format="json").json()["id"])
    second = Order.objects.get(pk=alice.post("/api/orders/", order_body(menu), format="json").json()["id"])
    assert second.slot_at == first.slot_at + timedelta(minutes=15)


def test_hours_refuse_what_cannot_be_kept(kitchen, other_kitchen, restaurant):
    url = f"/api/restaurants/{restaurant.pk}/hours/"
    body = {
        "time_zone": "Mars/Olympus",
        "weekly": [{"weekday": 0, "opens": "09:00", "closes": "09:00"}],
        "exceptions": [],
    }
    errors = problem(kitchen.put(url, body, format="json"), 400, "validation_error")["errors"]
    assert set(errors) == {"time_zone", "weekly[0]"}
    bad_day = {**body, "time_zone": "UTC", "weekly": [{"weekday": 7, "opens": "09:00", "closes": "17:00"}]}
    problem(kitchen.put(url, bad_day, format="json"), 400, "validation_error")
    problem(other_kitchen.get(url), 404, "restaurant_not_found")
    assert not OpeningHours.objects.exists()
