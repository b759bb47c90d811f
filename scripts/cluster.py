"""Several hosts on this machine: Linux network namespaces joined by a bridge (scripts/cluster).

    scripts/cluster up | down | deploy | status | test

Every host is a network namespace with one address on a bridge (scripts/cluster_hosts.py: the
namespaces, the processes started in them and the state that remembers both); each part is started
by scripts/cluster_parts.py; this module runs the commands.

    lb      .10  HAProxy on :80: health checks on /health/, round robin for HTTP, leastconn for /ws/
    web1    .11  granian (WSGI, :8000) and config.websocket_server (:8001), as scripts/serve-production
    web2    .12  the same
    worker  .13  a Celery worker and a beat (celery-redbeat: only the holder of the lock schedules)
    beat    .14  the second beat, waiting for the lock
    db      .20  PostgreSQL 15 (its own data folder, :5432) and PgBouncer in transaction pooling (:6432)
    redis1  .21  the Redis primary (:6379) and a sentinel (:26379)
    redis2  .22  its replica and a sentinel
    redis3  .23  a third sentinel

The application reaches PostgreSQL through PgBouncer and Redis through the sentinels (the broker,
the cache, the channel layer, the status snapshots and beat's lock all follow a failover).
`deploy` restarts the web hosts one at a time: drained in HAProxy, stopped (sockets closed with
1012, in-flight requests finished), started, checked, put back. `down` stops every process this
script started, then deletes the namespaces (whatever still runs in them) and the bridge; the state
(logs, pids, data) is under ORDERFLOW_CLUSTER_DIR (default .cluster/ and a folder in /tmp).
"""

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from cluster_hosts import (
    STATE_DIR,
    STATE_FILE,
    VENV_BIN,
    WEB_HOSTS,
    address,
    alive,
    lb_url,
    load_state,
    network_down,
    network_up,
    save_state,
    start,
    stop,
    wait_listening,
)
from cluster_parts import (
    app_env,
    beat_start,
    haproxy_config,
    haproxy_servers,
    pgbouncer_config,
    pgbouncer_start,
    postgres_up,
    redis_primary,
    redis_up,
    server_state,
    wait_servers_up,
    web_start,
    web_stop,
    worker_start,
)


def up() -> dict:
    state = load_state()
    if state["namespaces"] or state["processes"]:
        sys.exit("cluster: already up (scripts/cluster down first)")
    shutil.rmtree(STATE_DIR / "logs", ignore_errors=True)  # a previous run's
    data_dir = tempfile.mkdtemp(prefix="orderflow-cluster-")
    os.chmod(data_dir, 0o755)  # noqa: S103 -- PostgreSQL and PgBouncer run as the postgres user
    state.update(
        data_dir=data_dir,
        secrets={
            "secret_key": secrets.token_urlsafe(48),
            "jwt": secrets.token_urlsafe(48),
            "otp": secrets.token_urlsafe(32),
            "webhook": "cluster",
        },
    )
    save_state(state)
    STATE_FILE.chmod(0o600)
    try:
        network_up(state)
        postgres_up(state)
        pgbouncer_config(state)
        pgbouncer_start(state)
        redis_up(state)
        env = app_env(state, direct_db=True)
        subprocess.run([str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"], env=env, check=True)
        subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"], env=env, check=True
        )
        for host in WEB_HOSTS:
            web_start(state, host)
        worker_start(state)
        beat_start(state, "worker")
        beat_start(state, "beat")
        start(state, "haproxy", "lb", ["/usr/sbin/haproxy", "-W", "-db", "-f", str(haproxy_config(state))])
        wait_listening("lb", 80)
        wait_servers_up()
    except BaseException:
        print(f"cluster: up failed; logs in {STATE_DIR / 'logs'}; taking everything down", file=sys.stderr)
        down()
        raise
    print(f"cluster: up, {lb_url()}/ (HAProxy on {address('lb')}; logs in {STATE_DIR / 'logs'})")
    return state


def down() -> None:
    state = load_state()
    for name in list(state["processes"]):
        entry = state["processes"][name]
        try:
            os.killpg(entry["pgid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    for name in list(state["processes"]):
        stop(state, name, grace=10)
    network_down(state)
    if state.get("data_dir"):
        shutil.rmtree(state["data_dir"], ignore_errors=True)
        state["data_dir"] = None
    save_state(state)
    STATE_FILE.unlink(missing_ok=True)
    print("cluster: down")


def deploy(state: dict | None = None, *, log=print) -> list[dict]:
    """Restart the web hosts one at a time; what each step took."""
    state = state or load_state()
    steps = []
    for host in WEB_HOSTS:
        started = time.monotonic()
        # Drain: no new request or socket goes to the host; those under way go on.
        server_state(host, "drain")
        give_up = time.monotonic() + 30
        while int(haproxy_servers()[("http", host)]["scur"] or 0) > 0 and time.monotonic() < give_up:
            time.sleep(0.1)
        server_state(host, "maint")
        drained = time.monotonic()
        # Stop: granian finishes what it has; the socket server closes every socket with 1012 and
        # its clients reconnect, through HAProxy, to the other host.
        web_stop(state, host)
        stopped = time.monotonic()
        web_start(state, host)
        server_state(host, "ready")
        give_up = time.monotonic() + 30
        while any(haproxy_servers()[(b, host)]["status"] != "UP" for b in ("http", "sockets")):
            if time.monotonic() > give_up:
                raise RuntimeError(f"cluster: {host} did not come back up in HAProxy")
            time.sleep(0.2)
        steps.append(
            {
                "host": host,
                "drain_s": round(drained - started, 2),
                "stop_s": round(stopped - drained, 2),
                "start_s": round(time.monotonic() - stopped, 2),
            }
        )
        log(f"deploy: {host} drained in {steps[-1]['drain_s']} s, stopped in {steps[-1]['stop_s']} s, "
            f"back in {steps[-1]['start_s']} s")  # fmt: skip
    return steps


def status() -> None:
    state = load_state()
    for name, entry in sorted(state["processes"].items()):
        print(f"{name:20} {entry['host']:8} {'running' if alive(entry['pgid']) else 'stopped'}")
    if state["processes"].get("haproxy"):
        for (backend, server), row in sorted(haproxy_servers().items()):
            print(f"haproxy {backend}/{server}: {row['status']} ({row['scur']} now)")
    print(f"redis primary: {redis_primary()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "deploy", "status"])
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("cluster: needs root (network namespaces)")
    if args.command == "up":
        up()
    elif args.command == "down":
        down()
    elif args.command == "deploy":
        deploy()
    else:
        status()


if __name__ == "__main__":
    main()
