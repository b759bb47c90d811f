"""Serving under load: the production topology against its baselines, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderflow REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/serving.py [--seconds 5 --connections 64 --users 150]

In a scratch database (`<name>_bench`) with 200 orders, production settings plus two baselines
mounted in the same server (bench/baseline_urls.py: a constant JSON view, a naive DRF retrieve):

1. server choice: the constant view and the lean status on each candidate alone, no proxy, one
   process per core where the server has workers: daphne (ASGI, one process), granian (WSGI),
   gunicorn (WSGI, sync workers);
2. the production topology (`scripts/serve-production`: nginx, the chosen HTTP server, daphne
   WebSocket processes), `wrk` with `--connections` clients for `--seconds` per URL (after one
   second of the same load, not counted, so that every worker has seen the tokens once): the
   constant view, the naive retrieve, the lean status (customers, each their own order; 200),
   the same with `If-None-Match` (304), the lean status through the database (platform admin).
   The URLs take turns over `--rounds` rounds, so that what the machine does meanwhile falls on
   each of them alike: req/s is every round's requests over their seconds, p50 and p99 are the
   medians of the rounds' (one 5 s run's p99 on 2 cores moves by half from one run to the next).
   The order of the URLs rotates from round to round, and before each URL the server is let
   finish what the last one left queued (until its processes are idle). The slow URLs (the naive
   retrieve, the database path) take their turns after the fast ones' rounds: what they leave
   behind slowed the URL that came next, whichever it was;
3. a mixed scenario with locust (headless, `--users` for `--locust-seconds`): customers
   polling their order's status every 2-4 s with its ETag or holding its socket, staff placing,
   confirming and preparing orders, couriers posting positions.

Every server is stopped before the next starts and at the end. wrk and nginx come from Debian
(scripts/_system_packages.sh installs them).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from _setup import (
    ROOT,
    cpu_seconds,
    database_url,
    scratch_database,
    session_pids,
    stop_session,
    wait_until_idle,
    wait_until_ready,
)
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken

from delivery.models import CourierProfile
from orders.services.placing import OrderLine, order_place
from restaurants.models import MenuItem, Restaurant, StaffMembership
from tests.tracking.live import free_port

VENV_BIN = Path(sys.executable).parent
ORDERS = 200
COURIERS = 100
TOKEN_LIFETIME = timedelta(hours=2)

WRK_SCRIPT = r"""
local requests = {}
local index = 0
local lines = {}
for line in io.lines(os.getenv("BENCH_REQUESTS")) do table.insert(lines, line) end
function init(args)
  for _, line in ipairs(lines) do
    local path, token, etag = line:match("^(%S+) (%S+) ?(%S*)$")
    local headers = {["Authorization"] = "Bearer " .. token}
    if etag ~= "" then headers["If-None-Match"] = etag end
    table.insert(requests, wrk.format("GET", path, headers))
  end
