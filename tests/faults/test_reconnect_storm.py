"""Back-pressure instead of errors: two thousand sockets open at once on one order and one
WebSocket server process, whose Redis pool for the channel layer holds only ten connections.
Every handshake's group join waits for a connection (core.redis_connections.async_blocking_pool)
rather than failing with MaxConnectionsError and closing the socket with 1011: all two thousand
end up subscribed, which each proves by receiving the next event of the order exactly once.
"""

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from tests import factories
from tests.faults.processes import Crowd, WebSocketServer, database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SOCKETS = 2000
# Bounds of the case (not measurements): a busy two-core machine takes a while to open two
# thousand sockets through one process.
OPEN_SECONDS = 240
DELIVERY_SECONDS = 120


@pytest.fixture
def websocket_server(django_db_setup, settings):
    server = WebSocketServer(
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        environment={"ORDERFLOW_REDIS_MAX_CONNECTIONS": "10"},
    )
    yield server
    server.close()


def test_a_storm_of_two_thousand_sockets_on_one_order_ends_with_every_socket_subscribed(
    websocket_server, restaurant, menu, customer, staff_user
):
    order = factories.place_order(customer, menu["salad"])
    crowd = Crowd(
        [websocket_server.ws], f"/ws/orders/{order.pk}/", str(AccessToken.for_user(customer)), SOCKETS, reconnect=False
    )
    try:
        crowd.wait_until(
            lambda c: (
                all(events == [1] for events in c.snapshot()[0]) or any(any(closes) for closes in c.snapshot()[1])
            ),
            OPEN_SECONDS,
            "every socket's replay of the placed order",
        )
        events, closes, connections = crowd.snapshot()
        assert [n for n in range(SOCKETS) if closes[n]] == [], "sockets closed during the storm"
        assert connections == [1] * SOCKETS

        factories.confirm(order.pk, staff_user)
        crowd.wait_until(
            lambda c: all(len(events) >= 2 for events in c.snapshot()[0]),
            DELIVERY_SECONDS,
            "the confirmation everywhere",
        )
    finally:
        crowd.stop()
    events, closes, connections = crowd.snapshot()
    assert events == [[1, 2]] * SOCKETS
    assert connections == [1] * SOCKETS
    assert "MaxConnectionsError" not in websocket_server.output()
    assert "1011" not in websocket_server.output()
