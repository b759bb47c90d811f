"""The load of scripts/cluster test (scripts/cluster_test.py) and the clients that measure it.

The cluster is seeded (`seed`, in a child process against the cluster's database); each case
(`Case`) places its own orders, opens `--sockets` tracking sockets over them (`TrackingSocket`:
resumes with `after` whenever it is closed, checks every event's sequence), runs the mixed locust
scenario of bench/locustfile.py, a prober polling one order's status every 50 ms and the kitchen's
transitions of its orders, and calls the case's disruption meanwhile. Every request of the test's
own clients is recorded (`Requests`) and retried while it fails (`http`). Traffic goes only to the
addresses of the cluster's namespaces; every loop is bounded in count and time.
"""

import asyncio
import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import cast

import cluster_hosts as hosts
import requests
import websockets

RETRYABLE = {502, 503, 504}


# --- seeding (runs in a child process, against the cluster's database) -----------------------------


def seed(out: str, orders: int, customers: int, couriers: int) -> None:
    sys.path.insert(0, str(hosts.ROOT))
    import django

    django.setup()
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    from orders.versions import order_etag
    from restaurants.models import MenuItem, Restaurant
    from tests import factories

    def token(user) -> str:
        access = AccessToken.for_user(user)
        access.set_exp(lifetime=timedelta(hours=3))
        return str(access)

    # factory_boy does not type what a factory returns.
    restaurant = cast(Restaurant, factories.RestaurantFactory(name="Cluster Kitchen"))
    item = cast(MenuItem, factories.MenuItemFactory(restaurant=restaurant, name="Cluster Pizza"))
    staff = factories.StaffFactory(restaurant=restaurant, user__username="cluster-staff").user
    people = [factories.UserFactory(username=f"cluster-customer-{n}") for n in range(customers)]
    placed = []
    for n in range(orders):
        customer = people[n % customers]
        order = factories.place_order(customer, item, delivery_type="pickup")
        placed.append({"id": str(order.pk), "token": token(customer), "etag": order_etag(order.pk, order.sequence)})
    courier_tokens = [
        token(factories.CourierFactory(user__username=f"cluster-courier-{n}").user) for n in range(couriers)
    ]
    data = {
        "orders": placed,
        "customers": [token(person) for person in people],
        "couriers": courier_tokens,
        "staff": token(staff),
        "restaurant": str(restaurant.pk),
        "item": str(item.pk),
    }
    Path(out).write_text(json.dumps(data))


# --- clients --------------------------------------------------------------------------------------


