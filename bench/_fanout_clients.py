"""The clients and the server of bench/websocket_fanout.py: the REST driver that makes the
transitions, the tracking sockets that time their events, the measuring walk through an order's
lifecycle, and the production topology the sockets connect to.

Imported by bench/websocket_fanout.py after it has set the environment and called django.setup().
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import websockets
from _setup import ROOT, session_pids, stop_session, wait_until_ready
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model

from delivery.models import HandoffPurpose
from orders.models import Order
from restaurants.models import MenuItem, Restaurant
from tests.factories import handoff_code
from tests.tracking.live import ServerProcess, free_port

ADDRESS = {
    "street": "500 Howard Street",
    "city": "San Francisco",
    "latitude": "37.787000",
    "longitude": "-122.396000",
}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Driver:
    """Makes the transitions over HTTP, through the server's REST API."""

    name = "HTTP (REST API on the server)"

    def __init__(self, server: "ServerProcess | ProductionTopology", accounts: dict) -> None:
        self.server = server
        self.session = requests.Session()
        self.accounts = accounts
        self.tokens: dict[str, str] = {}
        for who in accounts:  # signed in before anything is timed
            self._sign_in(who)

    def _sign_in(self, who: str) -> None:
        response = self.session.post(
            f"{self.server.http}/api/auth/token/",
            json={"username": self.accounts[who].username, "password": settings.ORDERFLOW_DEMO_PASSWORD},
            timeout=30,
        )
        response.raise_for_status()
        self.tokens[who] = response.json()["access"]

    def _post(self, who: str, path: str, body: dict | None = None) -> dict:
        def send():
            return self.session.post(
                f"{self.server.http}{path}",
                json=body or {},
                headers={"Authorization": f"Bearer {self.tokens[who]}"},
                timeout=30,
            )

        response = send()
        if response.status_code == 401:
            # Access tokens live minutes; a run on a busy host outlasts them: sign in again.
            self._sign_in(who)
            response = send()
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def place(self, restaurant, item) -> str:
        body = {
            "restaurant": str(restaurant.pk),
            "items": [{"menu_item": str(item.pk), "quantity": 1, "customizations": []}],
            "delivery_type": "delivery",
            "payment_method": "cod",
            "delivery_address": ADDRESS,
        }
        return self._post("customer", "/api/orders/", body)["id"]

    def steps(self, order_id: str) -> list:
        """The transitions of a delivery, each a callable, in order."""
        r, o = f"/api/restaurants/orders/{order_id}", f"/api/orders/{order_id}"
        return [
            lambda: self._post("staff", f"{r}/confirm/", {"estimated_prep_time": 20}),
            lambda: self._post("courier", f"{o}/accept/"),
            lambda: self._post("staff", f"{r}/start-preparing/"),
            lambda: self._post("staff", f"{r}/mark-ready/"),
            lambda: self._post("courier", f"{o}/pickup/", {"otp": handoff_code(order_id, HandoffPurpose.PICKUP)}),
            lambda: self._post("courier", f"{o}/start-delivery/"),
            lambda: self._post(
                "courier", f"{o}/complete-delivery/", {"otp": handoff_code(order_id, HandoffPurpose.DELIVERY)}
            ),
        ]


