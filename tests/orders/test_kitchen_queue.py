"""The quote comes from the kitchen's queue: a kitchen with more orders in hand than stations
quotes later, at placement, at confirmation and when the quotes are refreshed; a refresh pass
learns each size band's preparation time once per restaurant."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from core.actors import Actor
from orders.kitchen import queue_start
from orders.models import EventType, OrderStatus, TrackingEvent
from orders.services.quotes import orders_quotes_refresh
from tests.factories import move, place_order

pytestmark = pytest.mark.django_db

PREP = timedelta(minutes=20)  # the restaurant's configured average: no history yet


def test_a_station_frees_when_all_but_stations_minus_one_orders_ahead_are_ready():
    assert queue_start(0.0, [], 2) == 0.0
    assert queue_start(0.0, [10.0], 2) == 0.0
    assert queue_start(0.0, [10.0, 30.0, 20.0], 2) == 20.0
    # Orders already ready (or overdue) hold no station.
    assert queue_start(15.0, [10.0, 12.0, 30.0], 2) == 15.0


@freeze_time("2026-03-03 12:00:00")
def test_a_swamped_kitchen_quotes_later(customer, menu, restaurant):
    restaurant.kitchen_stations = 2
    restaurant.save(update_fields=["kitchen_stations"])
    now = timezone.now()
    first, second = (place_order(customer, menu["salad"]) for _ in range(2))
    assert first.estimated_ready_at == second.estimated_ready_at == now + PREP
    # Both stations are taken until then: the third waits for one.
    third = place_order(customer, menu["salad"])
    assert third.estimated_ready_at == now + 2 * PREP
    # One station frees at +20 (the other two orders ahead are ready at +20 and +40).
    fourth = place_order(customer, menu["salad"])
    assert fourth.estimated_ready_at == now + 2 * PREP
    fifth = place_order(customer, menu["salad"])
    assert fifth.estimated_ready_at == now + 3 * PREP
    assert fifth.estimated_delivery_at > fifth.estimated_ready_at


@freeze_time("2026-03-03 12:00:00")
def test_the_default_stations_absorb_a_few_orders(customer, menu, restaurant):
    assert restaurant.kitchen_stations == 4
    orders = [place_order(customer, menu["salad"]) for _ in range(4)]
    assert {order.estimated_ready_at for order in orders} == {timezone.now() + PREP}
    assert place_order(customer, menu["salad"]).estimated_ready_at == timezone.now() + 2 * PREP


@pytest.fixture
def one_station_queue(customer, menu, restaurant):
    """A kitchen of one station with an order placed at 11:59 (in hand until 12:19) and one
    placed at 12:00 behind it."""
    restaurant.kitchen_stations = 1
    restaurant.save(update_fields=["kitchen_stations"])
    with freeze_time("2026-03-03 11:59:00"):
        ahead = place_order(customer, menu["salad"])
    with freeze_time("2026-03-03 12:00:00"):
        queued = place_order(customer, menu["salad"])
    assert queued.estimated_ready_at == ahead.estimated_ready_at + PREP
    return ahead, queued


def test_confirmation_keeps_the_wait_for_a_station_unless_staff_say_how_long(
    customer, menu, staff_user, one_station_queue
):
    ahead, queued = one_station_queue
    actor = Actor.restaurant(staff_user)
    with freeze_time("2026-03-03 12:00:00"):
        confirmed = move(queued, OrderStatus.RESTAURANT_CONFIRMED, actor=actor)
        assert confirmed.estimated_ready_at == ahead.estimated_ready_at + PREP
        said = move(
            place_order(customer, menu["salad"]),
            OrderStatus.RESTAURANT_CONFIRMED,
            actor=actor,
            metadata={"estimated_prep_time": 25},
        )
        assert said.estimated_ready_at == timezone.now() + timedelta(minutes=25)


def test_a_refresh_moves_the_queued_quote_when_the_order_ahead_is_done(staff_user, one_station_queue):
    ahead, queued = one_station_queue
    actor = Actor.restaurant(staff_user)
    with freeze_time("2026-03-03 12:00:00"):
        assert orders_quotes_refresh() == 0  # nothing moved
    with freeze_time("2026-03-03 12:05:00"):
        move(ahead, OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP, actor=actor)
        assert orders_quotes_refresh() == 1
        queued.refresh_from_db()
        assert queued.estimated_ready_at == timezone.now() + PREP
        assert orders_quotes_refresh() == 0
    assert TrackingEvent.objects.filter(order=queued, event_type=EventType.ETA_UPDATED).count() == 1


@freeze_time("2026-03-03 12:00:00")
def test_a_refresh_reads_the_queue_once_and_learns_each_size_band_once(customer, menu):
    for quantity in (1, 1, 2, 2, 4, 4):
        place_order(customer, menu["salad"], quantity=quantity)
    with CaptureQueriesContext(connection) as captured:
        orders_quotes_refresh()
    learned = [q["sql"] for q in captured.captured_queries if '"ready_at" - ' in q["sql"]]
    # Two bands among the six orders (1-2 items, 3-5 items): one query each, not one an order.
    assert len(learned) == 2, learned
    # The kitchen's queue (with each order's size): one query for the restaurant.
    queue = [q["sql"] for q in captured.captured_queries if '"estimated_ready_at" IS NOT NULL' in q["sql"]]
    assert len(queue) == 1, queue
