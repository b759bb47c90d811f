"""scripts/cluster test: the namespaced cluster (scripts/cluster.py) through its failures, under load.

    scripts/cluster test [--sockets 1000] [--orders 50] [--case deploy --case kill-web ...]

Brings the cluster up, seeds it, and runs each case under the same load: the mixed locust
scenario of bench/locustfile.py (polling customers, socket holders, a kitchen placing and
confirming orders, couriers posting positions), `--sockets` tracking sockets spread over
`--orders` fresh orders that are driven through confirm, start-preparing and mark-ready while the
case runs, and a prober polling one order's status every 50 ms. Each tracking socket resumes
with `after` (its last sequence) whenever it is closed or dropped, and checks every event's
sequence: exactly one more than the last it had. A request that fails is retried by its client,
and each failure is recorded with when it was sent.

Cases (each checks what docs/operations/deployment.md states):
- deploy: `scripts/cluster deploy` (both web hosts, one at a time): 0 failed HTTP requests
  (locust, prober, transitions), every socket reconnected, 0 events lost or duplicated;
- kill-web: every process of web2 SIGKILLed: HAProxy marks it down within 5 s; its sockets resume
  on web1; the only failed requests were sent before HAProxy marked it down, and each succeeded
  when retried; then web2 is started again;
- kill-redis: the Redis primary SIGKILLed: the sentinels promote the replica; transitions succeed
  (a few seconds of 503 at most, retried), sockets resume with 0 events lost; tasks sent after the
  failover run; the old primary then rejoins as a replica;
- kill-beat: the beat holding the lock SIGKILLed: the other sends the periodic tasks within two
  intervals, and no task is sent twice in one interval;
- restart-pgbouncer: PgBouncer stopped and started: no 500 once it is back.

Every loop is bounded in count and time; the whole run is bounded by --timeout (default 1500 s).
The cluster is taken down at the end, passed or failed. Figures go to stdout and to
.cluster/results.json. Traffic goes only to the addresses of the cluster's namespaces.
"""

import argparse
import asyncio
import csv
import io
import itertools
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import requests
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster

ROOT = cluster.ROOT
SWEEP_INTERVAL = 5.0  # ORDERFLOW_SWEEP_INTERVAL_SECONDS, the beat interval the beat case checks
RETRYABLE = {502, 503, 504}


# --- seeding (runs in a child process, against the cluster's database) -----------------------------


