"""A soak run: the production topology under the mixed scenario for a set duration.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderflow REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/soak.py [--duration 1800] [--users 40] [--sample-seconds 10]

In a scratch database (`<name>_bench`, bench/_setup.py) with the accounts and orders of
bench/serving.py, `scripts/serve-production` runs nginx, granian and the WebSocket processes with
production settings (no Celery worker or beat, as bench/serving.py runs it); locust runs bench/locustfile.py's mixed
scenario (polling customers, socket holders, a kitchen placing and confirming orders, couriers
posting positions) for `--duration` seconds, and a prober reads one order's lean status every
0.2 s. Every `--sample-seconds` the run samples the resident memory (RSS) of every process of the
topology, the open PostgreSQL connections to the scratch database, Redis's used memory and the
prober's p99 over the window.

It reports the 5xx answers (nginx's access log: every request of the run), the drift of each
process's RSS from its value at the end of the warm-up (`--warmup`, a quarter of the run up to
120 s) to the end of the run, and the most PostgreSQL connections seen against what the
configured pools allow (ORDERFLOW_DB_POOL_MAX_SIZE per process that holds a pool). It exits 1
when there was a 5xx, a process drifted more than 10%, or the connections went above the pools.
Figures go to stdout (markdown) and, with `--json`, to a file. `.ci/run` runs two minutes of it.
"""

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis
import requests
from _setup import ROOT, scratch_database, session_pids
from django.db import connection
from serving import Server, build, locust, locust_table, server_env

from tests.tracking.live import free_port

DRIFT_LIMIT = 0.10
POOL_MAX_SIZE = 4
HTTP_WORKERS = 2
WS_PROCESSES = 2
STATUS = re.compile(r'" (\d{3}) ')


