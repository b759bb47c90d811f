"""End to end: a real daphne process serving config.asgi on the test database and the machine's
Redis, ordinary `websockets` clients, and an order driven through its whole life.

Each scenario runs with two drivers: `http` makes every change through the REST API on the
server (skipped, saying so, until that API is part of the code base), `services` makes it
through the services in this process, whose broadcast crosses Redis to the server's sockets.
"""

import time

import pytest
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken

from config.settings.services import redis_channel_layer
from delivery.services import courier_set_availability
from orders.models import HandoffPurpose
from tests import factories
from tests.tracking.live import (
    HttpDriver,
    LiveSocket,
    RedisProcess,
    ServerProcess,
    SocketLoop,
    database_url,
    event_sequences,
    has_event,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.live_server,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("offers_dispatch"),
]
# Couriers claim orders here (in this process and on the server), so none is assigned on confirmation.
OFFERS = {"ORDERFLOW_COURIER_DISPATCH": "offers"}

USER_PASSWORD = "pass-12345"  # tests.factories.UserFactory
QUIET_SECONDS = 0.5

LIFECYCLE_EVENTS = [
    (1, "order.placed"),
    (2, "order.status_changed"),
    (3, "order.assigned"),
    (4, "order.status_changed"),
    (5, "order.ready_for_pickup"),
    (6, "order.picked_up"),
    (7, "order.out_for_delivery"),
    (8, "order.delivered"),
]


class ServiceDriver:
    """Makes each change with the services in the test process; the broadcast goes through Redis."""

    name = "services"

    def place(self, *, customer, restaurant, item) -> str:
        return str(factories.place_order(customer, item).pk)

    def confirm(self, order_id, staff):
        factories.confirm(order_id, staff)

    def start_preparing(self, order_id, staff):
        factories.start_preparing(order_id, staff)

    def mark_ready(self, order_id, staff):
        factories.mark_ready(order_id, staff)

    def cancel(self, order_id, staff):
        factories.cancel(order_id, staff)

    def claim(self, order_id, courier):
        factories.claim(order_id, courier)

    def pick_up(self, order_id, courier, otp):
        factories.pick_up(order_id, courier)

    def start_delivery(self, order_id, courier):
        factories.start_delivery(order_id, courier)

    def complete_delivery(self, order_id, courier, otp):
        factories.complete_delivery(order_id, courier)


@pytest.fixture(scope="module")
def server(django_db_setup):
    """One server for the module, on the test database (its name is known once it exists)."""
    process = ServerProcess(database_url=database_url(), redis_url=settings.REDIS_URL, environment=OFFERS)
    yield process
    process.stop()


@pytest.fixture(params=["http", "services"])
def make_driver(request):
    def make(server: ServerProcess):
        return HttpDriver(server.http, USER_PASSWORD) if request.param == "http" else ServiceDriver()

    return make


@pytest.fixture
def sockets():
    loop = SocketLoop()
    opened: list[LiveSocket] = []

    class Sockets:
        def open(self, server: ServerProcess, path: str, user) -> LiveSocket:
            separator = "&" if "?" in path else "?"
            live = LiveSocket(loop, f"{server.ws}{path}{separator}token={AccessToken.for_user(user)}")
            opened.append(live)
            return live

    yield Sockets()
    for live in opened:
        if live.close_code is None:
            try:
                live.close()
            except Exception:  # noqa: S110 -- teardown: a socket the server already dropped
                pass
    loop.stop()


def snapshot_received(messages):
    return bool(messages) and messages[0]["type"] == "snapshot"


def drive_to_delivered(driver, order_id, staff, courier, *, until: int = 8) -> None:
    steps = [
        lambda: driver.confirm(order_id, staff),
        lambda: driver.claim(order_id, courier),
        lambda: driver.start_preparing(order_id, staff),
        lambda: driver.mark_ready(order_id, staff),
        lambda: driver.pick_up(order_id, courier, factories.handoff_code(order_id, HandoffPurpose.PICKUP)),
        lambda: driver.start_delivery(order_id, courier),
        lambda: driver.complete_delivery(order_id, courier, factories.handoff_code(order_id, HandoffPurpose.DELIVERY)),
    ]
    for step in steps[: until - 1]:
        step()


