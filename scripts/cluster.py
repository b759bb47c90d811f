"""Several hosts on this machine: Linux network namespaces joined by a bridge (scripts/cluster).

    scripts/cluster up | down | deploy | status | test

Every host is a network namespace `ofc-<host>` with one address in ORDERFLOW_CLUSTER_NET (a /24,
default 10.231.77.0/24) on the bridge `ofc-br0`; the bridge's own address (.1) is this machine's
way in. No namespace has a default route and nothing forwards or translates addresses: the hosts
reach each other and nothing else.

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
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("ORDERFLOW_CLUSTER_DIR", ROOT / ".cluster")).resolve()
STATE_FILE = STATE_DIR / "state.json"
NET = ipaddress.ip_network(os.environ.get("ORDERFLOW_CLUSTER_NET", "10.231.77.0/24"))
PREFIX = "ofc-"
BRIDGE = f"{PREFIX}br0"
HOSTS = {"lb": 10, "web1": 11, "web2": 12, "worker": 13, "beat": 14, "db": 20, "redis1": 21, "redis2": 22, "redis3": 23}
WEB_HOSTS = ("web1", "web2")
SENTINEL_HOSTS = ("redis1", "redis2", "redis3")
HTTP_PORT, WS_PORT, PG_PORT, BOUNCER_PORT, REDIS_PORT, SENTINEL_PORT = 8000, 8001, 5432, 6432, 6379, 26379
MASTER_NAME = "orderflow"
PG_BIN = Path(os.environ.get("ORDERFLOW_PG_BIN", "/usr/lib/postgresql/15/bin"))
VENV_BIN = ROOT / ".venv" / "bin"
# How often HAProxy checks each server, and after how many failures it stops sending to it.
CHECK_INTER_MS, CHECK_FAST_INTER_MS, CHECK_FALL, CHECK_RISE = 1000, 300, 3, 2


def address(host: str) -> str:
    if NET.prefixlen != 24 or not NET.is_private:
        sys.exit("ORDERFLOW_CLUSTER_NET must be a private /24")
    return str(NET.network_address + HOSTS[host])


def bridge_address() -> str:
    return str(NET.network_address + 1)


def lb_url() -> str:
    return f"http://{address('lb')}"


def run(*command: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip() or result.stdout.strip()}")
    return result


# --- state --------------------------------------------------------------------------------------


def load_state() -> dict:
    if STATE_FILE.exists():
        return json.loads(STATE_FILE.read_text())
    return {"namespaces": [], "links": [], "processes": {}, "data_dir": None}


def save_state(state: dict) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    tmp.replace(STATE_FILE)


# --- network ------------------------------------------------------------------------------------


def network_up(state: dict) -> None:
    taken = run("ip", "-4", "route", "show", str(NET)).stdout.strip()
    if taken:
        sys.exit(f"cluster: {NET} is already routed on this machine ({taken}); set ORDERFLOW_CLUSTER_NET")
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    state["links"].append(BRIDGE)
    save_state(state)
    run("ip", "addr", "add", f"{bridge_address()}/24", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    for host in HOSTS:
        namespace, veth = f"{PREFIX}{host}", f"{PREFIX}{host}"
        run("ip", "netns", "add", namespace)
        state["namespaces"].append(namespace)
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace)
        state["links"].append(veth)
        save_state(state)
        run("ip", "link", "set", veth, "master", BRIDGE)
        run("ip", "link", "set", veth, "up")
        run("ip", "netns", "exec", namespace, "ip", "addr", "add", f"{address(host)}/24", "dev", "eth0")
        run("ip", "netns", "exec", namespace, "ip", "link", "set", "eth0", "up")
        run("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up")


def network_down(state: dict) -> None:
    for namespace in state["namespaces"]:
        # Whatever still runs in a namespace of ours (nothing should, by now) goes with it.
        pids = run("ip", "netns", "pids", namespace, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        run("ip", "netns", "del", namespace, check=False)
    for link in reversed(state["links"]):
        if run("ip", "link", "show", link, check=False).returncode == 0:
            run("ip", "link", "del", link, check=False)
    state["namespaces"], state["links"] = [], []


# --- processes ----------------------------------------------------------------------------------


def start(state: dict, name: str, host: str, command: list[str], *, env: dict | None = None, user: str = "") -> int:
    """Start `command` on `host` in a process group of its own, logging to <state>/logs/<name>.log."""
    logs = STATE_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    prefix = ["ip", "netns", "exec", f"{PREFIX}{host}"]
    if user:
        prefix += ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups"]
    with open(logs / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            [*prefix, *command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env or os.environ.copy(),
            start_new_session=True,
        )
    state["processes"][name] = {"host": host, "pgid": process.pid}
    save_state(state)
    return process.pid


def alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def stop(state: dict, name: str, *, sig: int = signal.SIGTERM, grace: float = 15.0) -> None:
    """Signal a process group, wait up to `grace` seconds, then kill what is left."""
    entry = state["processes"].pop(name, None)
    save_state(state)
    if entry is None:
        return
    pgid = entry["pgid"]
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return
    give_up = time.monotonic() + grace
    while alive(pgid) and time.monotonic() < give_up:
        reap(pgid)
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    reap(pgid)


def reap(pid: int) -> None:
    """Collect a child's exit (the test runs the cluster in its own process): a zombie still counts
    as alive."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_listening(host: str, port: int, seconds: float = 60) -> None:
    give_up = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection((address(host), port), timeout=0.5).close()
            return
        except OSError as exc:
            if time.monotonic() > give_up:
                raise RuntimeError(f"cluster: nothing listens on {host} ({address(host)}:{port})") from exc
            time.sleep(0.2)


