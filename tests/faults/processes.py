"""Real processes for the fault cases, each on free loopback ports and in temporary folders, and
crowds of ordinary WebSocket clients that behave as the order-process API asks (reconnect with
`after` = the last sequence received, and stop at 1000 or 4410).

Nothing here stops or restarts a shared server: a case that breaks Redis or PostgreSQL starts its
own (`RedisProcess`, `PostgresCluster`) and removes it afterwards.
"""

import asyncio
import concurrent.futures
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import websockets
from django.conf import settings

from tests.tracking.live import ROOT, RedisProcess, free_port
from tests.tracking.live import _wait_for_port as wait_for_port

__all__ = [
    "ROOT",
    "Crowd",
    "HttpServer",
    "PostgresCluster",
    "RedisProcess",
    "WebSocketServer",
    "database_url",
    "free_port",
]

STARTUP_SECONDS = 60
STOP_SECONDS = 15
# A socket that ends with one of these is not reconnected: the order-process API's
# "no more live changes" (1000) and "gone, reconnecting brings no more" (4410).
FINAL_CLOSE_CODES = (1000, 4410)


def database_url(name: str | None = None, *, host: str | None = None, port: int | None = None) -> str:
    db = settings.DATABASES["default"]
    host = host or db["HOST"] or "127.0.0.1"
    return f"postgres://{db['USER']}@{host}:{port or db['PORT'] or 5432}/{name or db['NAME']}"