def test_everyone_receives_exactly_the_events_they_may_see_once_and_in_order(
    server,
    make_driver,
    sockets,
    restaurant,
    menu,
    customer,
    other_customer,
    staff_user,
    courier_user,
    other_courier_user,
):
    driver = make_driver(server)
    courier_set_availability(courier=other_courier_user, online=False)  # so the offer goes to dave
    kitchen = sockets.open(server, f"/ws/restaurants/{restaurant.pk}/orders/", staff_user)
    dave = sockets.open(server, "/ws/courier/", courier_user)
    erin = sockets.open(server, "/ws/courier/", other_courier_user)
    for live in (kitchen, dave, erin):
        live.wait_for(snapshot_received)

    order_id = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    tracking = sockets.open(server, f"/ws/orders/{order_id}/?after=0", customer)
    nosy = sockets.open(server, "/ws/orders/", other_customer)
    nosy.send({"action": "subscribe", "order_id": order_id, "after": 0})
    nosy.wait_for(lambda messages: len(messages) == 1)
    tracking.wait_for(has_event(1))

    drive_to_delivered(driver, order_id, staff_user, courier_user)

    assert tracking.wait_closed() == 1000
    for live in (kitchen, dave):
        live.wait_for(has_event(8, order_id))
    time.sleep(QUIET_SECONDS)  # anything extra (a duplicate, a leak) would have arrived by now

    assert tracking.messages[0]["type"] == "snapshot"
    assert [(m["sequence"], m["event_types"][-1]) for m in tracking.messages[1:]] == LIFECYCLE_EVENTS
    assert {m["order_id"] for m in tracking.messages} == {order_id}

    first = kitchen.messages[0]
    assert (first["type"], first["restaurant_id"], first["orders"]) == ("snapshot", str(restaurant.pk), [])
    assert first["kitchen"]["status"] == "open"
    assert [(m["sequence"], m["event_types"][-1]) for m in kitchen.messages[1:]] == LIFECYCLE_EVENTS

    assert [(m["type"], m.get("sequence"), m.get("state")) for m in dave.messages] == [
        ("snapshot", None, None),
        ("available", 2, None),
        ("offer", None, "pending"),  # the nearest free courier is offered the order
        ("event", 3, None),
        ("offer", None, "accepted"),
        *[("event", sequence, None) for sequence in range(4, 9)],
    ]
    # Offline: told of no order to claim, so of none leaving the list either.
    assert [(m["type"], m.get("sequence")) for m in erin.messages] == [("snapshot", None)]
    assert nosy.messages == [
        {
            "type": "error",
            "code": "order_not_found",
            "detail": "No order with this id is visible to you.",
            "order_id": order_id,
        }
    ]


def test_a_client_that_reconnects_with_after_gets_exactly_what_it_missed(
    server, make_driver, sockets, restaurant, menu, customer, staff_user, courier_user
):
    driver = make_driver(server)
    order_id = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    tracking = sockets.open(server, f"/ws/orders/{order_id}/", customer)
    tracking.wait_for(snapshot_received)
    driver.confirm(order_id, staff_user)
    driver.claim(order_id, courier_user)
    last_seen = max(event_sequences(tracking.wait_for(has_event(3))))
    tracking.close()

    driver.start_preparing(order_id, staff_user)
    driver.mark_ready(order_id, staff_user)

    again = sockets.open(server, f"/ws/orders/{order_id}/?after={last_seen}", customer)
    again.wait_for(has_event(5))
    time.sleep(QUIET_SECONDS)
    assert again.messages[0]["type"] == "snapshot"
    assert [(m["sequence"], m["event_types"][-1]) for m in again.messages[1:]] == [
        (4, "order.status_changed"),
        (5, "order.ready_for_pickup"),
    ]
    driver.pick_up(order_id, courier_user, factories.handoff_code(order_id, HandoffPurpose.PICKUP))
    assert event_sequences(again.wait_for(has_event(6))) == [4, 5, 6]


def test_a_socket_left_idle_longer_than_the_layers_blocking_receive_still_gets_events(
    server, make_driver, sockets, restaurant, menu, customer, staff_user
):
    driver = make_driver(server)
    order_id = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    tracking = sockets.open(server, f"/ws/orders/{order_id}/", customer)
    tracking.wait_for(snapshot_received)
    time.sleep(RedisChannelLayer.brpop_timeout + 2)
    driver.confirm(order_id, staff_user)
    assert event_sequences(tracking.wait_for(has_event(2))) == [2]
    assert tracking.close_code is None


def test_a_transition_while_redis_is_down_succeeds_and_is_recovered_on_reconnect(
    make_driver, sockets, restaurant, menu, customer, staff_user, settings, caplog
):
    redis_server = RedisProcess()
    server = ServerProcess(database_url=database_url(), redis_url=redis_server.url, environment=OFFERS)
    try:
        driver = make_driver(server)
        if driver.name == "services":
            settings.CHANNEL_LAYERS = {"default": redis_channel_layer(redis_server.url)}
        order_id = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
        tracking = sockets.open(server, f"/ws/orders/{order_id}/", customer)
        assert tracking.wait_for(snapshot_received)[0]["sequence"] == 1

        redis_server.stop()
        driver.confirm(order_id, staff_user)  # the HTTP call (or the service) succeeds

        log = server.output() if driver.name == "http" else caplog.text
        assert f"broadcast of 1 events of 1 orders failed for order.{order_id}" in log
        redis_server.start()
        # Like a real client: a socket the server closes (after the channel layer's read
        # timeout) while its pooled connections to the restarted Redis are stale is opened
        # again with the same `after`.
        for _ in range(5):
            again = sockets.open(server, f"/ws/orders/{order_id}/?after=1", customer)
            again.wait_for(lambda messages: has_event(2)(messages) or again.close_code is not None, timeout=45)
            if has_event(2)(again.messages):
                break
        assert [(m["type"], m["sequence"]) for m in again.messages] == [("snapshot", 2), ("event", 2)]
    finally:
        server.stop()
        redis_server.stop()
