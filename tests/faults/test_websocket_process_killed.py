"""A WebSocket server process killed (SIGKILL) with 500 sockets open on one order, while a second
process serves the same order: each client, cut off without a close frame, reconnects to the
other process with `after` = the last sequence it has. Counted exactly: every client receives
the order's eight events once each and in order (those committed while it was reconnecting
come from the replay), made exactly two connections (the killed process's, the survivor's), and
ends with 1000.
"""

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from tests import factories
from tests.faults.processes import Crowd, WebSocketServer, database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SOCKETS = 500
# Bounds of the case, not measurements.
OPEN_SECONDS = 180
CATCH_UP_SECONDS = 120


@pytest.fixture
def two_websocket_servers(django_db_setup, settings, offers_dispatch):
    servers = []
    try:
        for _ in range(2):
            servers.append(WebSocketServer(database_url=database_url(), redis_url=settings.REDIS_URL))
        yield servers
    finally:
        for server in servers:
            server.close()


def every_client_has(count: int):
    return lambda crowd: all(events == list(range(1, count + 1)) for events in crowd.snapshot()[0])


def test_a_killed_websocket_process_loses_no_event_of_its_500_sockets(
    two_websocket_servers, restaurant, menu, customer, staff_user, courier_user
):
    doomed, survivor = two_websocket_servers
    order = factories.place_order(customer, menu["salad"])
    crowd = Crowd(
        [doomed.ws, survivor.ws],
        f"/ws/orders/{order.pk}/",
        str(AccessToken.for_user(customer)),
        SOCKETS,
        reconnect=True,
        spread=False,
    )
    try:
        crowd.wait_until(every_client_has(1), OPEN_SECONDS, "every socket's replay on the first process")
        factories.confirm(order.pk, staff_user)
        crowd.wait_until(every_client_has(2), CATCH_UP_SECONDS, "the confirmation")

        doomed.kill()
        factories.claim(order.pk, courier_user)  # while the clients are reconnecting
        factories.start_preparing(order.pk, staff_user)
        crowd.wait_until(every_client_has(4), CATCH_UP_SECONDS, "every client back, on the other process")
        factories.mark_ready(order.pk, staff_user)
        factories.pick_up(order.pk, courier_user)
        factories.start_delivery(order.pk, courier_user)
        factories.complete_delivery(order.pk, courier_user)
        crowd.wait_until(lambda c: all(c.finished), CATCH_UP_SECONDS, "every socket's final close")
    finally:
        crowd.stop()

    events, closes, connections = crowd.snapshot()
    assert events == [list(range(1, 9))] * SOCKETS
    assert connections == [2] * SOCKETS
    assert [c[-1] for c in closes] == [1000] * SOCKETS