class Requests:
    """Every HTTP request the test's own clients make: when, what came back, and whether its
    retry succeeded."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures: list[dict] = []
        self.count = 0
        self.statuses: dict[int, int] = {}

    def record(self, name: str, started: float, status: int, error: str = "") -> None:
        with self.lock:
            self.count += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 0 or status >= 500:
                self.failures.append({"name": name, "at": started, "status": status, "error": error[:200]})


def http(session: requests.Session, method: str, url: str, log: Requests, name: str, **kwargs) -> requests.Response:
    """One request, retried (up to 60 times, 0.25 s apart) while it fails with a connection error or
    a 502/503/504; every attempt is recorded."""
    for attempt in range(60):
        started = time.time()
        try:
            response = session.request(method, url, timeout=15, **kwargs)
        except requests.RequestException as exc:
            log.record(name, started, 0, repr(exc))
        else:
            log.record(name, started, response.status_code)
            if response.status_code not in RETRYABLE:
                response.retried = attempt > 0  # type: ignore[attr-defined]  # read by Case.transitions
                return response
        time.sleep(0.25)
    raise RuntimeError(f"{name}: still failing after 60 attempts")


class TrackingSocket:
    def __init__(self, order_id: str, token: str) -> None:
        self.order_id, self.token = order_id, token
        self.last: int | None = None
        self.first: int | None = None  # the sequence of the first snapshot
        self.events = 0
        self.problems: list[str] = []
        self.connects = 0
        self.reconnect_errors = 0
        self.done = False  # closed by the server with 1000: the order is final
        self.peers: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set() and not self.done:
            after = "" if self.last is None else f"&after={self.last}"
            url = f"ws://{hosts.address('lb')}/ws/orders/{self.order_id}/?token={self.token}{after}"
            try:
                async with websockets.connect(url, open_timeout=15, max_queue=None, ping_interval=None) as ws:
                    snapshot = json.loads(await asyncio.wait_for(ws.recv(), 15))
                    if snapshot.get("type") != "snapshot":
                        raise RuntimeError(f"no snapshot: {snapshot}")
                    if self.last is None:
                        self.last = self.first = snapshot["sequence"]
                    self.connects += 1
                    backoff = 0.2
                    async for text in ws:
                        message = json.loads(text)
                        if message.get("type") != "event":
                            continue
                        sequence = message["sequence"]
                        self.events += 1
                        if sequence != self.last + 1:
                            kind = "duplicate" if sequence <= self.last else "gap"
                            self.problems.append(f"{kind}: {self.last} then {sequence}")
                        self.last = max(self.last, sequence)
                    if ws.close_code == 1000:
                        self.done = True
                        return
            except (TimeoutError, OSError, websockets.WebSocketException, RuntimeError):
                self.reconnect_errors += 1
            if stop.is_set():
                return
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, 2.0)


# --- one case -------------------------------------------------------------------------------------


class Case:
    def __init__(self, name: str, data: dict, sockets: int, orders: int, duration: float) -> None:
        self.name, self.data, self.socket_count, self.order_count = name, data, sockets, orders
        self.duration = duration
        self.log = Requests()
        self.session = requests.Session()
        self.base = hosts.lb_url()
        self.stop = asyncio.Event()
        self.orders: list[dict] = []
        self.sockets: list[TrackingSocket] = []
        self.result: dict = {"case": self.name}
        self.state: dict  # the cluster's state, set once it is up

    def auth(self, token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    def place_orders(self) -> None:
        body = {
            "restaurant": self.data["restaurant"],
            "items": [{"menu_item": self.data["item"], "quantity": 1, "customizations": []}],
            "delivery_type": "pickup",
            "payment_method": "cod",
        }
        for n in range(self.order_count):
            token = self.data["customers"][n % len(self.data["customers"])]
            response = http(self.session, "POST", f"{self.base}/api/orders/", self.log, "place", json=body,
                            headers=self.auth(token))  # fmt: skip
            if response.status_code != 201:
                raise RuntimeError(f"placing an order: {response.status_code} {response.text[:200]}")
            self.orders.append({"id": response.json()["id"], "token": token})

    def transitions(self) -> dict:
        """Confirm, start preparing, mark ready: every order, step by step, paced over the case."""
        steps = {"confirm": "RESTAURANT_CONFIRMED", "start-preparing": "PREPARING", "mark-ready": "READY_FOR_PICKUP"}
        pause = self.duration / (len(steps) * len(self.orders))
        done = refused = 0
        session = requests.Session()
        for step, target in steps.items():
            for order in self.orders:
                url = f"{self.base}/api/restaurants/orders/{order['id']}/{step}/"
                response = http(session, "POST", url, self.log, "transition", json={},
                                headers=self.auth(self.data["staff"]))  # fmt: skip
                if response.status_code == 200:
                    done += 1
                elif (
                    getattr(response, "retried", False)
                    and response.status_code == 400
                    and self.status_of(session, order) == target
                ):
                    # The attempt that failed had been carried out (committed on a host that died
                    # before it answered): the retry is refused as a repeat, and the order shows
                    # the change was made, once.
                    done += 1
                    self.result["applied_before_retry"] = self.result.get("applied_before_retry", 0) + 1
                else:
                    refused += 1
                    refusal = f"{step}: {response.status_code} {response.text[:120]}"
                    self.result.setdefault("refused", []).append(refusal)
                time.sleep(pause)
        return {"transitions": done, "transitions_refused": refused}

    def status_of(self, session: requests.Session, order: dict) -> str:
        response = http(session, "GET", f"{self.base}/api/orders/{order['id']}/status/", self.log, "status",
                        headers=self.auth(order["token"]))  # fmt: skip
        return response.json().get("status", "") if response.status_code == 200 else ""

    def prober(self) -> None:
        order = self.data["orders"][0]
        session = requests.Session()
        give_up = time.monotonic() + self.duration + 120
        while not self.stop.is_set() and time.monotonic() < give_up:
            http(session, "GET", f"{self.base}/api/orders/{order['id']}/status/", self.log, "probe",
                 headers=self.auth(order["token"]))  # fmt: skip
            time.sleep(0.05)

    def locust(self, seconds: int, users: int) -> subprocess.Popen:
        data_file = Path(tempfile.mkstemp(suffix=".json")[1])
        data_file.write_text(json.dumps(self.data))
        # locust creates its CSV files under this prefix itself; nothing is opened by this name here.
        self.locust_prefix = tempfile.mktemp(prefix="orderflow-cluster-locust-")  # noqa: S306
        self.locust_data = data_file
        return subprocess.Popen(
            [str(hosts.VENV_BIN / "locust"), "-f", str(hosts.ROOT / "bench" / "locustfile.py"), "--headless",
             "--host", self.base, "-u", str(users), "-r", str(max(1, users // 4)), "-t", f"{seconds}s",
             "--csv", self.locust_prefix, "--only-summary", "--stop-timeout", "5", "--loglevel", "ERROR"],
            env=dict(os.environ, BENCH_DATA=str(data_file)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def locust_results(self) -> dict:
        try:
            rows = list(csv.DictReader(io.StringIO(Path(f"{self.locust_prefix}_stats.csv").read_text())))
        except FileNotFoundError:
            return {"error": "locust wrote no statistics"}
        finally:
            self.locust_data.unlink(missing_ok=True)
        http_rows = [r for r in rows if r["Type"] not in ("WS", "") and r["Name"] != "Aggregated"]
        ws_rows = [r for r in rows if r["Type"] == "WS"]
        result = {
            "http_requests": sum(int(r["Request Count"]) for r in http_rows),
            "http_failures": sum(int(r["Failure Count"]) for r in http_rows),
            "ws_connects": sum(int(r["Request Count"]) for r in ws_rows),
            "ws_connect_failures": sum(int(r["Failure Count"]) for r in ws_rows),
        }
        for suffix in ("_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv"):
            Path(f"{self.locust_prefix}{suffix}").unlink(missing_ok=True)
        return result

    async def run(self, disrupt, *, locust_users: int) -> dict:
        print(f"case {self.name}: placing {self.order_count} orders, opening {self.socket_count} sockets", flush=True)
        await asyncio.to_thread(self.place_orders)
        for n in range(self.socket_count):
            order = self.orders[n % len(self.orders)]
            self.sockets.append(TrackingSocket(order["id"], order["token"]))
        tasks = []
        for start in range(0, len(self.sockets), 100):  # a hundred handshakes at a time
            tasks += [asyncio.create_task(s.run(self.stop)) for s in self.sockets[start : start + 100]]
            give_up = time.monotonic() + 30
            while any(s.connects == 0 for s in self.sockets[start : start + 100]) and time.monotonic() < give_up:
                await asyncio.sleep(0.1)
        connected = sum(1 for s in self.sockets if s.connects)
        if connected < len(self.sockets):
            raise AssertionError(f"{self.name}: only {connected} of {len(self.sockets)} sockets connected")
        locust = self.locust(int(self.duration) + 15, locust_users)
        prober = asyncio.create_task(asyncio.to_thread(self.prober))
        await asyncio.sleep(5)  # the load settles
        driver = asyncio.create_task(asyncio.to_thread(self.transitions))
        await asyncio.sleep(3)
        self.disrupted_at = time.time()
        self.result["disruption"] = await asyncio.to_thread(disrupt, self)
        self.result.update(await asyncio.wait_for(driver, self.duration + 180))
        # Every socket must reach its order's last sequence (the server's answer to a poll).
        finals = {}
        for order in self.orders:
            response = http(self.session, "GET", f"{self.base}/api/orders/{order['id']}/status/", self.log, "final",
                            headers=self.auth(order["token"]))  # fmt: skip
            finals[order["id"]] = response.json()["sequence"]
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up and any(s.last != finals[s.order_id] for s in self.sockets):
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)  # duplicates, if any, arrive
        self.stop.set()
        await asyncio.wait_for(prober, 60)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(locust.wait, 120)
        behind = [s for s in self.sockets if s.last != finals[s.order_id]]
        expected_events = sum(finals[s.order_id] - s.first for s in self.sockets)
        self.result.update(
            {
                "sockets": len(self.sockets),
                "events_expected": expected_events,
                "events_received": sum(s.events for s in self.sockets),
                "sockets_behind": len(behind),
                "sequence_problems": sum(len(s.problems) for s in self.sockets),
                "sockets_reconnected": sum(1 for s in self.sockets if s.connects >= 2),
                "reconnect_attempts_failed": sum(s.reconnect_errors for s in self.sockets),
                "requests": self.log.count,
                "request_statuses": {str(k): v for k, v in sorted(self.log.statuses.items())},
                "failed_requests": len(self.log.failures),
                "locust": self.locust_results(),
            }
        )
        examples = [p for s in self.sockets for p in s.problems][:5]
        if examples:
            self.result["sequence_examples"] = examples
        return self.result

    def failures_between(self, start: float, end: float) -> list[dict]:
        return [f for f in self.log.failures if start <= f["at"] <= end]