def http_get(url: str, timeout: float = 3.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def wait_healthy(url: str, seconds: float = 60) -> None:
    give_up = time.monotonic() + seconds
    while http_get(url) != 200:
        if time.monotonic() > give_up:
            raise RuntimeError(f"cluster: {url} is not healthy after {seconds} s")
        time.sleep(0.3)


# --- the parts ----------------------------------------------------------------------------------


def sentinels() -> str:
    return ",".join(f"{address(host)}:{SENTINEL_PORT}" for host in SENTINEL_HOSTS)


def app_env(state: dict, *, settings: str = "config.settings.production", direct_db: bool = False) -> dict:
    """The environment of every application process (and of the commands run against the cluster)."""
    db = f"{address('db')}:{PG_PORT}" if direct_db else f"{address('db')}:{BOUNCER_PORT}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "CELERY_", "ORDERFLOW_", "DJANGO_"))
    }
    env.update(
        {
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "DJANGO_SETTINGS_MODULE": settings,
            "DATABASE_URL": f"postgres://postgres@{db}/orderflow",
            "ORDERFLOW_DB_TRANSACTION_POOLING": "0" if direct_db else "1",
            "REDIS_URL": "redis://sentinel/0",
            "ORDERFLOW_REDIS_SENTINELS": sentinels(),
            "ORDERFLOW_REDIS_MASTER_NAME": MASTER_NAME,
            "DJANGO_SECRET_KEY": state["secrets"]["secret_key"],
            "ORDERFLOW_JWT_SIGNING_KEY": state["secrets"]["jwt"],
            "ORDERFLOW_OTP_SECRET": state["secrets"]["otp"],
            "ORDERFLOW_PAYMENT_WEBHOOK_SECRET": state["secrets"]["webhook"],
            "DJANGO_ALLOWED_HOSTS": ",".join(address(host) for host in ("lb", *WEB_HOSTS)),
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
            "ORDERFLOW_CELERY_DIR": str(STATE_DIR / "celery"),
            # Each socket process holds a thousand sockets or more here, and takes the other host's
            # at once when that one dies: a pool of 50 ran out under that burst.
            "ORDERFLOW_REDIS_MAX_CONNECTIONS": os.environ.get("ORDERFLOW_CLUSTER_REDIS_MAX_CONNECTIONS", "200"),
        }
    )
    return env


