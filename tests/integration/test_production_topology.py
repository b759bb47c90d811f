"""End to end through the production topology: `scripts/serve-production` on the test database,
production settings, requests and a WebSocket through nginx, then a graceful stop.

The script starts nginx, the WSGI server and two daphne WebSocket processes. Its run folder and
static files live in a folder only their owner may enter (as in a clone inside `mktemp -d`), which
nginx's unprivileged workers cannot read: nothing they serve may depend on it. The test talks
only to nginx's port: the health check, a static file, a request body larger than nginx keeps in
memory, the lean status
with a real JWT, an order's socket that receives the event of a transition made over HTTP,
and, when the script is stopped, a close frame with 1012 (reconnect with `after`), with no
process left behind.
"""

import signal
import time
from pathlib import Path

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import place_order
from tests.integration.production import STOP_SECONDS, serve_production
from tests.tracking.live import LiveSocket, SocketLoop

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def topology():
    with serve_production("topology", ORDERFLOW_WS_PROCESSES="2", ORDERFLOW_WS_DRAIN_SECONDS="5") as served:
        yield served.process, served.http, served.ws


def _session_members(session_id: int) -> list[str]:
    """Live processes of the script's session: everything it started, whatever their group."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == session_id:
            found.append(command)
    return found


def test_http_and_a_websocket_through_the_proxy_then_a_graceful_stop(topology, customer, staff_user, menu):
    process, http, ws = topology
    order = place_order(customer, menu["pizza"])
    customer_auth = {"Authorization": f"Bearer {AccessToken.for_user(customer)}"}
    staff_auth = {"Authorization": f"Bearer {AccessToken.for_user(staff_user)}"}

    health = requests.get(f"{http}/health/", timeout=10)
    assert health.status_code == 200 and health.json()["database"] == "ok"
    static = requests.get(f"{http}/static/admin/css/base.css", timeout=10)
    assert static.status_code == 200 and "text/css" in static.headers["Content-Type"]
    # 200 KB of JSON: more than nginx keeps in memory by default, less than the 1 MB it accepts.
    # The application refuses the credentials; nginx must not fail on a temporary file first.
    large = requests.post(f"{http}/api/auth/token/", json={"username": "x" * 200_000, "password": "y"}, timeout=10)
    assert large.status_code in (400, 401), large.text
    assert large.headers["Content-Type"] == "application/problem+json"
    status = requests.get(f"{http}/api/orders/{order.pk}/status/", headers=customer_auth, timeout=10)
    assert status.status_code == 200 and status.json()["status"] == "ORDER_PLACED"
    assert requests.get(f"{http}/api/orders/{order.pk}/status/", timeout=10).status_code == 401

    loop = SocketLoop()
    try:
        live = LiveSocket(loop, f"{ws}/ws/orders/{order.pk}/?token={AccessToken.for_user(customer)}")
        live.wait_for(lambda messages: messages and messages[0]["type"] == "snapshot")
        confirmed = requests.post(
            f"{http}/api/restaurants/orders/{order.pk}/confirm/", json={}, headers=staff_auth, timeout=10
        )
        assert confirmed.status_code == 200, confirmed.text
        live.wait_for(lambda messages: any(m.get("sequence") == 2 and m["type"] == "event" for m in messages))
        polled = requests.get(f"{http}/api/orders/{order.pk}/status/", headers=customer_auth, timeout=10)
        assert polled.json()["status"] == "RESTAURANT_CONFIRMED"

        process.send_signal(signal.SIGTERM)
        assert live.wait_closed(timeout=STOP_SECONDS) == 1012
    finally:
        loop.stop()

    process.wait(STOP_SECONDS)
    deadline = time.monotonic() + 10
    while _session_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_members(process.pid) == []
