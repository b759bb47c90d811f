"""The parts of the namespaced cluster (scripts/cluster.py), each started on its host
(scripts/cluster_hosts.py): PostgreSQL and PgBouncer, Redis and its sentinels, HAProxy (its
configuration and its control socket), the web hosts' pair of servers, the Celery worker and the
beats, and the environment every application process gets.
"""

import os
import shutil
import signal
import socket
import time
from pathlib import Path

from cluster_hosts import (
    BOUNCER_PORT,
    CHECK_FALL,
    CHECK_FAST_INTER_MS,
    CHECK_INTER_MS,
    CHECK_RISE,
    HTTP_PORT,
    MASTER_NAME,
    NET,
    PG_BIN,
    PG_PORT,
    REDIS_PORT,
    SENTINEL_HOSTS,
    SENTINEL_PORT,
    STATE_DIR,
    VENV_BIN,
    WEB_HOSTS,
    WS_PORT,
    address,
    run,
    start,
    stop,
    wait_healthy,
    wait_listening,
)


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
            # The run's 20 customers place about 30 orders each within the hour (the seed, each
            # case's 50, and the kitchen of the locust scenario, which picks its customer at
            # random): the hourly limit per customer (30 by default) is not what is tested here.
            "ORDERFLOW_ORDER_PLACE_LIMIT_PER_HOUR": "1000",
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


def redis_start(state: dict, host: str, *, replica_of: str | None = None) -> None:
    """The Redis server of `host`, a replica of `replica_of`'s when given (a primary back from the
    dead rejoins as the replica of the one promoted in its place)."""
    folder = Path(state["data_dir"]) / host
    folder.mkdir(exist_ok=True)
    command = [
        "redis-server", "--bind", address(host), "--port", str(REDIS_PORT), "--protected-mode", "no",
        "--dir", str(folder), "--save", "", "--appendonly", "no",
    ]  # fmt: skip
    if replica_of:
        command += ["--replicaof", address(replica_of), str(REDIS_PORT)]
    start(state, f"redis-{host}", host, command)
    wait_listening(host, REDIS_PORT)


def redis_up(state: dict) -> None:
    data = Path(state["data_dir"])
    redis_start(state, "redis1")
    redis_start(state, "redis2", replica_of="redis1")
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


def supervised(command: str) -> list[str]:
    """`command`, started again a second after it exits, as a service manager (systemd's
    Restart=always, a Kubernetes Deployment) restarts it."""
    return ["bash", "-c", f"while :; do {command}; sleep 1; done"]


def beat_start(state: dict, host: str) -> None:
    # A beat that lost its lock to a Redis failover exits and comes back waiting for the lock.
    start(
        state, f"beat-{host}", host, supervised("celery -A config beat -S redbeat.RedBeatScheduler --loglevel INFO"),
        env=app_env(state),
    )  # fmt: skip


def worker_start(state: dict) -> None:
    # A worker can exit on a Redis failover: kombu (5.7) restores its unacknowledged messages while
    # closing the broken connection and fails with "Unrecoverable error: AttributeError('NoneType'
    # object has no attribute 'hostname')". Started again, it reconnects through the sentinels; the
    # message it could not restore goes back to the queue after the visibility timeout.
    start(
        state, "worker", "worker",
        supervised("celery -A config worker --loglevel INFO --concurrency 2 --without-gossip --without-mingle "
                   "--hostname worker@ofc-worker"),
        env=app_env(state),
    )  # fmt: skip


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


def server_state(host: str, state_name: str) -> None:
    for backend in ("http", "sockets"):
        haproxy(f"set server {backend}/{host} state {state_name}")