def postgres_up(state: dict) -> None:
    data = Path(state["data_dir"])
    pgdata, sockets = data / "pg", data / "pg-socket"
    for folder in (pgdata, sockets):
        folder.mkdir(parents=True, exist_ok=True)
        shutil.chown(folder, "postgres", "postgres")
    pgdata.chmod(0o700)
    run(
        "setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
        str(PG_BIN / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8",
        "--no-instructions",
    )  # fmt: skip
    with open(pgdata / "postgresql.conf", "a") as conf:
        conf.write(
            f"listen_addresses = '{address('db')}'\nport = {PG_PORT}\nunix_socket_directories = '{sockets}'\n"
            "timezone = 'UTC'\nmax_connections = 100\nshared_buffers = 64MB\n"
            # A throwaway cluster: durability is not what its tests measure.
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        )
    with open(pgdata / "pg_hba.conf", "a") as hba:
        hba.write(f"host all all {NET} trust\n")
    start(state, "postgres", "db", [str(PG_BIN / "postgres"), "-D", str(pgdata)], user="postgres")
    wait_listening("db", PG_PORT)
    give_up = time.monotonic() + 30
    while run(str(PG_BIN / "pg_isready"), "-h", address("db"), "-p", str(PG_PORT), check=False).returncode != 0:
        if time.monotonic() > give_up:
            raise RuntimeError("cluster: PostgreSQL does not accept connections")
        time.sleep(0.2)
    run(str(PG_BIN / "createdb"), "-h", address("db"), "-p", str(PG_PORT), "-U", "postgres", "orderflow")


def pgbouncer_config(state: dict) -> Path:
    folder = Path(state["data_dir"]) / "pgbouncer"
    folder.mkdir(exist_ok=True)
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
orderflow = host={address("db")} port={PG_PORT} dbname=orderflow user=postgres

[pgbouncer]
listen_addr = {address("db")}
listen_port = {BOUNCER_PORT}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "userlist.txt"}
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
reserve_pool_size = 5
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
admin_users = postgres
log_connections = 0
log_disconnections = 0
"""
    )
    for path in (folder, folder / "userlist.txt", config):
        shutil.chown(path, "postgres", "postgres")
    return config


def pgbouncer_start(state: dict) -> None:
    config = Path(state["data_dir"]) / "pgbouncer" / "pgbouncer.ini"
    start(state, "pgbouncer", "db", ["/usr/sbin/pgbouncer", str(config)], user="postgres")
    wait_listening("db", BOUNCER_PORT)


def redis_up(state: dict) -> None:
    data = Path(state["data_dir"])
    for host in ("redis1", "redis2"):
        folder = data / host
        folder.mkdir(exist_ok=True)
        command = [
            "redis-server", "--bind", address(host), "--port", str(REDIS_PORT), "--protected-mode", "no",
            "--dir", str(folder), "--save", "", "--appendonly", "no",
        ]  # fmt: skip
        if host == "redis2":
            command += ["--replicaof", address("redis1"), str(REDIS_PORT)]
        start(state, f"redis-{host}", host, command)
        wait_listening(host, REDIS_PORT)
    for host in SENTINEL_HOSTS:
        config = data / f"sentinel-{host}.conf"
        config.write_text(
            f"port {SENTINEL_PORT}\nbind {address(host)}\nprotected-mode no\ndir {data}\n"
            f"sentinel monitor {MASTER_NAME} {address('redis1')} {REDIS_PORT} 2\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} 2000\n"
            f"sentinel failover-timeout {MASTER_NAME} 10000\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n"
        )
        start(state, f"sentinel-{host}", host, ["redis-sentinel", str(config)])
        wait_listening(host, SENTINEL_PORT)


def redis_primary() -> str | None:
    """The host whose Redis the sentinels name as the primary now."""
    for host in SENTINEL_HOSTS:
        try:
            with socket.create_connection((address(host), SENTINEL_PORT), timeout=1) as connection:
                connection.sendall(f"SENTINEL get-master-addr-by-name {MASTER_NAME}\r\n".encode())
                reply = connection.recv(4096).decode()
        except OSError:
            continue
        for name in ("redis1", "redis2"):
            if f"\r\n{address(name)}\r\n" in reply:
                return name
    return None


def haproxy_config(state: dict) -> Path:
    check = (
        f"check inter {CHECK_INTER_MS} fastinter {CHECK_FAST_INTER_MS} downinter {CHECK_INTER_MS} "
        f"fall {CHECK_FALL} rise {CHECK_RISE}"
    )
    health = f"http-check send meth GET uri /health/ ver HTTP/1.1 hdr Host {address('lb')}"
    servers_http = "\n".join(f"  server {h} {address(h)}:{HTTP_PORT} {check}" for h in WEB_HOSTS)
    servers_ws = "\n".join(f"  server {h} {address(h)}:{WS_PORT} {check}" for h in WEB_HOSTS)
    config = STATE_DIR / "haproxy.cfg"
    config.write_text(
        f"""global
  maxconn 8000
  stats socket {STATE_DIR / "haproxy.sock"} mode 600 level admin
  hard-stop-after 30s

defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 30s
  timeout tunnel 1h
  timeout client-fin 5s
  timeout http-keep-alive 5s
  # A connection refused (a host that just died) is tried again on the other host.
  retries 3
  option redispatch 1
  option forwardfor

frontend public
  bind {address("lb")}:80
  acl socket path_beg /ws/
  use_backend sockets if socket
  default_backend http

backend http
  balance roundrobin
  option httpchk
  {health}
  http-check expect status 200
  # A server marked down keeps the requests it has (a Redis failover fails every health check for
  # a few seconds; requests under way still finish), it just gets no new ones.
{servers_http}

backend sockets
  # Sockets live long: a new one goes to the host holding the fewest.
  balance leastconn
  option httpchk
  {health}
  http-check expect status 200
{servers_ws}
"""
    )
    return config


def haproxy(command: str) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(5)
        connection.connect(str(STATE_DIR / "haproxy.sock"))
        connection.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def haproxy_servers() -> dict[tuple[str, str], dict]:
    """(backend, server) -> HAProxy's `show stat` row (status, scur, ...)."""
    lines = haproxy("show stat").splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = {}
    for line in lines[1:]:
        if not line:
            continue
        row = dict(zip(header, line.split(","), strict=False))
        if row["svname"] not in ("FRONTEND", "BACKEND"):
            rows[(row["pxname"], row["svname"])] = row
    return rows


def web_start(state: dict, host: str) -> None:
    env = app_env(state)
    start(
        state, f"http-{host}", host,
        ["granian", "--interface", "wsgi", "--workers", os.environ.get("ORDERFLOW_CLUSTER_HTTP_WORKERS", "1"),
         "--blocking-threads", "2", "--host", address(host), "--port", str(HTTP_PORT), "--backlog", "4096",
         "--workers-kill-timeout", "10", "config.wsgi:application"],
        env=env,
    )  # fmt: skip
    start(
        state, f"ws-{host}", host,
        ["python", "-m", "config.websocket_server", "-e",
         f"tcp:port={WS_PORT}:interface={address(host)}:backlog=4096", "--ping-interval", "20",
         "--ping-timeout", "30", "--websocket_connect_timeout", "60", "config.asgi:application"],
        env=env,
    )  # fmt: skip
    wait_listening(host, HTTP_PORT)
    wait_listening(host, WS_PORT)
    wait_healthy(f"http://{address(host)}:{HTTP_PORT}/health/")
    wait_healthy(f"http://{address(host)}:{WS_PORT}/health/")


def web_stop(state: dict, host: str, *, sig: int = signal.SIGTERM) -> None:
    # Both at once: the socket server closes its sockets with 1012 while granian finishes requests.
    for name in (f"ws-{host}", f"http-{host}"):
        entry = state["processes"].get(name)
        if entry:
            try:
                os.killpg(entry["pgid"], sig)
            except ProcessLookupError:
                pass
    for name in (f"ws-{host}", f"http-{host}"):
        stop(state, name, sig=sig)


def beat_start(state: dict, host: str) -> None:
    # Restarted when it exits (as a service manager would): a beat that lost its lock to a Redis
    # failover exits and comes back waiting for the lock.
    start(
        state, f"beat-{host}", host,
        ["bash", "-c", "while :; do celery -A config beat -S redbeat.RedBeatScheduler --loglevel INFO; sleep 1; done"],
        env=app_env(state),
    )  # fmt: skip


def worker_start(state: dict) -> None:
    start(
        state, "worker", "worker",
        ["celery", "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "2", "--without-gossip",
         "--without-mingle", "--hostname", "worker@ofc-worker"],
        env=app_env(state),
    )  # fmt: skip


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


def wait_servers_up(seconds: float = 30) -> None:
    give_up = time.monotonic() + seconds
    while True:
        rows = haproxy_servers()
        if rows and all(row["status"] == "UP" for row in rows.values()):
            return
        if time.monotonic() > give_up:
            states = {f"{backend}/{server}": row["status"] for (backend, server), row in rows.items()}
            raise RuntimeError(f"cluster: HAProxy's servers are not all up: {states}")
        time.sleep(0.2)


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


def server_state(host: str, state_name: str) -> None:
    for backend in ("http", "sockets"):
        haproxy(f"set server {backend}/{host} state {state_name}")


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