end
function request()
  index = index % #requests + 1
  return requests[index]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH {\"requests\": %d, \"seconds\": %.3f, \"p50\": %.3f, \"p99\": %.3f, \"errors\": %d, \"bytes\": %d}\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout + e.status, summary.bytes))
end
"""


def build() -> dict:
    users = get_user_model().objects
    restaurant = Restaurant.objects.create(
        name="Bench Kitchen", address="1 Bench Street", latitude=Decimal("37.7749"), longitude=Decimal("-122.4194")
    )
    item = MenuItem.objects.create(restaurant=restaurant, name="Bench Pizza", price=Decimal("12.00"))
    staff = users.create_user(username="bench-staff")
    StaffMembership.objects.create(user=staff, restaurant=restaurant)
    admin = users.create_superuser(username="bench-admin", password=None)
    orders = []
    for n in range(ORDERS):
        customer = users.create_user(username=f"bench-customer-{n}")  # signed in by token: no hashing
        order = order_place(
            customer=customer,
            restaurant_id=restaurant.pk,
            lines=[OrderLine(menu_item_id=item.pk, quantity=1)],
            delivery_type="pickup",
            payment_method="cod",
        )
        orders.append({"id": str(order.pk), "token": token(customer), "etag": f'"{order.pk}:{order.sequence}"'})
    couriers = []
    for n in range(COURIERS):
        courier = users.create_user(username=f"bench-courier-{n}")
        CourierProfile.objects.create(user=courier, is_online=True)
        couriers.append(token(courier))
    return {
        "orders": orders,
        "couriers": couriers,
        "staff": token(staff),
        "admin": token(admin),
        "restaurant": str(restaurant.pk),
        "item": str(item.pk),
    }


def token(user) -> str:
    access = AccessToken.for_user(user)
    access.set_exp(lifetime=TOKEN_LIFETIME)
    return str(access)


def server_env(database: str) -> dict:
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="bench.baseline_settings",
        DATABASE_URL=database_url(database),
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        ORDERFLOW_JWT_SIGNING_KEY=settings.SIMPLE_JWT["SIGNING_KEY"],
        ORDERFLOW_OTP_SECRET="bench-otp-secret",
        ORDERFLOW_PAYMENT_WEBHOOK_SECRET="bench-webhook-secret",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",  # plain HTTP on loopback, as scripts/serve-production serves it
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )


class Server:
    """A server process (group) on a free port, stopped with SIGTERM, then SIGKILL."""

    def __init__(self, command: list[str], env: dict, port: int, what: str) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="orderflow-bench-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.url = f"http://127.0.0.1:{port}"
        self.what = what
        try:
            wait_until_ready(f"{self.url}/bench/constant/", self.process, what)
            self.wait_until_answering()
        except BaseException as error:
            output = Path(self.log.name).read_text(errors="replace")[-3000:]
            self.stop()
            raise RuntimeError(f"{error}; its output ends with:\n{output}") from error

    def cpu_seconds(self) -> float:
        """CPU time used so far by the processes of this server's session (the script and
        everything it started: nginx, the HTTP workers, the WebSocket processes)."""
        return cpu_seconds(session_pids(self.process.pid))

    def settle(self) -> None:
        """Until the server's processes are idle: the requests a finished wrk run left queued have
        been served."""
        wait_until_idle(lambda: session_pids(self.process.pid))

    def wait_until_answering(self, seconds: float = 300) -> None:
        """Until every worker answers (they fork and load Django after the socket is bound)."""
        give_up = time.monotonic() + seconds
        answered = 0
        while answered < 20:
            if time.monotonic() > give_up:
                raise RuntimeError(f"{self.what} does not answer")
            try:
                answered += urllib.request.urlopen(f"{self.url}/bench/constant/", timeout=10).status == 200
            except OSError:
                time.sleep(0.2)

    def stop(self) -> None:
        stop_session(self.process)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def candidates(port: int) -> dict[str, list[str]]:
    cores = str(os.cpu_count())
    return {
        "daphne (ASGI), 1 process": [
            str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application",
        ],
        f"granian (WSGI), {cores} workers x 2 threads": [
            str(VENV_BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", cores, "--blocking-threads", "2", "--backlog", "4096", "config.wsgi:application",
        ],
        f"gunicorn (WSGI), {cores} sync workers": [
            str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", cores, "--backlog", "4096",
            "config.wsgi:application",
        ],
    }  # fmt: skip


def wrk(url: str, lines: list[str], *, seconds: float, connections: int, server: "Server | None" = None) -> dict:
    """wrk's figures for `lines`; with `server`, also the CPU time its processes spent per answer."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as requests_file:
        requests_file.write("\n".join(lines) + "\n")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    cpu_before = server.cpu_seconds() if server else 0.0
    try:
        output = subprocess.run(
            ["wrk", f"-t{min(4, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
             "--timeout", "5s", "-s", script.name, url],
            env=dict(os.environ, BENCH_REQUESTS=requests_file.name),
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
    finally:
        os.unlink(requests_file.name)
        os.unlink(script.name)
    result = json.loads(re.findall(r"^BENCH (.*)$", output, re.M)[0])
    result["rps"] = result["requests"] / result["seconds"]
    result["bytes_each"] = result["bytes"] / max(1, result["requests"])
    if server:
        result["cpu_us_each"] = (server.cpu_seconds() - cpu_before) / max(1, result["requests"]) * 1e6
    return result


def merged(rounds: list[dict]) -> dict:
    """One URL's figures over its rounds: totals for the counts, medians for the percentiles."""
    result = {key: sum(one[key] for one in rounds) for key in ("requests", "seconds", "errors", "bytes")}
    result["p50"] = statistics.median(one["p50"] for one in rounds)
    result["p99"] = statistics.median(one["p99"] for one in rounds)
    result["rps"] = result["requests"] / result["seconds"]
    result["bytes_each"] = result["bytes"] / max(1, result["requests"])
    cpu = sum(one["cpu_us_each"] * one["requests"] for one in rounds)
    result["cpu_us_each"] = cpu / max(1, result["requests"])
    return result


# URLs whose answers take hundreds of milliseconds under wrk's 64 connections.
SLOW_URLS = frozenset({"naive DRF retrieve (baseline)", "lean status through the database (admin)"})


def url_sets(data: dict) -> dict[str, list[str]]:
    orders = data["orders"]
    return {
        "Django view, constant JSON (baseline)": [f"/bench/constant/ {data['admin']}"],
        "naive DRF retrieve (baseline)": [f"/bench/naive/{o['id']}/ {o['token']}" for o in orders],
        "lean status, 200": [f"/api/orders/{o['id']}/status/ {o['token']}" for o in orders],
        "lean status, If-None-Match: 304": [f"/api/orders/{o['id']}/status/ {o['token']} {o['etag']}" for o in orders],
        "lean status through the database (admin)": [f"/api/orders/{o['id']}/status/ {data['admin']}" for o in orders],
    }


def row(name: str, result: dict) -> str:
    return (
        f"| {name} | {result['rps']:,.0f} | {result['p50']:.1f} | {result['p99']:.1f} | {result['errors']} "
        f"| {result['requests']:,} | {result['cpu_us_each']:,.0f} | {result['bytes_each']:,.0f} |"
    )


def locust(url: str, data: dict, *, users: int, seconds: int) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as data_file:
        json.dump(data, data_file)
    # locust creates its CSV files under this prefix itself; nothing is opened by this name here.
    prefix = tempfile.mktemp(prefix="orderflow-locust-")  # noqa: S306
    try:
        subprocess.run(
            [str(VENV_BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--host", url,
             "-u", str(users), "-r", str(max(1, users // 5)), "-t", f"{seconds}s", "--csv", prefix,
             "--only-summary", "--stop-timeout", "5", "--loglevel", "WARNING"],
            env=dict(os.environ, BENCH_DATA=data_file.name), capture_output=True, text=True, timeout=seconds + 120,
        )  # fmt: skip
        return Path(f"{prefix}_stats.csv").read_text()
    finally:
        os.unlink(data_file.name)
        for suffix in ("_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv"):
            Path(f"{prefix}{suffix}").unlink(missing_ok=True)


def locust_table(csv_text: str, seconds: int) -> list[str]:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(csv_text)))
    lines = ["| request | count | failures | req/s | p50 ms | p99 ms |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(
            f"| {r['Type']} {r['Name']} | {r['Request Count']} | {r['Failure Count']} | "
            f"{float(r['Requests/s']):.1f} | {r['50%']} | {r['99%']} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--rounds",
        type=int,
        default=6,
        help="turns each URL of the production topology takes (by default a multiple of 3 and of 2: every fast "
        "URL, and every slow one, comes first, second, ... equally often)",
    )
    parser.add_argument("--compare-seconds", type=float, default=4)
    parser.add_argument("--users", type=int, default=150)
    parser.add_argument("--locust-seconds", type=int, default=30)
    parser.add_argument("--skip-comparison", action="store_true")
    args = parser.parse_args()
    if not settings.REDIS_URL:
        sys.exit("set REDIS_URL: production serves from Redis")

    with scratch_database() as database:
        data = build()
        sets = url_sets(data)
        env = server_env(database)
        print(f"{ORDERS} orders in {database}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")

        if not args.skip_comparison:
            print(
                f"\n### Server choice: alone, no proxy, wrk {args.connections} connections, "
                f"{args.compare_seconds:g} s per URL"
            )
            print("\n| server | constant JSON req/s | p99 ms | lean status req/s | p99 ms | errors |")
            print("| --- | --- | --- | --- | --- | --- |")
            for name in candidates(0):
                port = free_port()
                server = Server(candidates(port)[name], env, port, name)
                try:
                    for warm_up in ("Django view, constant JSON (baseline)", "lean status, 200"):
                        wrk(server.url, sets[warm_up], seconds=1, connections=args.connections)
                    constant = wrk(server.url, sets["Django view, constant JSON (baseline)"],
                                   seconds=args.compare_seconds, connections=args.connections)  # fmt: skip
                    lean = wrk(server.url, sets["lean status, 200"],
                               seconds=args.compare_seconds, connections=args.connections)  # fmt: skip
                finally:
                    server.stop()
                print(
                    f"| {name} | {constant['rps']:,.0f} | {constant['p99']:.1f} | {lean['rps']:,.0f} | "
                    f"{lean['p99']:.1f} | {constant['errors'] + lean['errors']} |"
                )

        port = free_port()
        run_dir = tempfile.mkdtemp(prefix="orderflow-bench-run-")
        topology_env = dict(
            env,
            ORDERFLOW_LISTEN=f"127.0.0.1:{port}",
            ORDERFLOW_RUN_DIR=run_dir,
            ORDERFLOW_MIGRATE="0",
            ORDERFLOW_SERVE_WORKER="0",
        )
        server = Server([str(ROOT / "scripts" / "serve-production")], topology_env, port, "serve-production")
        try:
            print(f"\n### Production topology (nginx, granian, daphne): wrk {args.connections} connections, "
                  f"{args.rounds} rounds of {args.seconds:g} s per URL, the URLs taking turns")  # fmt: skip
            rounds: dict[str, list[dict]] = {name: [] for name in sets}
            # The fast URLs take turns first, then the slow ones (SLOW_URLS): a slow URL's 64
            # connections leave the server a backlog, and its worker processes a large heap to
            # collect, that slowed whatever URL ran next even after the server was idle again.
            fast = [name for name in sets if name not in SLOW_URLS]
            for group in (fast, [name for name in sets if name in SLOW_URLS]):
                for name in group:
                    # Steady state: each worker process has checked these tokens and users once.
                    wrk(server.url, sets[name], seconds=1, connections=args.connections)
                for turn in range(args.rounds):
                    for name in group[turn % len(group) :] + group[: turn % len(group)]:
                        server.settle()
                        rounds[name].append(
                            wrk(
                                server.url,
                                sets[name],
                                seconds=args.seconds,
                                connections=args.connections,
                                server=server,
                            )
                        )
            results = {name: merged(each) for name, each in rounds.items()}
            print("\n| URL | req/s | p50 ms | p99 ms | errors | requests | server CPU µs each | bytes each |")
            print("| --- | --- | --- | --- | --- | --- | --- | --- |")
            for name, result in results.items():
                print(row(name, result))
            for name, each in rounds.items():
                print(f"p99 of each round, {name}: " + ", ".join(f"{one['p99']:.1f} ms" for one in each))
            lean, constant = results["lean status, 200"], results["Django view, constant JSON (baseline)"]
            not_modified = results["lean status, If-None-Match: 304"]
            naive = results["naive DRF retrieve (baseline)"]
            errors = sum(result["errors"] for result in results.values())
            print(
                "\nagainst the constant view measured in this run: "
                f"lean status 200 {lean['rps'] / constant['rps']:.2f}x its req/s (target >= 0.9), "
                f"p99 {lean['p99'] / constant['p99']:.2f}x its p99 (target <= 1.2); "
                f"304 {not_modified['rps'] / constant['rps']:.2f}x its req/s (target >= 1.0), "
                f"p99 {not_modified['p99'] / constant['p99']:.2f}x; errors {errors} (target 0)"
            )
            print(
                f"lean status: {lean['rps'] / constant['rps']:.2f}x the constant view, "
                f"{lean['rps'] / naive['rps']:.1f}x the naive retrieve; "
                f"304: {not_modified['rps'] / lean['rps']:.2f}x the 200's req/s, "
                f"{not_modified['cpu_us_each'] / lean['cpu_us_each']:.2f}x its server CPU time per answer, "
                f"{not_modified['bytes_each'] / lean['bytes_each']:.2f}x its bytes"
            )

            print(f"\n### Mixed scenario: locust, {args.users} users, {args.locust_seconds} s, through nginx\n")
            for line in locust_table(locust(server.url, data, users=args.users, seconds=args.locust_seconds),
                                     args.locust_seconds):  # fmt: skip
                print(line)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