class _Process:
    """A server process of the project on a free port, on the given database and Redis, in its
    own process group, logging to a temporary file."""

    what = "server"

    def __init__(self, *, database_url: str, redis_url: str, environment: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.environment = server_environment(database_url=database_url, redis_url=redis_url, extra=environment)
        self.log_path = Path(tempfile.mkstemp(prefix=f"orderflow-{self.what}-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None
        self.start()

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(self.port, self.process, self.what, STARTUP_SECONDS)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL, to the whole process group: no goodbye of any kind."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()

    def close(self) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)


def server_environment(*, database_url: str, redis_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    environment = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PYTHONUNBUFFERED="1",
        ORDERFLOW_DB_POOL="1",
        # Tokens made by the test process must verify in the server.
        ORDERFLOW_JWT_SIGNING_KEY=settings.SIMPLE_JWT["SIGNING_KEY"],
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
    )
    environment.update(extra or {})
    return environment


class WebSocketServer(_Process):
    """`python -m config.websocket_server` (daphne with the graceful stop), as production runs it."""

    what = "websocket-server"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "config.websocket_server",
            "-e",
            f"tcp:port={self.port}:interface=127.0.0.1:backlog=4096",
            "--websocket_connect_timeout",
            "120",
            "config.asgi:application",
        ]

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


class HttpServer(_Process):
    """granian serving config.wsgi, as production runs it (one worker, two threads)."""

    what = "granian"

    def command(self) -> list[str]:
        granian = Path(sys.executable).with_name("granian")
        options = ["--interface", "wsgi", "--workers", "1", "--blocking-threads", "2"]
        return [str(granian), *options, "--host", "127.0.0.1", "--port", str(self.port), "config.wsgi:application"]

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class PostgresCluster:
    """A throw-away PostgreSQL cluster (initdb + pg_ctl into a temporary folder, trust on
    loopback, a free port): restarting it disturbs nobody else."""

    def __init__(self) -> None:
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not versions:
            raise RuntimeError("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin)")
        self.bin = Path(versions[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="orderflow-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        # PostgreSQL refuses to run as root: there, its own system user runs it.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.folder}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n"
            )
        self.start()

    def _run(self, program: str, *args, check: bool = True) -> None:
        command = [*self.as_user, str(self.bin / program), *map(str, args)]
        subprocess.run(command, check=check, capture_output=True, timeout=120)

    def _ctl(self, *args: str, check: bool = True) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", self.folder / "server.log", *args, check=check)

    def start(self) -> None:
        self._ctl("start", "-w", "-t", "60")

    def stop(self) -> None:
        # "fast": every client connection is cut at once, as a restart does.
        self._ctl("stop", "-m", "fast", "-w", "-t", "60", check=False)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", name)

    def remove(self) -> None:
        self._ctl("stop", "-m", "immediate", "-w", "-t", "30", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


class Crowd:
    """`count` clients of one order's socket, all on one event loop in a thread of their own.

    Each client opens `path?token=...&after=<last sequence it has>` on one of `servers` (client n
    starts on server n % len(servers), or on the first with `spread=False`), records every event's
    sequence and every close code, and, with `reconnect`, opens again (on the next server when the
    last one refused or vanished) after a short jittered pause, until a final close or `stop()`."""

    def __init__(
        self,
        servers: list[str],
        path: str,
        token: str,
        count: int,
        *,
        reconnect: bool,
        open_timeout: float = 120,
        spread: bool = True,
    ) -> None:
        self.servers = servers
        self.spread = spread
        self.path = path
        self.token = token
        self.count = count
        self.reconnect = reconnect
        self.open_timeout = open_timeout
        self.events: list[list[int]] = [[] for _ in range(count)]
        self.closes: list[list[int | None]] = [[] for _ in range(count)]
        self.connections = [0] * count
        # Per client, each connection as (opened at, closed at, close code), monotonic seconds.
        self.sessions: list[list[tuple[float, float, int]]] = [[] for _ in range(count)]
        self.finished = [False] * count
        self.holding = False
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.stopping: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except asyncio.CancelledError:
            pass  # cut short by stop() (_abort_everything)

    def _abort_everything(self) -> None:
        """Cut every connection and end every client at once, without closing handshakes."""
        for connection in list(self.sockets):
            connection.transport.abort()
        for task in asyncio.all_tasks(self.loop):
            task.cancel()

    async def _main(self) -> None:
        self.stopping = asyncio.Event()
        self.sockets: set = set()
        await asyncio.gather(*(self._client(n) for n in range(self.count)))

    def _url(self, server: int, last: int) -> str:
        return f"{self.servers[server]}{self.path}?token={self.token}&after={last}"

    async def _client(self, n: int) -> None:
        assert self.stopping is not None
        server = n % len(self.servers) if self.spread else 0
        last = 0
        while not self.stopping.is_set():
            code: int | None = None
            try:
                connection = await websockets.connect(
                    self._url(server, last),
                    open_timeout=self.open_timeout,
                    ping_interval=None,
                    close_timeout=5,
                    max_queue=None,
                )
            except (TimeoutError, OSError, websockets.InvalidHandshake, websockets.ConnectionClosed):
                connection = None
            if connection is not None:
                opened_at = time.monotonic()
                self.sockets.add(connection)
                with self.lock:
                    self.connections[n] += 1
                try:
                    async for text in connection:
                        message = json.loads(text)
                        if message.get("type") == "event":
                            with self.lock:
                                self.events[n].append(message["sequence"])
                            last = max(last, message["sequence"])
                except websockets.ConnectionClosed:
                    pass
                self.sockets.discard(connection)
                code = connection.close_code if connection.close_code is not None else 1006
                with self.lock:
                    self.sessions[n].append((opened_at, time.monotonic(), code))
            with self.lock:
                self.closes[n].append(code)
            if code in FINAL_CLOSE_CODES or not self.reconnect or self.stopping.is_set():
                break
            if code is None or code == 1006:
                server = (server + 1) % len(self.servers)  # refused or vanished: try the other one
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=random.uniform(0.2, 1.0))  # noqa: S311 -- a client's reconnect jitter
            except TimeoutError:
                pass
        with self.lock:
            self.finished[n] = True

    def hold(self) -> None:
        """Clients whose socket closes wait before reconnecting, until `release()`: as a page does
        that backs off while the service is unavailable."""
        self.holding = True

    def release(self) -> None:
        self.holding = False

    def open_now(self) -> int:
        with self.lock:
            return len(self.sockets)

    def snapshot(self) -> tuple[list[list[int]], list[list[int | None]], list[int]]:
        with self.lock:
            return [list(e) for e in self.events], [list(c) for c in self.closes], list(self.connections)

    def wait_until(self, predicate, seconds: float, what: str) -> None:
        """Poll until `predicate(crowd)` holds; bounded, and says what it waited for."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.2)
        events, closes, connections = self.snapshot()
        sample = [(n, events[n], closes[n], connections[n]) for n in range(min(self.count, 5))]
        raise AssertionError(f"gave up after {seconds}s waiting for {what}; first clients: {sample}")

    def stop(self) -> None:
        """Close every socket (a closing handshake, then the TCP connection is cut regardless)."""

        async def _stop() -> None:
            assert self.stopping is not None
            self.stopping.set()
            closing = [asyncio.ensure_future(s.close()) for s in list(self.sockets)]
            if closing:
                await asyncio.wait(closing, timeout=STOP_SECONDS)
            for connection in list(self.sockets):
                connection.transport.abort()

        if self.stopping is not None and self.thread.is_alive():
            stopping = asyncio.run_coroutine_threadsafe(_stop(), self.loop)
            try:
                stopping.result(STOP_SECONDS * 4)
            except concurrent.futures.TimeoutError:
                # Thousands of closing handshakes on a busy machine can outlast the bound: what
                # the case asserts was recorded already, so the rest is cut without handshakes.
                self.loop.call_soon_threadsafe(self._abort_everything)
        self.thread.join(timeout=STOP_SECONDS * 4)


def prepare_database(url: str, redis_url: str) -> dict[str, str]:
    """Migrate the database at `url` and seed it (tests/faults/seed.py): the order and tokens."""
    environment = server_environment(database_url=url, redis_url=redis_url, extra={"ORDERFLOW_DB_POOL": "0"})
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=environment, check=True, timeout=600
    )
    seed = [sys.executable, "-m", "tests.faults.seed"]
    seeded = subprocess.run(seed, cwd=ROOT, env=environment, check=True, timeout=120, capture_output=True, text=True)
    return json.loads(seeded.stdout.strip().splitlines()[-1])


class PersistentRedisProcess(RedisProcess):
    """A throw-away redis-server that keeps its data across a stop and start, as a packaged Redis
    does (a snapshot written at shutdown and read at start): what the clients left in it before
    the outage (their channels' queues, group memberships, status snapshots) is there after it."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="orderflow-redis-")
        super().__init__()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.folder, "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process, "redis-server")

    def stop(self) -> None:
        """SIGTERM: Redis saves its data and exits, as `systemctl stop` makes it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