def seed(out: str, orders: int, customers: int, couriers: int) -> None:
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import AccessToken

    from delivery.models import CourierProfile
    from orders.services.placing import OrderLine, order_place
    from orders.versions import order_etag
    from restaurants.models import MenuItem, Restaurant, StaffMembership

    def token(user) -> str:
        access = AccessToken.for_user(user)
        access.set_exp(lifetime=timedelta(hours=3))
        return str(access)

    users = get_user_model().objects
    restaurant = Restaurant.objects.create(
        name="Cluster Kitchen", address="1 Cluster Street", latitude=Decimal("37.7749"), longitude=Decimal("-122.4194")
    )
    item = MenuItem.objects.create(restaurant=restaurant, name="Cluster Pizza", price=Decimal("12.00"))
    staff = users.create_user(username="cluster-staff")
    StaffMembership.objects.create(user=staff, restaurant=restaurant)
    people = [users.create_user(username=f"cluster-customer-{n}") for n in range(customers)]
    placed = []
    for n in range(orders):
        customer = people[n % customers]
        order = order_place(
            customer=customer,
            restaurant_id=restaurant.pk,
            lines=[OrderLine(menu_item_id=item.pk, quantity=1)],
            delivery_type="pickup",
            payment_method="cod",
        )
        placed.append({"id": str(order.pk), "token": token(customer), "etag": order_etag(order.pk, order.sequence)})
    courier_tokens = []
    for n in range(couriers):
        courier = users.create_user(username=f"cluster-courier-{n}")
        CourierProfile.objects.create(user=courier, is_online=True)
        courier_tokens.append(token(courier))
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
    for _ in range(60):
        started = time.time()
        try:
            response = session.request(method, url, timeout=15, **kwargs)
        except requests.RequestException as exc:
            log.record(name, started, 0, repr(exc))
        else:
            log.record(name, started, response.status_code)
            if response.status_code not in RETRYABLE:
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
            url = f"ws://{cluster.address('lb')}/ws/orders/{self.order_id}/?token={self.token}{after}"
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
        self.base = cluster.lb_url()
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
        steps = ["confirm", "start-preparing", "mark-ready"]
        pause = self.duration / (len(steps) * len(self.orders))
        done = refused = 0
        session = requests.Session()
        for step in steps:
            for order in self.orders:
                url = f"{self.base}/api/restaurants/orders/{order['id']}/{step}/"
                response = http(session, "POST", url, self.log, "transition", json={},
                                headers=self.auth(self.data["staff"]))  # fmt: skip
                if response.status_code == 200:
                    done += 1
                else:
                    refused += 1
                    refusal = f"{step}: {response.status_code} {response.text[:120]}"
                    self.result.setdefault("refused", []).append(refusal)
                time.sleep(pause)
        return {"transitions": done, "refused": refused}

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
            [str(cluster.VENV_BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
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


# --- the disruptions ------------------------------------------------------------------------------


def disrupt_deploy(case: Case) -> dict:
    steps = cluster.deploy(case.state, log=lambda line: print(f"  {line}", flush=True))
    return {"steps": steps}


def wait_haproxy_down(host: str, since: float, seconds: float = 15) -> float:
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        rows = cluster.haproxy_servers()
        if all(rows[(backend, host)]["status"].startswith("DOWN") for backend in ("http", "sockets")):
            return time.time() - since
        time.sleep(0.05)
    raise AssertionError(f"HAProxy still sends to {host} {seconds} s after it died")


def disrupt_kill_web(case: Case) -> dict:
    host = "web2"
    killed_at = time.time()
    cluster.web_stop(case.state, host, sig=signal.SIGKILL)
    marked_down = wait_haproxy_down(host, killed_at)
    time.sleep(8)  # the load runs on one host
    cluster.web_start(case.state, host)
    cluster.wait_servers_up()
    return {"killed_at": killed_at, "marked_down_after_s": round(marked_down, 2)}


def disrupt_kill_redis(case: Case) -> dict:
    old = cluster.redis_primary()
    assert old is not None, "the sentinels name no Redis primary"
    replica = "redis2" if old == "redis1" else "redis1"
    killed_at = time.time()
    cluster.stop(case.state, f"redis-{old}", sig=signal.SIGKILL, grace=1)
    give_up = time.monotonic() + 60
    while cluster.redis_primary() != replica:
        if time.monotonic() > give_up:
            raise AssertionError("the sentinels promoted no replica within 60 s")
        time.sleep(0.1)
    promoted = time.time() - killed_at
    # Tasks sent after the failover run: the beat's next sweeps reach the worker.
    time.sleep(12)
    # The old primary comes back as a replica of the new one (the sentinels would tell it so too).
    folder = Path(case.state["data_dir"]) / old
    cluster.start(
        case.state, f"redis-{old}", old,
        ["redis-server", "--bind", cluster.address(old), "--port", str(cluster.REDIS_PORT), "--protected-mode", "no",
         "--dir", str(folder), "--save", "", "--appendonly", "no",
         "--replicaof", cluster.address(replica), str(cluster.REDIS_PORT)],
    )  # fmt: skip
    cluster.wait_listening(old, cluster.REDIS_PORT)
    return {"killed": old, "promoted": replica, "killed_at": killed_at, "promoted_after_s": round(promoted, 2)}


def beat_sends(host: str) -> list[tuple[float, str]]:
    """(when, entry) of every periodic task the beat on `host` sent, from its log."""
    sends = []
    for line in (cluster.STATE_DIR / "logs" / f"beat-{host}.log").read_text(errors="replace").splitlines():
        if "Sending due task" not in line or not line.startswith("["):
            continue
        stamp = datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f").astimezone().timestamp()
        sends.append((stamp, line.split("Sending due task ")[1].split(" ")[0]))
    return sends


def disrupt_kill_beat(case: Case) -> dict:
    now = time.time()
    recent = {host: [s for s in beat_sends(host) if s[0] > now - 10] for host in ("worker", "beat")}
    leaders = [host for host, sends in recent.items() if sends]
    if len(leaders) != 1:
        raise AssertionError(f"expected one beat sending tasks, found {leaders}")
    leader = leaders[0]
    other = "beat" if leader == "worker" else "worker"
    killed_at = time.time()
    cluster.stop(case.state, f"beat-{leader}", sig=signal.SIGKILL, grace=1)
    give_up = time.monotonic() + 4 * SWEEP_INTERVAL
    while not [s for s in beat_sends(other) if s[0] > killed_at]:
        if time.monotonic() > give_up:
            raise AssertionError(f"the other beat sent nothing within {4 * SWEEP_INTERVAL} s")
        time.sleep(0.1)
    took_over = min(s[0] for s in beat_sends(other) if s[0] > killed_at) - killed_at
    time.sleep(3 * SWEEP_INTERVAL)
    # No entry is sent twice in one interval, across both beats' logs, from before the kill on.
    sweeps = sorted(
        stamp
        for host in ("worker", "beat")
        for stamp, entry in beat_sends(host)
        if entry == "orders-sweep-overdue" and stamp > killed_at - 3 * SWEEP_INTERVAL
    )
    gaps = [b - a for a, b in itertools.pairwise(sweeps)]
    cluster.beat_start(case.state, leader)  # back, waiting for the lock
    return {
        "killed": leader,
        "took_over": other,
        "killed_at": killed_at,
        "first_send_after_s": round(took_over, 2),
        "sweep_sends": len(sweeps),
        "shortest_gap_s": round(min(gaps), 2) if gaps else None,
        "longest_gap_s": round(max(gaps), 2) if gaps else None,
    }


def disrupt_restart_pgbouncer(case: Case) -> dict:
    stopped_at = time.time()
    cluster.stop(case.state, "pgbouncer", grace=5)
    time.sleep(2)
    cluster.pgbouncer_start(case.state)
    back_at = time.time()
    time.sleep(10)
    return {"stopped_at": stopped_at, "back_at": back_at, "down_s": round(back_at - stopped_at, 2)}


# --- checks ---------------------------------------------------------------------------------------


def check(case: Case, result: dict) -> list[str]:
    """What went wrong in a case; empty when it passed."""
    problems = []
    name = case.name
    if result["sockets_behind"]:
        problems.append(f"{result['sockets_behind']} sockets never reached their order's last event")
    if result["sequence_problems"]:
        problems.append(f"{result['sequence_problems']} events lost or duplicated: {result.get('sequence_examples')}")
    if result.get("refused"):
        problems.append(f"transitions refused: {result['refused'][:3]}")
    disruption = result["disruption"]
    locust = result["locust"]
    if name == "deploy":
        if result["failed_requests"]:
            problems.append(f"{result['failed_requests']} failed requests: {case.log.failures[:3]}")
        if locust.get("http_failures", 1):
            problems.append(f"locust: {locust}")
        if result["sockets_reconnected"] < result["sockets"]:
            problems.append(f"only {result['sockets_reconnected']} of {result['sockets']} sockets reconnected")
    elif name == "kill-web":
        if disruption["marked_down_after_s"] > 5:
            problems.append(f"HAProxy marked the dead host down after {disruption['marked_down_after_s']} s")
        # Failed: only requests sent before HAProxy stopped sending to the dead host.
        cutoff = disruption["killed_at"] + disruption["marked_down_after_s"]
        late = [f for f in case.log.failures if f["at"] > cutoff]
        early = [f for f in case.log.failures if f["at"] < disruption["killed_at"] - 1]
        if late or early:
            problems.append(f"requests failed outside the host's death: {(early + late)[:3]}")
    elif name == "kill-redis":
        window = [f for f in case.log.failures if f["status"] != 503]
        if window:
            problems.append(f"failures other than 503 while Redis failed over: {window[:3]}")
        if case.log.failures:
            span = max(f["at"] for f in case.log.failures) - disruption["killed_at"]
            result["errors_for_s"] = round(span, 2)
            if span > 30:
                problems.append(f"503s for {span:.1f} s after the primary died")
        worker_log = (cluster.STATE_DIR / "logs" / "worker.log").read_text(errors="replace")
        ran_after = [
            line
            for line in worker_log.splitlines()
            if "succeeded in" in line
            and line.startswith("[")
            and datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f").astimezone().timestamp()
            > disruption["killed_at"] + disruption["promoted_after_s"]
        ]
        result["tasks_run_after_failover"] = len(ran_after)
        if not ran_after:
            problems.append("no task ran after the failover")
    elif name == "kill-beat":
        if disruption["first_send_after_s"] > 2 * SWEEP_INTERVAL:
            problems.append(f"the other beat took {disruption['first_send_after_s']} s")
        if disruption["shortest_gap_s"] is None or disruption["shortest_gap_s"] < 0.8 * SWEEP_INTERVAL:
            problems.append(f"a sweep was sent twice in one interval (gap {disruption['shortest_gap_s']} s)")
        if result["failed_requests"]:
            problems.append(f"{result['failed_requests']} failed requests")
    elif name == "restart-pgbouncer":
        after = [f for f in case.log.failures if f["at"] > disruption["back_at"] + 1]
        if after:
            problems.append(f"requests failed after PgBouncer was back: {after[:3]}")
        fivehundreds = [f for f in case.log.failures if f["status"] == 500 and f["at"] > disruption["back_at"]]
        if fivehundreds:
            problems.append(f"500 after PgBouncer was back: {fivehundreds[:3]}")
    return problems


CASES = {
    "deploy": disrupt_deploy,
    "kill-web": disrupt_kill_web,
    "kill-redis": disrupt_kill_redis,
    "kill-beat": disrupt_kill_beat,
    "restart-pgbouncer": disrupt_restart_pgbouncer,
}


async def run_cases(args, state: dict, data: dict) -> tuple[list[dict], list[str]]:
    results, failed = [], []
    for name in args.case or list(CASES):
        case = Case(name, data, args.sockets, args.orders, args.duration)
        case.state = state
        started = time.monotonic()
        try:
            result = await case.run(CASES[name], locust_users=args.users)
            problems = check(case, result)
        except Exception as exc:  # a case that breaks is a failed case; the others still run
            result, problems = dict(case.result, error=repr(exc)), [repr(exc)]
        result["seconds"] = round(time.monotonic() - started, 1)
        result["passed"] = not problems
        results.append(result)
        shown = {k: v for k, v in result.items() if k not in ("refused", "sequence_examples")}
        print(f"case {name}: {'passed' if not problems else 'FAILED'} {json.dumps(shown)}", flush=True)
        for problem in problems:
            print(f"  - {problem}", flush=True)
            failed.append(f"{name}: {problem}")
    return results, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=int(os.environ.get("ORDERFLOW_CLUSTER_SOCKETS", 1000)))
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--users", type=int, default=20, help="locust users")
    parser.add_argument("--duration", type=float, default=40, help="seconds of transitions per case")
    parser.add_argument("--case", action="append", choices=list(CASES))
    parser.add_argument("--timeout", type=float, default=1500, help="the whole run, seconds")
    parser.add_argument("--keep", action="store_true", help="leave the cluster up afterwards")
    parser.add_argument("--seed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        seed(args.seed, orders=100, customers=20, couriers=10)
        return 0
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    # The whole run is bounded: past --timeout the cluster is taken down and the run fails.
    def out_of_time(*_):
        raise TimeoutError(f"cluster test: over {args.timeout} s")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(int(args.timeout))
    if cluster.STATE_FILE.exists():
        cluster.down()  # what a previous run left
    failed = ["did not finish"]
    results: list[dict] = []
    started = time.monotonic()
    try:
        state = cluster.up()
        data_file = cluster.STATE_DIR / "data.json"
        subprocess.run(
            [str(cluster.VENV_BIN / "python"), __file__, "--seed", str(data_file)],
            env=cluster.app_env(state, direct_db=True), check=True, cwd=ROOT,
        )  # fmt: skip
        data = json.loads(data_file.read_text())
        results, failed = asyncio.run(run_cases(args, state, data))
    finally:
        signal.alarm(0)
        (cluster.STATE_DIR).mkdir(exist_ok=True)
        (cluster.STATE_DIR / "results.json").write_text(json.dumps(results, indent=1))
        if not args.keep:
            cluster.down()
    passed = sum(1 for r in results if r.get("passed"))
    print(f"cluster test: {round(time.monotonic() - started)} s")
    print(f"{passed} passed, {len(results) - passed} failed")
    for line in failed:
        print(f"FAILED {line}")
    return 0 if not failed and results else 1


if __name__ == "__main__":
    sys.exit(main())
