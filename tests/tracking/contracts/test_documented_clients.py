"""Each API document's own client code against a live server: a daphne process serving
config.asgi on the test database and the machine's Redis, as in tests/tracking/test_live_server.py.

- the customer tracking API's JavaScript, with the real `@microsoft/signalr` package, under Node;
- the order-process API's JavaScript client (Node's fetch): its courier flow relies on the
  courier being assigned automatically when the restaurant confirms;
- the poll-status API's JavaScript (Node's fetch);
- the three-status order API's Python examples (requests).

Order changes are made through the services in this process (their broadcasts cross Redis to
the server's sockets) or by the clients themselves over HTTP.
"""

import contextlib
import io
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from orders.models import Order, OrderStatus
from tests import factories
from tests.factories import advance, place_order, to_ready
from tests.tracking.contracts import three_status_snippets as snippets

pytestmark = [pytest.mark.integration, pytest.mark.live_server, pytest.mark.django_db(transaction=True)]

JS_DIR = Path(__file__).resolve().parents[2] / "js"
NODE_SECONDS = 60


@pytest.fixture(scope="module")
def node():
    missing = None
    if shutil.which("node") is None:
        missing = "node is not installed"
    elif not (JS_DIR / "node_modules" / "@microsoft" / "signalr").is_dir():
        missing = "tests/js has no node_modules (scripts/_venv.sh installs them with npm ci)"
    if missing:
        if os.environ.get("ORDERFLOW_REQUIRE_SERVICES") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    return shutil.which("node")


def token(user) -> str:
    return str(AccessToken.for_user(user))