class Subscribers:
    """Client sockets on per-order tracking paths, recording when each event arrives."""

    def __init__(self, server: "ServerProcess | ProductionTopology", token: str) -> None:
        self.server = server
        self.token = token
        self.sockets: list[Any] = []
        self.received: dict[tuple[str, int], list[float]] = {}  # (order, sequence) -> arrival times
        # (order, sequence) -> seconds from the event's `occurred_at` (set in its transaction, before
        # the commit; the server's clock, which is this machine's) to its arrival.
        self.since_event: dict[tuple[str, int], list[float]] = {}
        self.per_socket: list[list[int]] = []
        self.readers: list[Any] = []
        self.failed_handshakes = 0
        self.count_by_order: dict[str, int] = {}
        self.failures: dict[str, int] = {}

    async def connect(self, order_id: str, count: int, batch: int = 100) -> None:
        for start in range(0, count, batch):
            await self.connect_at_once([order_id] * min(batch, count - start))

    async def connect_at_once(self, order_ids: list[str]) -> None:
        """Open one socket per entry of `order_ids`, all at once. A handshake that fails (refused,
        timed out, no snapshot) is counted in `failed_handshakes`, not raised."""
        outcomes = await asyncio.gather(*(self._open(order_id) for order_id in order_ids), return_exceptions=True)
        for order_id, outcome in zip(order_ids, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self.failed_handshakes += 1
                self.failures.setdefault(type(outcome).__name__, 0)
                self.failures[type(outcome).__name__] += 1
                continue
            seen: list[int] = []
            self.per_socket.append(seen)
            self.count_by_order[order_id] = self.count_by_order.get(order_id, 0) + 1
            self.sockets.append(outcome)
            self.readers.append(asyncio.create_task(self._read(outcome, order_id, seen)))

    async def _open(self, order_id: str):
        url = f"{self.server.ws}/ws/orders/{order_id}/?token={self.token}"
        connection = await websockets.connect(url, open_timeout=60, max_queue=None)
        snapshot = json.loads(await asyncio.wait_for(connection.recv(), 60))
        if snapshot["type"] != "snapshot":
            raise RuntimeError(f"no snapshot: {snapshot}")
        return connection

    async def _read(self, connection, order_id: str, seen: list[int]) -> None:
        try:
            async for text in connection:
                now = time.perf_counter()
                wall = time.time()
                message = json.loads(text)
                if message.get("type") == "event":
                    seen.append(message["sequence"])
                    self.received.setdefault((order_id, message["sequence"]), []).append(now)
                    occurred = datetime.fromisoformat(message["occurred_at"].replace("Z", "+00:00")).timestamp()
                    self.since_event.setdefault((order_id, message["sequence"]), []).append(wall - occurred)
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        await asyncio.gather(*(connection.close() for connection in self.sockets), return_exceptions=True)
        await asyncio.gather(*self.readers, return_exceptions=True)


async def drive(driver: Driver, orders: list[str], subscribers: Subscribers, steps: Sequence[int] = range(7)) -> dict:
    """Walk every order through its lifecycle (or the `steps` of it named), one transition at a
    time; measure each event."""
    from_response: list[float] = []
    from_request: list[float] = []
    from_event: list[float] = []
    expected = 0
    transitions = 0
    order_steps = {order_id: await sync_to_async(driver.steps)(order_id) for order_id in orders}
    for index in steps:
        for order_id in orders:
            started, answered, sequence = await sync_to_async(_timed)(order_id, order_steps[order_id][index])
            per_order = subscribers.count_by_order.get(order_id, 0)
            expected += per_order
            transitions += 1
            key = (order_id, sequence)
            deadline = time.monotonic() + 30
            while len(subscribers.received.get(key, [])) < per_order and time.monotonic() < deadline:
                await asyncio.sleep(0.001)
            arrivals = subscribers.received.get(key, [])
            from_response += [arrival - answered for arrival in arrivals]
            from_request += [arrival - started for arrival in arrivals]
            from_event += subscribers.since_event.get(key, [])
    await asyncio.sleep(0.5)  # let duplicates, if any, arrive
    delivered = sum(len(times) for (order_id, _), times in subscribers.received.items() if order_id in orders)
    in_order = all(seen == sorted(set(seen)) for seen in subscribers.per_socket)
    return {
        "transitions": transitions,
        "expected": expected,
        "delivered": delivered,
        "lost": expected - min(delivered, expected),
        "duplicates": max(0, delivered - expected),
        "in_order": in_order,
        "from_response": from_response,
        "from_request": from_request,
        "from_event": from_event,
    }


def _timed(order_id: str, step) -> tuple[float, float, int]:
    """Run one transition; when it was asked for, when it answered, and its event's sequence."""
    started = time.perf_counter()
    step()
    answered = time.perf_counter()
    return started, answered, Order.objects.values_list("sequence", flat=True).get(pk=order_id)


async def channel_layer_round_trip(samples: int) -> list[float]:
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS names a layer"
    channel = await layer.new_channel()
    await layer.group_add("bench.baseline", channel)
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        await layer.group_send("bench.baseline", {"type": "bench.ping"})
        await layer.receive(channel)
        timings.append(time.perf_counter() - started)
    await layer.group_discard("bench.baseline", channel)
    return timings


class ProductionTopology:
    """`scripts/serve-production` on a free port (no Celery: offers are not measured here)."""

    def __init__(self, *, database_url: str, sockets: int = 0) -> None:
        port = free_port()
        # Each socket holds two connections of an nginx worker (client and upstream), at most
        # worker_connections (16,384) and its open files (20,000 on the reference machine) each:
        # enough workers for `sockets`, with room for an uneven spread.
        nginx_workers = max(os.cpu_count() or 1, -(-sockets * 2 * 5 // 4 // 16384))
        self.run_dir = tempfile.mkdtemp(prefix="orderflow-fanout-")
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="config.settings.production",
            DATABASE_URL=database_url,
            REDIS_URL=settings.REDIS_URL,
            DJANGO_SECRET_KEY=settings.SECRET_KEY,
            ORDERFLOW_JWT_SIGNING_KEY=settings.SIMPLE_JWT["SIGNING_KEY"],
            ORDERFLOW_OTP_SECRET=settings.ORDERFLOW_OTP_SECRET,
            ORDERFLOW_PAYMENT_WEBHOOK_SECRET=settings.ORDERFLOW_PAYMENT_WEBHOOK_SECRET,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            ORDERFLOW_LISTEN=f"127.0.0.1:{port}",
            ORDERFLOW_RUN_DIR=self.run_dir,
            ORDERFLOW_MIGRATE="0",
            ORDERFLOW_SERVE_WORKER="0",
            ORDERFLOW_NGINX_WORKERS=str(nginx_workers),
        )
        self.log = open(Path(self.run_dir) / "script.log", "w")
        self.process = subprocess.Popen(
            [str(ROOT / "scripts" / "serve-production")],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}"
        try:
            wait_until_ready(f"{self.http}/health/", self.process, "serve-production")
        except RuntimeError as error:
            self.stop()
            sys.exit(f"{error}: {(Path(self.run_dir) / 'script.log').read_text()[-2000:]}")

    def websocket_pids(self) -> list[int]:
        return session_pids(self.process.pid, command=b"config.websocket_server")

    def stop(self) -> None:
        stop_session(self.process, grace=60)
        self.log.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)


def server_name(server) -> str:
    if isinstance(server, ProductionTopology):
        return f"scripts/serve-production (nginx, daphne pids {server.websocket_pids()})"
    return f"daphne pid {server.process.pid}"


def server_socket_pids(server) -> list[int]:
    """The process(es) holding the sockets."""
    if isinstance(server, ProductionTopology):
        return server.websocket_pids()
    return [server.process.pid]


def server_rss_kib(server, command: bytes = b"") -> int:
    """RSS of the processes holding the sockets, or of the topology's processes whose command line
    holds `command` (b"nginx")."""
    if command:
        pids = session_pids(server.process.pid, command=command) if isinstance(server, ProductionTopology) else []
        return sum(rss_kib(pid) for pid in pids)
    return sum(rss_kib(pid) for pid in server_socket_pids(server))


class HeldSockets:
    """Idle tracking sockets held by client processes of their own (bench/_socket_holder.py), each
    opening from its own loopback address: thousands of sockets in one Python process would make
    the clients the bottleneck, and one address has ephemeral ports for about 28,000 only."""

    def __init__(self, server: "ServerProcess | ProductionTopology", orders: list[str], token: str, processes: int):
        self.processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "bench" / "_socket_holder.py"),
                    server.ws,
                    ",".join(orders),
                    "--source",
                    f"127.0.0.{2 + n}",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(processes)
        ]
        for process in self.processes:
            self._send(process, token)
        self.count = 0
        self.failed = 0
        self.failures: dict[str, int] = {}

    @staticmethod
    def _send(process: subprocess.Popen, line: str) -> None:
        assert process.stdin is not None  # opened with stdin=PIPE above
        process.stdin.write(line + "\n")
        process.stdin.flush()

    @staticmethod
    def _answer(process: subprocess.Popen) -> dict:
        assert process.stdout is not None  # opened with stdout=PIPE above
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"a socket holder ended (exit status {process.wait()})")
        return json.loads(line)

    async def _ask(self, commands: list[str]) -> list[dict]:
        for process, command in zip(self.processes, commands, strict=True):
            self._send(process, command)
        return [await asyncio.to_thread(self._answer, process) for process in self.processes]

    async def open(self, count: int) -> None:
        """Open `count` more sockets, shared among the holders; all at once from each."""
        share = [count // len(self.processes) + (n < count % len(self.processes)) for n in range(len(self.processes))]
        answers = await self._ask([f"open {n}" for n in share])
        self.count = sum(answer["held"] for answer in answers)
        self.failed = sum(answer["failed"] for answer in answers)
        self.failures = {}
        for answer in answers:
            for name, times in answer["failures"].items():
                self.failures[name] = self.failures.get(name, 0) + times

    async def check(self) -> tuple[int, int]:
        """(sockets still open, events received on them)."""
        answers = await self._ask(["check"] * len(self.processes))
        return sum(answer["open"] for answer in answers), sum(answer["events"] for answer in answers)

    async def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                try:
                    self._send(process, "close")
                except OSError:
                    pass
        for process in self.processes:
            try:
                await asyncio.to_thread(process.wait, 120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def split_burst(burst: Subscribers, spread: Subscribers, hot: Subscribers, hot_order: str) -> None:
    """Hand the sockets opened in one burst to the phase of their order."""
    for connection, seen, reader in zip(burst.sockets, burst.per_socket, burst.readers, strict=True):
        order_id = connection.request.path.split("/")[3]
        phase = hot if order_id == hot_order else spread
        phase.sockets.append(connection)
        phase.per_socket.append(seen)
        phase.readers.append(reader)
        phase.count_by_order[order_id] = phase.count_by_order.get(order_id, 0) + 1
    spread.received = hot.received = burst.received
    spread.since_event = hot.since_event = burst.since_event


def demo_accounts():
    users = get_user_model().objects
    accounts = {
        "customer": users.get(username="alice"),
        "staff": users.get(username="pizza_staff"),
        "courier": users.get(username="dave"),
    }
    restaurant = Restaurant.objects.get(staff__user=accounts["staff"])
    item = (
        MenuItem.objects.filter(restaurant=restaurant, is_available=True)
        .exclude(customization_groups__min_choices__gt=0)
        .first()
    )
    return accounts, restaurant, item
