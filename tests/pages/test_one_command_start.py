"""The pages with the one-command start: `./scripts/serve` itself (SQLite, the in-memory channel
layer, a separate Celery worker and beat on the folder broker), on a scratch folder, driven by
Chromium. What the worker commits must reach the open pages within 2 s; a page whose socket is
cut says "reconnecting" and keeps up by polling, never "Live"."""

import os
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.pages.conftest import DESKTOP, PHONE
from tests.tracking.live import ROOT, free_port

pytestmark = [pytest.mark.integration, pytest.mark.live_server]

DEMO_PASSWORD = "demo-pass-123"  # settings.ORDERFLOW_DEMO_PASSWORD, printed by ./scripts/serve
LIVE_WITHIN_S = 2.0
# The restaurant's confirmation deadline in this run: long enough to open both pages first.
CONFIRM_TIMEOUT_S = 20
STARTUP_S = 180


class Serve:
    """`./scripts/serve` on a scratch SQLite database and Celery folder, in its own process group."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="orderflow-serve-"))
        self.database = self.folder / "db.sqlite3"
        self.port = free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        environment = {
            key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")
        }
        environment.update(
            DATABASE_URL=f"sqlite:///{self.database}",
            ORDERFLOW_CELERY_DIR=str(self.folder / "celery"),
            ORDERFLOW_ADDR=f"127.0.0.1:{self.port}",
            ORDERFLOW_CONFIRM_TIMEOUT_SECONDS=str(CONFIRM_TIMEOUT_S),
            ORDERFLOW_SWEEP_INTERVAL_SECONDS="1",
            ORDERFLOW_PAGE_POLL_SECONDS="3",
            ORDERFLOW_PAGE_RECONNECT_MAX_SECONDS="4",
            PYTHONUNBUFFERED="1",
        )
        self.log = open(self.folder / "serve.log", "w")
        self.process = subprocess.Popen(
            [str(ROOT / "scripts" / "serve")],
            cwd=ROOT,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"./scripts/serve exited: {self.output()[-3000:]}")
            try:
                if requests.get(self.http + "/health/", timeout=1).status_code < 500:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError(f"./scripts/serve did not answer within {STARTUP_S}s: {self.output()[-3000:]}")

    def output(self) -> str:
        return (self.folder / "serve.log").read_text()

    def order_row(self, order_id: str) -> tuple[str, int] | None:
        """(status, sequence) straight from the SQLite file, as the worker left it."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5) as db:
            return db.execute(
                "SELECT status, sequence FROM orders_order WHERE id = ?", [order_id.replace("-", "")]
            ).fetchone()

    def last_event(self, order_id: str) -> tuple[str, str]:
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5) as db:
            return db.execute(
                "SELECT to_status, actor_role FROM tracking_trackingevent WHERE order_id = ? "
                "ORDER BY sequence DESC LIMIT 1",
                [order_id.replace("-", "")],
            ).fetchone()

    def token(self, username: str) -> str:
        response = requests.post(
            self.http + "/api/auth/token/", json={"username": username, "password": DEMO_PASSWORD}, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()["access"]

    def api(self, method: str, username: str, path: str, body: dict | None = None) -> dict:
        response = requests.request(
            method,
            self.http + path,
            json=body,
            headers={"Authorization": f"Bearer {self.token(username)}"},
            timeout=30,
        )
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()

    def place_pizza(self) -> tuple[str, str, str]:
        """(order id, order number, restaurant id): a cash order from Pizza Palace for alice."""
        restaurants = self.api("GET", "alice", "/api/restaurants/")["results"]
        pizza = next(r for r in restaurants if r["name"] == "Pizza Palace")
        menu = self.api("GET", "alice", f"/api/restaurants/{pizza['id']}/menu/")
        knots = next(item for item in menu["items"] if item["name"] == "Garlic Knots")
        order = self.api(
            "POST",
            "alice",
            "/api/orders/",
            {
                "restaurant": pizza["id"],
                "items": [{"menu_item": knots["id"], "quantity": 2, "customizations": [], "notes": "extra crispy"}],
                "delivery_type": "delivery",
                "payment_method": "cod",
                "delivery_address": {
                    "street": "2 Embarcadero Center",
                    "city": "San Francisco",
                    "latitude": "37.795000",
                    "longitude": "-122.398600",
                },
            },
        )
        return order["id"], order["order_number"], pizza["id"]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def serve():
    process = Serve()
    yield process
    process.stop()


def sign_in(tab, username: str, next_path: str) -> None:
    tab.page.goto(f"/login/?next={next_path}")
    tab.page.fill("#id_username", username)
    tab.page.fill("#id_password", DEMO_PASSWORD)
    tab.page.click("button[type=submit]")
    tab.page.wait_for_url(f"**{next_path}")


def test_serve_says_how_to_reset_the_demo_orders_and_its_debug_mode_shows_the_friendly_404(serve):
    assert "manage.py seed_demo --reset" in serve.output()
    for path in ("/no/such/page/", "/track/not-a-token/"):
        response = requests.get(serve.http + path, headers={"Accept": "text/html"}, timeout=10)
        assert response.status_code == 404
        assert "<h1>Not found</h1>" in response.text and "URLconf" not in response.text


def test_the_search_by_a_piece_of_the_number_on_sqlite(serve):
    _, number, _ = serve.place_pizza()
    piece = number[-5:-1].lower()  # orders/search.py: SQLite has no bigram index, ILIKE alone
    found = serve.api("GET", "alice", f"/api/orders/?search={piece}")["results"]
    assert number in [order["order_number"] for order in found]
    assert serve.api("GET", "alice", "/api/orders/?search=%25%25no-such%25")["results"] == []


def test_an_order_the_worker_cancels_leaves_the_board_and_updates_the_customer_page_within_2_s(serve, tabs):
    order_id, number, restaurant_id = serve.place_pizza()
    board = tabs(serve, DESKTOP)
    sign_in(board, "pizza_staff", f"/kitchen/{restaurant_id}/")
    card = board.page.locator(f'[data-column="new"] #order-{order_id}')
    expect(card).to_be_visible()
    expect(card.locator(".item-note")).to_have_text("extra crispy")
    expect(board.page.locator("#board")).to_have_attribute("data-connection", "live")
    customer = tabs(serve, PHONE)
    sign_in(customer, "alice", f"/orders/{order_id}/")
    expect(customer.page.locator("#tracker")).to_have_attribute("data-connection", "live")
    expect(customer.page.locator("#status")).to_have_text("Order Placed")
    public = tabs(serve, PHONE)
    public.page.goto(customer.page.locator("#link-url").input_value())
    expect(public.page.locator("#tracker")).to_have_attribute("data-connection", "live")
    for tab in (board, customer, public):
        tab.page.evaluate("window.notReloaded = true")

    # Nobody confirms: the worker's sweep cancels the order once its deadline passes.
    deadline = time.monotonic() + CONFIRM_TIMEOUT_S + 30
    while (row := serve.order_row(order_id)) and row[0] != "CANCELLED":
        assert time.monotonic() < deadline, f"the worker never cancelled the order: {row}"
        time.sleep(0.05)
    committed = time.monotonic()
    assert serve.last_event(order_id) == ("CANCELLED", "system")

    expect(board.page.locator(f"#order-{order_id}")).to_have_count(0, timeout=LIVE_WITHIN_S * 1000)
    for tab in (customer, public):
        left = LIVE_WITHIN_S - (time.monotonic() - committed)
        expect(tab.page.locator("#status")).to_have_text("Cancelled", timeout=max(left, 0.05) * 1000)
    print(f"shown {(time.monotonic() - committed) * 1000:.0f} ms after the worker's commit was seen")
    for tab in (board, customer, public):
        assert tab.page.evaluate("window.notReloaded") is True
    expect(board.page.locator("#connection")).to_have_text("Live")
    expect(customer.page.locator("#final")).to_have_text("This order was cancelled.")
    assert board.errors == [] and customer.errors == [] and public.errors == []
    assert number not in board.page.inner_text("#board")


class SocketCutter:
    """Every WebSocket of a page goes through here: passed on to the server until `cut()`, then
    closed on the page's side, and every later one closed as soon as it opens."""

    def __init__(self, page) -> None:
        self.open: list = []
        self.cutting = False
        page.route_web_socket("**/ws/**", self.route)

    def route(self, socket) -> None:
        if self.cutting:
            socket.close(code=1011, reason="cut")
            return
        socket.connect_to_server()
        self.open.append(socket)

    def cut(self) -> None:
        self.cutting = True
        for socket in self.open:
            socket.close(code=1011, reason="cut")
        self.open.clear()


def test_a_page_whose_socket_is_cut_says_reconnecting_and_keeps_up_by_polling(serve, tabs):
    order_id, _, restaurant_id = serve.place_pizza()
    customer = tabs(serve, PHONE)
    customer_sockets = SocketCutter(customer.page)
    sign_in(customer, "alice", f"/orders/{order_id}/")
    tracker = customer.page.locator("#tracker")
    expect(tracker).to_have_attribute("data-connection", "live")
    board = tabs(serve, DESKTOP)
    board_sockets = SocketCutter(board.page)
    sign_in(board, "pizza_staff", f"/kitchen/{restaurant_id}/")
    expect(board.page.locator("#board")).to_have_attribute("data-connection", "live")

    customer_sockets.cut()
    board_sockets.cut()
    expect(tracker).to_have_attribute("data-connection", "reconnecting")
    expect(customer.page.locator("#connection")).to_contain_text("Reconnecting")
    expect(board.page.locator("#board")).to_have_attribute("data-connection", "reconnecting")
    expect(board.page.locator("#connection")).to_contain_text("Reconnecting")

    serve.api("POST", "pizza_staff", f"/api/restaurants/orders/{order_id}/confirm/", {"estimated_prep_time": 15})
    expect(customer.page.locator("#status")).to_have_text("Order Confirmed", timeout=10_000)
    expect(board.page.locator(f'[data-column="confirmed"] #order-{order_id}')).to_be_visible(timeout=10_000)
    for tab in (customer, board):
        # Still down: the page keeps saying so while it polls, never "Live".
        expect(tab.page.locator("#connection")).to_contain_text("Reconnecting")
    assert [url for url in customer.requests if f"/api/orders/{order_id}/status/" in url], "the page never polled"
    assert [url for url in board.requests if f"/kitchen/{restaurant_id}/tickets/" in url]