def process_name(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    for marker, name in (
        ("nginx: master", "nginx master"),
        ("nginx: worker", "nginx worker"),
        ("granian", "granian"),
        ("config.websocket_server", "websocket"),
        ("celery -A config worker", "celery worker"),
        ("celery -A config beat", "celery beat"),
        ("serve-production", "serve-production"),
    ):
        if marker in command:
            return name
    if "celery" in command:
        return "celery worker"
    return command.split(" ")[0].rsplit("/", 1)[-1]


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def pool_bound() -> tuple[int, str]:
    """The PostgreSQL connections the configured pools allow: a pool per granian worker and per
    WebSocket process."""
    holders = HTTP_WORKERS + WS_PROCESSES
    return holders * POOL_MAX_SIZE, f"{holders} processes x {POOL_MAX_SIZE}"


class Prober(threading.Thread):
    """The lean status of one order every 0.2 s: latencies per sampling window, and any 5xx."""

    def __init__(self, url: str, order: dict, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.order, self.stop = f"{url}/api/orders/{order['id']}/status/", order, stop
        self.window: list[float] = []
        self.lock = threading.Lock()
        self.statuses: dict[str, int] = {}

    def run(self) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {self.order['token']}"}
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                status = str(session.get(self.url, headers=headers, timeout=10).status_code)
            except requests.RequestException as error:
                status = type(error).__name__
            with self.lock:
                self.window.append((time.perf_counter() - started) * 1000)
                self.statuses[status] = self.statuses.get(status, 0) + 1
            self.stop.wait(0.2)

    def take_window(self) -> list[float]:
        with self.lock:
            window, self.window = self.window, []
        return window


def p99(values: list[float]) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100)[98]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=1800, help="seconds of load (CI: 120)")
    parser.add_argument("--users", type=int, default=40, help="locust users")
    parser.add_argument("--sample-seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, help="seconds before the RSS baseline (default: a quarter, <= 120)")
    parser.add_argument("--json", help="write the figures to this file too")
    args = parser.parse_args()
    warmup = args.warmup if args.warmup is not None else min(120.0, args.duration / 4)
    redis_client = redis.Redis.from_url(os.environ["REDIS_URL"])

    with scratch_database() as database:
        data = build()
        port = free_port()
        run_dir = Path(tempfile.mkdtemp(prefix="orderflow-soak-"))
        environment = dict(
            server_env(database),
            ORDERFLOW_LISTEN=f"127.0.0.1:{port}",
            ORDERFLOW_RUN_DIR=str(run_dir),
            ORDERFLOW_MIGRATE="0",
            # As bench/serving.py runs it: the Celery worker and beat are left out (their effects
            # wait in the broker); the soak covers nginx, granian and the WebSocket processes.
            ORDERFLOW_SERVE_WORKER="0",
            ORDERFLOW_HTTP_WORKERS=str(HTTP_WORKERS),
            ORDERFLOW_WS_PROCESSES=str(WS_PROCESSES),
            ORDERFLOW_DB_POOL_MAX_SIZE=str(POOL_MAX_SIZE),
            ORDERFLOW_WORKER_LOGLEVEL="WARNING",
        )
        server = Server([str(ROOT / "scripts" / "serve-production")], environment, port, "serve-production")
        stop = threading.Event()
        prober = Prober(server.url, data["orders"][0], stop)
        samples: list[dict] = []
        locust_csv: dict[str, str] = {}

        def run_locust() -> None:
            locust_csv["stats"] = locust(server.url, data, users=args.users, seconds=args.duration)

        load = threading.Thread(target=run_locust, daemon=True)
        started = time.monotonic()
        try:
            prober.start()
            load.start()
            while time.monotonic() - started < args.duration:
                stop.wait(args.sample_seconds)
                pids = session_pids(server.process.pid)
                with connection.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database])
                    pg_connections = cursor.fetchone()[0]
                samples.append(
                    {
                        "at": round(time.monotonic() - started, 1),
                        "rss_kib": {f"{process_name(pid)} {pid}": rss_kib(pid) for pid in pids if rss_kib(pid)},
                        "pg_connections": pg_connections,
                        "redis_used_memory": redis_client.info("memory")["used_memory"],
                        "p99_ms": p99(prober.take_window()),
                    }
                )
            load.join(timeout=180)
        finally:
            stop.set()
            prober.join(15)
            access_log = (
                (run_dir / "access.log").read_text(errors="replace") if (run_dir / "access.log").exists() else ""
            )
            server.stop()
        connection.close()

    statuses: dict[str, int] = {}
    for line in access_log.splitlines():
        match = STATUS.search(line)
        if match:
            statuses[match.group(1)] = statuses.get(match.group(1), 0) + 1
    server_errors = sum(count for status, count in statuses.items() if status.startswith("5"))

    baseline = next((s for s in samples if s["at"] >= warmup), samples[0])
    last = samples[-1]
    drift = {}
    for name, start in baseline["rss_kib"].items():
        end = last["rss_kib"].get(name)
        if end is not None and start:
            drift[name] = {"after_warmup_kib": start, "end_kib": end, "drift": (end - start) / start}
    bound, bound_text = pool_bound()
    most_connections = max(s["pg_connections"] for s in samples)
    p99s = [s["p99_ms"] for s in samples if s["p99_ms"] is not None]
    failed = server_errors > 0 or most_connections > bound or any(d["drift"] > DRIFT_LIMIT for d in drift.values())

    mib = 2**20
    redis_memory = [s["redis_used_memory"] for s in samples]
    lines = [
        f"## Soak: {args.duration} s, {args.users} locust users, samples every {args.sample_seconds:g} s",
        "",
        f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"RSS baseline at {baseline['at']} s",
        "",
        f"requests through nginx: {sum(statuses.values())}, by status {dict(sorted(statuses.items()))}; "
        f"**5xx: {server_errors}**",
        f"prober: {dict(sorted(prober.statuses.items()))}; p99 per window: "
        + (f"median {statistics.median(p99s):.0f} ms, worst {max(p99s):.0f} ms" if p99s else "none"),
        f"PostgreSQL connections: at most **{most_connections}** (pools allow {bound}: {bound_text})",
        f"Redis used memory: {redis_memory[0] / mib:.1f} MiB at the first sample, "
        f"{redis_memory[-1] / mib:.1f} MiB at the last, at most {max(redis_memory) / mib:.1f} MiB",
        "",
        "| process | RSS after warm-up MiB | RSS at the end MiB | drift |",
        "| --- | --- | --- | --- |",
    ]
    for name, figures in sorted(drift.items()):
        start, end = figures["after_warmup_kib"] / 1024, figures["end_kib"] / 1024
        lines.append(f"| {name} | {start:.1f} | {end:.1f} | {figures['drift'] * 100:+.1f}% |")
    if "stats" in locust_csv:
        lines += ["", "locust:", "", *locust_table(locust_csv["stats"], args.duration)]
    verdict = "FAILED" if failed else "passed"
    lines += ["", f"{verdict}: 0 x 5xx, RSS within {DRIFT_LIMIT:.0%} after the warm-up, connections within the pools"]
    print("\n".join(lines))
    if args.json:
        figures = {"statuses": statuses, "server_errors": server_errors, "drift": drift, "pg_bound": bound}
        Path(args.json).write_text(json.dumps({**figures, "samples": samples}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
