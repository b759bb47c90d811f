"""The customer tracking document's SignalR client in a browser, served from another origin.

The document deploys its client on the app's own site and points it at the API's host
("https://api.yourhost.com/hubs/customer-orders"): a cross-origin negotiate (a CORS preflight:
a Bearer token, SignalR's own headers, credentials) and a WebSocket whose `Origin` is the app's.
Here the page comes from http://127.0.0.2:<port> and the API from a daphne process on
127.0.0.1 whose allow-list (ORDERFLOW_CORS_ALLOWED_ORIGINS) names that origin; an origin not on
it gets neither. Chromium (headless, Playwright) runs the page; `@microsoft/signalr` is the
browser build from tests/js/node_modules.
"""

import http.server
import json
import re
import threading
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests import factories
from tests.browser import CHROMIUM, chromium_installed, launched_chromium
from tests.factories import place_order
from tests.tracking.live import ServerProcess, database_url, free_port

pytestmark = [pytest.mark.integration, pytest.mark.live_server, pytest.mark.django_db(transaction=True)]

SIGNALR = Path(__file__).resolve().parents[2] / "js" / "node_modules" / "@microsoft" / "signalr" / "dist" / "browser"
APP_HOST = "127.0.0.2"  # another origin than the API's 127.0.0.1, on the loopback

# The document's "Client example (JavaScript)", with the browser build's global for its import,
# and its first REST call ("App->>API: GET /orders/{id} (initial)").
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Customer app</title>
<script src="/signalr.min.js"></script></head>
<body><script>
const params = new URLSearchParams(location.search);
const api = params.get("api"), accessToken = params.get("token"), orderId = params.get("order");
window.received = [];
window.state = "starting";
(async () => {
  try {
    const response = await fetch(`${api}/api/v1/orders/${orderId}`, {
      headers: { Authorization: `Bearer ${accessToken}` }
    });
    window.initial = await response.json();
    const connection = new signalR.HubConnectionBuilder()
      .withUrl(`${api}/hubs/customer-orders`, {
        accessTokenFactory: () => accessToken
      })
      .withAutomaticReconnect()
      .build();

    connection.on("ReceiveOrderStatusChanged", dto => {
      window.received.push(dto);
    });

    await connection.start();
    await connection.invoke("SubscribeToOrder", orderId);
    window.state = "subscribed";
  } catch (error) {
    window.state = "failed: " + error;
  }
})();
</script></body></html>
"""


class AppSite:
    """The customer app's static site: the page and the SignalR browser build."""

    def __init__(self, port: int) -> None:
        files = {"/": PAGE.encode(), "/signalr.min.js": (SIGNALR / "signalr.min.js").read_bytes()}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = files.get(self.path.split("?")[0])
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html" if self.path.startswith("/?") else "text/javascript")
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((APP_HOST, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.origin = f"http://{APP_HOST}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def app_site():
    site = AppSite(free_port())
    yield site
    site.stop()


@pytest.fixture(scope="module")
def api_server(django_db_setup, app_site):
    process = ServerProcess(
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        environment={"ORDERFLOW_CORS_ALLOWED_ORIGINS": app_site.origin},
    )
    yield process
    process.stop()


@pytest.fixture(scope="module")
def chromium():
    ready = chromium_installed() and SIGNALR.is_dir()
    yield from launched_chromium(
        None if ready else f"needs Chromium at {CHROMIUM} and tests/js/node_modules (scripts/_venv.sh)"
    )


def open_app(chromium, app_origin: str, api: str, user, order) -> object:
    page = chromium.new_context().new_page()
    page.goto(f"{app_origin}/?api={api}&token={AccessToken.for_user(user)}&order={order.pk}")
    page.wait_for_function("window.state !== 'starting'", timeout=20_000)
    return page


def test_the_documents_signalr_client_on_another_origin_follows_the_order(
    api_server, app_site, chromium, customer, staff_user, courier_user, menu
):
    order = place_order(customer, menu["pizza"])
    page = open_app(chromium, app_site.origin, api_server.http, customer, order)
    assert page.evaluate("window.state") == "subscribed"
    initial = page.evaluate("window.initial.order")
    assert initial["orderId"] == str(order.pk) and initial["status"] == "Placed"
    # The document's customerId is a UUID (the customer's public id, never the user's number).
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", initial["customerId"])

    factories.confirm(order.pk, staff_user)
    factories.start_preparing(order.pk, staff_user)
    page.wait_for_function("window.received.length >= 2", timeout=20_000)

    statuses = page.evaluate("window.received.map(dto => dto.status)")
    assert statuses == ["Accepted", "Preparing"]
    assert page.evaluate("orderId => window.received.every(dto => dto.orderId === orderId)", str(order.pk))


def test_an_origin_off_the_allow_list_gets_neither_the_api_nor_the_hub(api_server, chromium, customer, menu):
    stranger = AppSite(free_port())
    try:
        order = place_order(customer, menu["pizza"])
        page = open_app(chromium, stranger.origin, api_server.http, customer, order)
        assert page.evaluate("window.state").startswith("failed")
        assert page.evaluate("window.initial") is None
    finally:
        stranger.stop()


def test_sockets_take_the_same_allow_list_as_cors(api_server, app_site, customer, menu):
    """The native order socket checks `Origin` against the list CORS uses; a client that sends
    none (a mobile app with a token) is not a browser and is not asked."""
    order = place_order(customer, menu["pizza"])
    url = f"{api_server.ws}/ws/orders/{order.pk}/?token={AccessToken.for_user(customer)}"
    for origin in (app_site.origin, None):
        with connect(url, origin=origin, open_timeout=10) as socket:
            assert json.loads(socket.recv(timeout=10))["type"] == "snapshot"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin=f"http://{APP_HOST}:{free_port()}", open_timeout=10)
    assert refused.value.response.status_code == 403
