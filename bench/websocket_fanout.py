"""WebSocket fan-out: latency from a transition to its event on every subscriber, losses, memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderflow REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/websocket_fanout.py [--spread-orders 100 --per-order 10 --hot 1000]

In a scratch database (`<name>_bench` on PostgreSQL, created and dropped by the run), starts
the production topology (`scripts/serve-production`; `--topology daphne`: one daphne process)
with the Redis channel layer, loads the demo accounts (`seed_demo`), and measures, in one run:

- baseline 1: a raw channel-layer round trip (group_send to a group of one, then receive),
  no server and no socket involved;
- baseline 2: one order with one subscriber;
- spread: `--spread-orders` orders with `--per-order` subscribers each (1,000 by default);
- hot: one order with `--hot` subscribers (1,000 by default).

Each order is driven through its whole delivery lifecycle over the REST API. Latency is
measured from the HTTP response and from the request: the broadcast runs after commit but
before the response is written, so an event often reaches its subscribers before the caller
has its answer (a negative latency from the response). Every event must reach every
subscriber exactly once: the report counts what was lost or duplicated. Memory per socket is
the server's RSS growth while the sockets of the spread and hot phases are connected,
divided by their number.
"""

import argparse
import asyncio
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Background work (courier offers started by confirmations) is not measured here: its tasks go
# to an in-process broker and are dropped, in this process and the server alike.
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ["CELERY_RESULT_BACKEND"] = "cache+memory://"
# One demo courier carries every order of the run, all at once (the spread phase accepts them
# all before any is delivered): the per-courier limit is not what is measured.
os.environ["ORDERFLOW_COURIER_MAX_ACTIVE_ORDERS"] = "1000000"
# One demo customer places every order of the run, more than a customer's hourly limit.
os.environ["ORDERFLOW_ORDER_PLACE_LIMIT_PER_HOUR"] = "1000000"

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
import uvloop  # noqa: E402
import websockets  # noqa: E402
from _setup import cpu_seconds, scratch_database, session_pids, stop_session, wait_until_ready  # noqa: E402
from _setup import database_url as scratch_url  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection as db_connection  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402
from svg_chart import line_chart  # noqa: E402

from delivery.models import HandoffPurpose  # noqa: E402
from orders.models import Order  # noqa: E402
from restaurants.models import MenuItem, Restaurant  # noqa: E402
from tests.factories import handoff_code  # noqa: E402
from tests.tracking.live import ServerProcess, free_port  # noqa: E402

ADDRESS = {
    "street": "500 Howard Street",
    "city": "San Francisco",
    "latitude": "37.787000",
    "longitude": "-122.396000",
}


def raise_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(needed, soft)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        sys.exit(f"need {needed} open files, the hard limit is {hard}")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


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
                message = json.loads(text)
                if message.get("type") == "event":
                    seen.append(message["sequence"])
                    self.received.setdefault((order_id, message["sequence"]), []).append(now)
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        await asyncio.gather(*(connection.close() for connection in self.sockets), return_exceptions=True)
        await asyncio.gather(*self.readers, return_exceptions=True)


async def drive(driver: Driver, orders: list[str], subscribers: Subscribers) -> dict:
    """Walk every order through its lifecycle, one transition at a time; measure each event."""
    from_response: list[float] = []
    from_request: list[float] = []
    expected = 0
    transitions = 0
    order_steps = {order_id: await sync_to_async(driver.steps)(order_id) for order_id in orders}
    for index in range(7):
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


def describe(name: str, result: dict) -> str:
    def cells(latencies):
        if not latencies:
            return "- | -"
        ms = [value * 1000 for value in latencies]
        return f"{percentile(ms, 0.50):.1f} | {percentile(ms, 0.99):.1f}"

    samples = len(result["from_request"])
    return f"| {name} | {samples} | {cells(result['from_response'])} | {cells(result['from_request'])} |"


