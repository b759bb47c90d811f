"""Redis stopped for thirty seconds in the middle of an order's life (its own redis-server, which
the WebSocket server and granian are configured with; stopped as a service manager stops it, then
started again with the data it saved).

PostgreSQL is the truth: every transition made over HTTP while Redis is away succeeds, and the
customer's polls of the lean status keep answering 200 from the database. The order's sockets
lose their channel layer: they are closed, their clients wait out the outage, reconnect with
`after` (the last sequence each has) once Redis is back and replay what they missed; from then
on they stay open (the WebSocket process's pooled Redis connections from before the outage are
dead, and a command sent on one is sent again on a new one rather than failing the socket). Counted exactly:
every client receives the order's eight events once each and in order, ends with 1000, and no
socket opened after Redis returned is closed with 1011.
"""

import threading
import time

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from orders.models import HandoffPurpose
from tests import factories
from tests.faults.processes import Crowd, HttpServer, PersistentRedisProcess, WebSocketServer, database_url
from tests.tracking.live import HttpDriver

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SOCKETS = 20
DOWN_SECONDS = 30
USER_PASSWORD = "pass-12345"  # tests.factories.UserFactory
OFFERS = {"ORDERFLOW_COURIER_DISPATCH": "offers"}
# Bounds of the case, not measurements.
CATCH_UP_SECONDS = 90
# Long enough for a socket that replayed after Redis returned to have been closed, were it to be.
SETTLE_SECONDS = 5


@pytest.fixture
def system(django_db_setup, offers_dispatch):
    redis_server = PersistentRedisProcess()
    servers = []
    try:
        servers.append(WebSocketServer(database_url=database_url(), redis_url=redis_server.url, environment=OFFERS))
        servers.append(HttpServer(database_url=database_url(), redis_url=redis_server.url, environment=OFFERS))
        yield redis_server, *servers
    finally:
        for server in servers:
            server.close()
        redis_server.remove()


def every_client_has(count: int):
    return lambda crowd: all(events == list(range(1, count + 1)) for events in crowd.snapshot()[0])


def test_redis_stopped_for_thirty_seconds_loses_no_transition_poll_or_event(
    system, restaurant, menu, customer, staff_user, courier_user
):
    redis_server, websocket_server, http_server = system
    driver = HttpDriver(http_server.http, USER_PASSWORD)
    for user in (customer, staff_user, courier_user):
        driver.token(user)  # signed in before the outage
    order_id = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    crowd = Crowd(
        [websocket_server.ws], f"/ws/orders/{order_id}/", str(AccessToken.for_user(customer)), SOCKETS, reconnect=True
    )
    polls: list[int | str] = []
    stop_polling = threading.Event()

    def poll() -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {driver.token(customer)}"}
        while not stop_polling.is_set():
            try:
                response = session.get(f"{http_server.http}/api/orders/{order_id}/status/", headers=headers, timeout=15)
                polls.append(response.status_code)
            except requests.RequestException as error:
                polls.append(type(error).__name__)
            time.sleep(0.25)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        crowd.wait_until(every_client_has(1), CATCH_UP_SECONDS, "the placed order's replay")
        driver.confirm(order_id, staff_user)
        crowd.wait_until(every_client_has(2), CATCH_UP_SECONDS, "the confirmation")

        crowd.hold()  # the clients wait out the outage: their first sockets open once Redis is back
        redis_server.stop()
        down_at = time.monotonic()
        driver.claim(order_id, courier_user)
        time.sleep(DOWN_SECONDS / 3)
        driver.start_preparing(order_id, staff_user)
        time.sleep(DOWN_SECONDS / 3)
        driver.mark_ready(order_id, staff_user)
        time.sleep(max(0.0, down_at + DOWN_SECONDS - time.monotonic()))
        polls_during_outage = len(polls)
        redis_server.start()
        up_at = time.monotonic()
        crowd.release()

        crowd.wait_until(every_client_has(5), CATCH_UP_SECONDS, "the events made while Redis was away")
        time.sleep(SETTLE_SECONDS)
        driver.pick_up(order_id, courier_user, factories.handoff_code(order_id, HandoffPurpose.PICKUP))
        driver.start_delivery(order_id, courier_user)
        driver.complete_delivery(order_id, courier_user, factories.handoff_code(order_id, HandoffPurpose.DELIVERY))
        crowd.wait_until(lambda c: all(c.finished), CATCH_UP_SECONDS, "every socket's final close")
    finally:
        stop_polling.set()
        poller.join(20)
        crowd.stop()

    events, closes, _ = crowd.snapshot()
    assert events == [list(range(1, 9))] * SOCKETS
    assert [c[-1] for c in closes] == [1000] * SOCKETS
    closed_1011_after_return = [
        (n, round(opened - up_at, 2), round(closed - up_at, 2))
        for n, sessions in enumerate(crowd.sessions)
        for opened, closed, code in sessions
        if code == 1011 and opened >= up_at
    ]
    assert closed_1011_after_return == []
    assert any(opened < down_at < closed for sessions in crowd.sessions for opened, closed, _ in sessions)
    assert polls_during_outage > 0
    assert [p for p in polls if p != 200] == []
