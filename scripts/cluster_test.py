"""scripts/cluster test: the namespaced cluster (scripts/cluster.py) through its failures, under load.

    scripts/cluster test [--sockets 1000] [--orders 50] [--case deploy --case kill-web ...]

Brings the cluster up, seeds it, and runs each case under the same load (scripts/cluster_load.py): the mixed locust
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
import itertools
import json
import os
import resource
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster
import cluster_hosts as hosts
import cluster_parts as parts
from cluster_load import Case, seed

SWEEP_INTERVAL = 5.0  # ORDERFLOW_SWEEP_INTERVAL_SECONDS, the beat interval the beat case checks
STOPPED: list[str] = []  # why the run was cut short (its --timeout, a SIGTERM), once it was


# --- the disruptions ------------------------------------------------------------------------------


def disrupt_deploy(case: Case) -> dict:
    steps = cluster.deploy(case.state, log=lambda line: print(f"  {line}", flush=True))
    return {"steps": steps}


def wait_haproxy_down(host: str, since: float, seconds: float = 15) -> float:
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        rows = parts.haproxy_servers()
        if all(rows[(backend, host)]["status"].startswith("DOWN") for backend in ("http", "sockets")):
            return time.time() - since
        time.sleep(0.05)
    raise AssertionError(f"HAProxy still sends to {host} {seconds} s after it died")


def disrupt_kill_web(case: Case) -> dict:
    host = "web2"
    killed_at = time.time()
    parts.web_stop(case.state, host, sig=signal.SIGKILL)
    marked_down = wait_haproxy_down(host, killed_at)
    time.sleep(8)  # the load runs on one host
    parts.web_start(case.state, host)
    parts.wait_servers_up()
    return {"killed_at": killed_at, "marked_down_after_s": round(marked_down, 2)}


def disrupt_kill_redis(case: Case) -> dict:
    old = parts.redis_primary()
    assert old is not None, "the sentinels name no Redis primary"
    replica = "redis2" if old == "redis1" else "redis1"
    killed_at = time.time()
    hosts.stop(case.state, f"redis-{old}", sig=signal.SIGKILL, grace=1)
    give_up = time.monotonic() + 60
    while parts.redis_primary() != replica:
        if time.monotonic() > give_up:
            raise AssertionError("the sentinels promoted no replica within 60 s")
        time.sleep(0.1)
    promoted = time.time() - killed_at
    # Tasks sent after the failover run: the beat's next sweeps reach the worker.
    time.sleep(12)
    # The old primary comes back as a replica of the new one (the sentinels would tell it so too).
    parts.redis_start(case.state, old, replica_of=replica)
    return {"killed": old, "promoted": replica, "killed_at": killed_at, "promoted_after_s": round(promoted, 2)}


def beat_sends(host: str) -> list[tuple[float, str]]:
    """(when, entry) of every periodic task the beat on `host` sent, from its log."""
    sends = []
    for line in (hosts.STATE_DIR / "logs" / f"beat-{host}.log").read_text(errors="replace").splitlines():
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
    hosts.stop(case.state, f"beat-{leader}", sig=signal.SIGKILL, grace=1)
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
    parts.beat_start(case.state, leader)  # back, waiting for the lock
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
    hosts.stop(case.state, "pgbouncer", grace=5)
    time.sleep(2)
    parts.pgbouncer_start(case.state)
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
        worker_log = (hosts.STATE_DIR / "logs" / "worker.log").read_text(errors="replace")
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
        if STOPPED:  # a case interrupted by the run's bound is failed; the others are not started
            failed.append(f"{name}: not run, the test was {STOPPED[0]}")
            continue
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

    # The whole run is bounded: past --timeout the cluster is taken down and the run fails. So is
    # a run stopped from outside (SIGTERM, as `timeout` and CI runners send).
    def out_of_time(*_):
        STOPPED.append(f"over {args.timeout} s")
        raise TimeoutError(f"cluster test: over {args.timeout} s")

    def stopped(*_):
        STOPPED.append("stopped (SIGTERM)")
        raise TimeoutError("cluster test: stopped (SIGTERM)")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.signal(signal.SIGTERM, stopped)
    signal.alarm(int(args.timeout))
    if hosts.STATE_FILE.exists():
        cluster.down()  # what a previous run left
    failed = ["did not finish"]
    results: list[dict] = []
    started = time.monotonic()
    try:
        state = cluster.up()
        data_file = hosts.STATE_DIR / "data.json"
        subprocess.run(
            [str(hosts.VENV_BIN / "python"), __file__, "--seed", str(data_file)],
            env=parts.app_env(state, direct_db=True), check=True, cwd=hosts.ROOT,
        )  # fmt: skip
        data = json.loads(data_file.read_text())
        results, failed = asyncio.run(run_cases(args, state, data))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the cluster goes down whatever comes now
        hosts.STATE_DIR.mkdir(exist_ok=True)
        (hosts.STATE_DIR / "results.json").write_text(json.dumps(results, indent=1))
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