async def main(database_url: str) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spread-orders", type=int, default=100)
    parser.add_argument("--per-order", type=int, default=10)
    parser.add_argument("--hot", type=int, default=1000)
    parser.add_argument("--baseline-samples", type=int, default=500)
    parser.add_argument("--idle", type=int, default=5000, help="idle sockets held after the fan-out phases")
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument(
        "--svg",
        default=str(ROOT / "docs" / "operations" / "figures" / "sockets.svg"),
        help="where to draw memory per socket against idle sockets held ('' for nowhere)",
    )
    parser.add_argument(
        "--topology",
        choices=["production", "daphne"],
        default="production",
        help="scripts/serve-production (nginx, daphne x cores) or one daphne process",
    )
    args = parser.parse_args()
    if not settings.REDIS_URL:
        sys.exit("set REDIS_URL: the benchmark measures the Redis channel layer")
    spread_sockets = args.spread_orders * args.per_order
    raise_file_limit(2 * (spread_sockets + args.hot + args.idle) + 512)

    await sync_to_async(call_command)("migrate", verbosity=0)
    await sync_to_async(call_command)("seed_demo", stdout=io.StringIO())
    accounts, restaurant, item = await sync_to_async(_demo)()
    server: ServerProcess | ProductionTopology
    if args.topology == "production":
        server = ProductionTopology(database_url=database_url)
    else:
        server = ServerProcess(
            database_url=database_url, redis_url=settings.REDIS_URL, settings_module="config.settings.local"
        )
    try:
        os.environ["LOG_LEVEL"] = "WARNING"
        driver = Driver(server, accounts)
        token = str(AccessToken.for_user(accounts["customer"]))
        print(f"server: {server_name(server)} on {server.http}; transitions via {driver.name}")

        raw = await channel_layer_round_trip(args.baseline_samples)

        single_order = await sync_to_async(driver.place)(restaurant, item)
        single = Subscribers(server, token)
        await single.connect(single_order, 1)
        single_result = await drive(driver, [single_order], single)
        await single.close()

        spread_orders = [await sync_to_async(driver.place)(restaurant, item) for _ in range(args.spread_orders)]
        hot_order = await sync_to_async(driver.place)(restaurant, item)
        # Orders left waiting, for the idle sockets (a delivered order's socket closes at once).
        waiting_orders = [await sync_to_async(driver.place)(restaurant, item) for _ in range(20 if args.idle else 0)]
        await asyncio.sleep(1)
        rss_before = server_rss_kib(server)
        # Every socket of both phases at once, as after a deploy or a network blip.
        burst = Subscribers(server, token)
        await burst.connect_at_once(
            [*(o for o in spread_orders for _ in range(args.per_order)), *[hot_order] * args.hot]
        )
        spread = Subscribers(server, token)
        hot = Subscribers(server, token)
        split_burst(burst, spread, hot, hot_order)
        await asyncio.sleep(1)
        rss_after = server_rss_kib(server)
        sockets = len(spread.sockets) + len(hot.sockets)

        spread_result = await drive(driver, spread_orders, spread)
        # Where the hot phase's CPU time goes: the processes holding the sockets, and this one.
        cpu_pids = [*server_socket_pids(server), os.getpid()]
        cpu_before, hot_started = [cpu_seconds([pid]) for pid in cpu_pids], time.monotonic()
        hot_result = await drive(driver, [hot_order], hot)
        hot_cpu = [cpu_seconds([pid]) - before for pid, before in zip(cpu_pids, cpu_before, strict=True)]
        hot_seconds = time.monotonic() - hot_started
        await spread.close()
        await hot.close()

        idle = None
        memory_curve: list[tuple[int, float]] = []  # (idle sockets held, server KiB per socket)
        if args.idle:
            idle_before = server_rss_kib(server)
            idle = Subscribers(server, token)
            for start in range(0, args.idle, 500):
                await idle.connect_at_once(
                    [waiting_orders[n % len(waiting_orders)] for n in range(start, min(args.idle, start + 500))]
                )
                held = len(idle.sockets)
                memory_curve.append((held, (server_rss_kib(server) - idle_before) / max(1, held)))
            await asyncio.sleep(args.idle_seconds)
            idle_after = server_rss_kib(server)
            still_open = sum(connection.close_code is None for connection in idle.sockets)
            await idle.close()
    finally:
        server.stop()

    print()
    print(
        f"subscribers connected at once: {sockets} ({args.spread_orders} orders x {args.per_order}, "
        f"and 1 order x {args.hot}); transitions via {driver.name}"
    )
    print(
        f"failed handshakes, {args.spread_orders * args.per_order + args.hot} sockets opened at once: "
        f"{burst.failed_handshakes} {burst.failures or ''}"
    )
    print(
        f"server memory: {rss_before / 1024:.1f} MiB before, {rss_after / 1024:.1f} MiB with the sockets: "
        f"{(rss_after - rss_before) / max(1, sockets):.1f} KiB per socket"
    )
    print(
        f"hot phase: {hot_seconds:.2f} s; CPU time in it: WebSocket server process(es) "
        f"{', '.join(f'{seconds:.2f}' for seconds in hot_cpu[:-1])} s, this benchmark's clients {hot_cpu[-1]:.2f} s"
    )
    if idle is not None:
        print(
            f"idle: {len(idle.sockets)} of {args.idle} sockets opened ({idle.failed_handshakes} failed handshakes), "
            f"{still_open} still open after {args.idle_seconds} s; server memory {idle_before / 1024:.1f} -> "
            f"{idle_after / 1024:.1f} MiB: {(idle_after - idle_before) / max(1, len(idle.sockets)):.1f} KiB per socket"
        )
    print()
    print(
        "| latency to the event on each subscriber, ms | samples | from the HTTP response: p50 | p99 | "
        "from the request: p50 | p99 |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    print(describe("baseline: raw channel-layer group_send round trip", {"from_response": [], "from_request": raw}))
    print(describe("baseline: 1 order x 1 subscriber", single_result))
    print(describe(f"spread: {args.spread_orders} orders x {args.per_order} subscribers", spread_result))
    print(describe(f"hot: 1 order x {args.hot} subscribers", hot_result))
    print()
    print("| phase | transitions | events expected | delivered | lost | duplicated | in order |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, result in (("1 x 1", single_result), ("spread", spread_result), ("hot", hot_result)):
        print(
            f"| {name} | {result['transitions']} | {result['expected']} | {result['delivered']} | "
            f"{result['lost']} | {result['duplicates']} | {'yes' if result['in_order'] else 'NO'} |"
        )
    if len(memory_curve) > 1 and args.svg:
        Path(args.svg).parent.mkdir(parents=True, exist_ok=True)
        Path(args.svg).write_text(
            line_chart(
                {"server RSS growth per idle socket": memory_curve},
                title="Memory of the WebSocket processes per idle socket held",
                x_label="idle sockets held",
                y_label="KiB per socket",
            )
        )
        print(f"\ncurve: {args.svg}")
    if burst.failed_handshakes or (idle is not None and (idle.failed_handshakes or still_open < len(idle.sockets))):
        sys.exit("handshakes failed or idle sockets were dropped")
    total_lost = sum(r["lost"] + r["duplicates"] for r in (single_result, spread_result, hot_result))
    if total_lost or not all(r["in_order"] for r in (single_result, spread_result, hot_result)):
        sys.exit("events were lost, duplicated or out of order")


class ProductionTopology:
    """`scripts/serve-production` on a free port (no Celery: offers are not measured here)."""

    def __init__(self, *, database_url: str) -> None:
        port = free_port()
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


def server_rss_kib(server) -> int:
    return sum(rss_kib(pid) for pid in server_socket_pids(server))


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


def _demo():
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


def run() -> int:
    """The whole benchmark; its exit status (1 when something was lost or refused)."""
    try:
        if db_connection.vendor == "postgresql":
            # A scratch database (`<name>_bench`), created and dropped here, as for the other benchmarks.
            with scratch_database() as scratch:
                uvloop.run(main(scratch_url(scratch)))
        else:
            uvloop.run(main(f"sqlite:///{settings.DATABASES['default']['NAME']}"))
    except SystemExit as verdict:
        if isinstance(verdict.code, str):
            print(verdict.code, file=sys.stderr)
            return 1
        return verdict.code or 0
    return 0


if __name__ == "__main__":
    status = run()
    # The servers are stopped and the scratch database dropped by now. Threads the clients left
    # (asgiref's executor, the channel layer's and the HTTP session's pools) must not keep the
    # benchmark alive after its tables are printed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