class NodeClient:
    """A Node script from tests/js; each line it prints is kept (JSON lines parsed)."""

    def __init__(self, node: str, script: str, **env) -> None:
        self.process = subprocess.Popen(
            [node, script],
            cwd=JS_DIR,
            env={**os.environ, **{k: str(v) for k, v in env.items()}},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        self.seen: list = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None  # started with stdout=PIPE
        for line in self.process.stdout:
            line = line.rstrip("\n")
            try:
                self.lines.put(json.loads(line))
            except ValueError:
                self.lines.put(line)

    def next(self, timeout: float = 20):
        try:
            item = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing from node; so far {self.seen}; stderr: {self.stderr()}") from None
        self.seen.append(item)
        return item

    def expect(self, kind: str, timeout: float = 20) -> dict:
        while True:
            item = self.next(timeout)
            if isinstance(item, dict) and item.get("kind") == kind:
                return item

    def send(self, line: str) -> None:
        assert self.process.stdin is not None  # started with stdin=PIPE
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def finish(self, timeout: float = NODE_SECONDS) -> list:
        self.process.wait(timeout=timeout)
        time.sleep(0.1)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        assert self.process.returncode == 0, (self.seen, self.stderr())
        return self.seen

    def stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        assert self.process.stderr is not None  # started with stderr=PIPE
        return self.process.stderr.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def node_clients():
    started: list[NodeClient] = []

    def start(node, script, **env) -> NodeClient:
        client = NodeClient(node, script, **env)
        started.append(client)
        return client

    yield start
    for client in started:
        client.kill()


# ---------------------------------------------------------------- customer tracking API: SignalR


def test_the_signalr_client_follows_an_order_to_its_door(
    server, node, node_clients, customer, other_customer, staff_user, courier_user, menu
):
    order = place_order(customer, menu["pizza"])
    someone_elses = place_order(other_customer, menu["pizza"])
    client = node_clients(
        node,
        "customer_tracking_hub.mjs",
        BASE_URL=server.http,
        ACCESS_TOKEN=token(customer),
        ORDER_ID=order.pk,
        SECOND_ORDER_ID=someone_elses.pk,
    )
    assert client.expect("subscribed")["state"] == "Connected"
    refused = client.expect("second")
    assert refused["ok"] is False and "Order not found." in refused["error"]

    factories.confirm(order.pk, staff_user)  # the courier is assigned at once (not sent: no status change)
    factories.start_preparing(order.pk, staff_user)
    factories.mark_ready(order.pk, staff_user)
    factories.pick_up(order.pk, courier_user)
    factories.start_delivery(order.pk, courier_user)
    factories.complete_delivery(order.pk, courier_user)

    events = [client.expect("event") for _ in range(6)]
    assert {e["method"] for e in events} == {"ReceiveOrderStatusChanged"}
    assert [e["dto"]["status"] for e in events] == [
        "Accepted",
        "Preparing",
        "ReadyForDelivery",
        "ReadyForDelivery",
        "ReadyForDelivery",
        "Delivered",
    ]
    delivered = events[-1]["dto"]
    assert delivered["orderId"] == str(order.pk) and delivered["orderNumber"] == order.number
    assert delivered["restaurantId"] == str(order.restaurant_id)
    assert delivered["actualDeliveryTime"] and delivered["deliveredAt"] == delivered["actualDeliveryTime"]
    assert len({e["dto"]["eventId"] for e in events}) == 6
    client.send("stop")
    assert client.expect("stopped")["state"] == "Disconnected"
    assert [s for s in client.finish() if isinstance(s, dict) and s.get("kind") == "event"] == events


def test_the_signalr_client_without_a_token_cannot_connect(server, node, node_clients, customer, menu):
    order = place_order(customer, menu["pizza"])
    client = node_clients(node, "customer_tracking_hub.mjs", BASE_URL=server.http, ACCESS_TOKEN="", ORDER_ID=order.pk)
    client.process.wait(timeout=NODE_SECONDS)
    assert client.process.returncode != 0
    assert "401" in client.stderr()


# ---------------------------------------------------------------- order-process API: JavaScript


def test_the_order_process_javascript_client_runs_its_whole_usage_example(
    server, node, node_clients, customer, staff_user, courier_user, menu
):
    order = place_order(customer, menu["pizza"])
    tokens = {"customer": token(customer), "restaurant": token(staff_user), "courier": token(courier_user)}
    client = node_clients(
        node, "order_process_client.mjs", BASE_URL=server.http, TOKENS=json.dumps(tokens), ORDER_ID=order.pk
    )
    output = client.finish()
    assert "Order status: ORDER_PLACED" in output
    done = next(line for line in output if isinstance(line, dict) and line.get("kind") == "done")
    assert done["history"] == [
        "ORDER_PLACED",
        "RESTAURANT_CONFIRMED",
        "RESTAURANT_CONFIRMED",  # the courier assigned on confirmation
        "PREPARING",
        "READY_FOR_PICKUP",
        "ORDER_PICKED_UP",
        "OUT_FOR_DELIVERY",
        "DELIVERED",
    ]
    assert done["available"]["count"] == 0  # already this courier's: assigned when confirmed
    calls = [
        (line["method"], line["path"].split("?")[0], line["status"])
        for line in output
        if isinstance(line, dict) and line.get("kind") == "response"
    ]
    assert all(status == 200 for _, _, status in calls), calls
    order.refresh_from_db()
    assert (order.status, order.courier_id) == (OrderStatus.DELIVERED, courier_user.pk)


# ---------------------------------------------------------------- poll-status API: JavaScript


def test_the_poll_status_javascript_client_polls_until_picked_up(
    server, node, node_clients, customer, staff_user, courier_user, menu
):
    order = place_order(customer, menu["pizza"])
    client = node_clients(
        node, "poll_status_client.mjs", BASE_URL=server.http, ACCESS_TOKEN=token(customer), ORDER_ID=order.pk
    )
    first = client.expect("ui")["order"]
    assert first["orderStatus"] == "placed" and first["id"] == str(order.pk)
    for step in (factories.confirm, factories.start_preparing, factories.mark_ready):
        time.sleep(0.6)
        step(order.pk, staff_user)
    time.sleep(0.6)
    factories.pick_up(order.pk, courier_user)
    output = client.finish()
    shown = [line["order"]["orderStatus"] for line in output if isinstance(line, dict) and line.get("kind") == "ui"]
    assert shown[-1] == "picked_up" and shown == list(dict.fromkeys(shown))
    assert set(shown) <= {"placed", "accepted", "processing", "ready", "picked_up"} and len(shown) >= 3
    last = next(line for line in reversed(output) if isinstance(line, dict) and line.get("kind") == "ui")["order"]
    assert last["isOtpVerified"] is True and last["readyAt"] and last["cancelledAt"] is None
    assert (
        next(line for line in output if isinstance(line, dict) and line.get("kind") == "stopped")["lastStatus"]
        == "picked_up"
    )
    # Status change detection: the first check reports the update, the second sees nothing new.
    assert [line for line in output if isinstance(line, str)] == ["Order updated: picked_up"]
    assert (
        next(line for line in output if isinstance(line, dict) and line.get("kind") == "full")["order_status"]
        == "ORDER_PICKED_UP"
    )


# ---------------------------------------------------------------- three-status order API: Python


def run_snippet(code: str, namespace: dict, server, user, **ids) -> str:
    code = code.replace(snippets.EXAMPLE_BASE_URL, f"{server.http}/v1/online-ordering")
    code = code.replace(snippets.EXAMPLE_TOKEN, token(user))
    code = code.replace(snippets.EXAMPLE_ORDER_ID, str(ids.get("order_id", snippets.EXAMPLE_ORDER_ID)))
    code = code.replace(snippets.EXAMPLE_LOCATION_ID, str(ids.get("location_id", snippets.EXAMPLE_LOCATION_ID)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "three-status-example", "exec"), namespace)  # noqa: S102 -- the documented example is the test
    return out.getvalue()


def test_the_three_status_python_examples(server, customer, staff_user, courier_user, menu):
    restaurant = menu["pizza"].restaurant_id
    paid = advance(
        place_order(customer, menu["pizza"], payment_method="online", paid=True),
        staff_user,
        OrderStatus.RESTAURANT_CONFIRMED,
        OrderStatus.PREPARING,
    )
    preparing = advance(
        place_order(customer, menu["pizza"]),
        staff_user,
        OrderStatus.RESTAURANT_CONFIRMED,
        OrderStatus.PREPARING,
    )
    ready = to_ready(place_order(customer, menu["pizza"], delivery_type="pickup"), staff_user)
    fresh = place_order(customer, menu["pizza"])
    ns: dict = {}

    printed = run_snippet(snippets.RETRIEVE, ns, server, customer, order_id=paid.pk)
    total = f"${paid.total:.2f}"
    assert printed.splitlines() == [
        "Status: CONFIRMED",
        "Payment: PAID",
        "Fulfillment: PREPARING",
        f"Total: {total}",
        f"Paid: {total}",
        "Balance due: $0.00",
    ]

    printed = run_snippet(snippets.AT_A_LOCATION, ns, server, customer, location_id=restaurant)
    assert len(printed.splitlines()) == 4 and ns["pagination"] == {"has_more": False, "next_cursor": None}
    assert f"{fresh.pk} | PENDING | PENDING | ${fresh.total:.2f}" in printed.splitlines()

    printed = run_snippet(snippets.NEEDING_ATTENTION, ns, server, customer, location_id=restaurant)
    assert printed == "1 orders ready for pickup\n" and ns["ready_orders"][0]["id"] == str(ready.pk)

    run_snippet(snippets.FROM_TODAY, ns, server, customer, location_id=restaurant)
    assert len(ns["todays_orders"]) == 4

    printed = run_snippet(snippets.FETCH_ALL, ns, server, customer, location_id=restaurant)
    assert printed == "Total confirmed orders: 3\n"
    # The same function, one order a page: the cursor walks every page once.
    paged = ns["fetch_all_orders"](ns["headers"], {"status": "CONFIRMED", "location_id": str(restaurant), "limit": 1})
    assert [o["id"] for o in paged] == [o["id"] for o in ns["all_confirmed"]]
    assert {o["id"] for o in paged} == {str(paid.pk), str(preparing.pk), str(ready.pk)}

    def mark_ready():
        advance(Order.objects.get(pk=preparing.pk), staff_user, OrderStatus.READY_FOR_PICKUP)
        connection.close()  # this thread's own connection

    later = threading.Timer(1.0, mark_ready)
    later.start()
    printed = run_snippet(snippets.POLL, ns, server, customer, order_id=preparing.pk)
    later.join()
    assert printed.splitlines() == [
        "[Attempt 1] Fulfillment: PREPARING",
        "[Attempt 2] Fulfillment: READY_FOR_PICKUP",
        "Order is ready! Status: READY_FOR_PICKUP",
    ]

    # The 409 example first: it brings `uuid4`, which the plain cancel example uses unimported.
    # `order_id` is still the first example's order, which is being prepared.
    printed = run_snippet(snippets.HANDLING_409, ns, server, customer)
    lines = printed.splitlines()
    assert lines[0].startswith("Cannot cancel: ") and lines[1:] == [
        "The order is already being prepared.",
        "Contact the store directly to request cancellation.",
    ]

    run_snippet(snippets.CANCEL, ns, server, customer, order_id=fresh.pk)
    assert ns["cancel_response"].status_code == 200
    assert ns["cancel_response"].json() == {
        "id": str(fresh.pk),
        "status": "CANCELLED",
        "payment_status": "UNPAID",
        "fulfillment_status": "CANCELLED",
        "total_paid": {"amount": 0, "currency": "USD"},
        "balance_due": {"amount": int(fresh.total * 100), "currency": "USD"},
    }
