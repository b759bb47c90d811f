"""A real ASGI server process (daphne), a private Redis, and ordinary WebSocket clients."""

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import websockets

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30


def database_url() -> str:
    """The test database's URL, for a server process of its own."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {seconds}s")


class ServerProcess:
    """`daphne config.asgi:application` on a free port, on the given database and Redis."""

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str,
        settings_module: str = "config.settings.test",
        environment: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="orderflow-daphne-", suffix=".log", delete=False)
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE=settings_module,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            PYTHONUNBUFFERED="1",
            # Pooled, as production and every ASGI server run (config/settings/database.py).
            ORDERFLOW_DB_POOL="1",
        )
        env.update(environment or {})
        daphne = Path(sys.executable).with_name("daphne")
        self.process = subprocess.Popen(
            [str(daphne), "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        _wait_for_port(self.port, self.process, "daphne")
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        Path(self.log.name).unlink(missing_ok=True)


class RedisProcess:
    """A private, throw-away redis-server: stopping it disturbs nobody else."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, self.process, "redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class SocketLoop:
    """One event loop in a background thread for every client socket of a test, so that the
    test's own thread stays synchronous (HTTP calls, the ORM)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 15):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


class LiveSocket:
    """A websockets client that records everything the server sends, and how it closed."""

    def __init__(self, loop: SocketLoop, url: str) -> None:
        self.loop = loop
        self.url = url
        self.messages: list[dict] = []
        self.close_code: int | None = None
        self.changed = threading.Condition()
        self.connection = loop.run(self._connect())
        self.reader = asyncio.run_coroutine_threadsafe(self._read(), loop.loop)

    async def _connect(self):
        return await websockets.connect(self.url, open_timeout=10)

    async def _read(self) -> None:
        try:
            async for text in self.connection:
                with self.changed:
                    self.messages.append(json.loads(text))
                    self.changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        with self.changed:
            self.close_code = self.connection.close_code
            self.changed.notify_all()

    def wait_for(self, predicate, timeout: float = 15) -> list[dict]:
        """Block until `predicate(messages)` holds; the messages so far."""
        with self.changed:
            if not self.changed.wait_for(lambda: predicate(self.messages), timeout):
                raise AssertionError(f"{self.url}: gave up waiting; received {self.messages}")
            return list(self.messages)

    def wait_closed(self, timeout: float = 15) -> int | None:
        with self.changed:
            if not self.changed.wait_for(lambda: self.close_code is not None, timeout):
                raise AssertionError(f"{self.url}: still open; received {self.messages}")
            return self.close_code

    def send(self, message: dict) -> None:
        self.loop.run(self.connection.send(json.dumps(message)))

    def close(self) -> None:
        self.loop.run(self.connection.close())
        self.reader.result(10)


def has_event(sequence: int, order_id: str | None = None):
    def predicate(messages):
        return any(
            m.get("sequence") == sequence
            and m.get("type") in ("event", "offer")
            and (order_id is None or m.get("order_id") == order_id)
            for m in messages
        )

    return predicate


def event_sequences(messages: list[dict], kind: str = "event") -> list[int]:
    return [m["sequence"] for m in messages if m.get("type") == kind]


class HttpDriver:
    """Drives an order through the REST API (paths of the order-process API) on the server."""

    name = "http"

    def __init__(self, base_url: str, password: str) -> None:
        self.base_url = base_url
        self.password = password
        self.tokens: dict[str, str] = {}

    def token(self, user) -> str:
        if user.username not in self.tokens:
            response = requests.post(
                f"{self.base_url}/api/auth/token/",
                json={"username": user.username, "password": self.password},
                timeout=10,
            )
            assert response.status_code == 200, response.text
            self.tokens[user.username] = response.json()["access"]
        return self.tokens[user.username]

    def post(self, user, path: str, body: dict | None = None) -> dict:
        response = requests.post(
            f"{self.base_url}{path}",
            json=body or {},
            headers={"Authorization": f"Bearer {self.token(user)}"},
            timeout=30,
        )
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()

    def place(self, *, customer, restaurant, item) -> str:
        body = {
            "restaurant": str(restaurant.pk),
            "items": [{"menu_item": str(item.pk), "quantity": 1, "customizations": []}],
            "delivery_type": "delivery",
            "payment_method": "cod",
            "delivery_address": {
                "street": "500 Howard Street",
                "city": "San Francisco",
                "state": "CA",
                "postal_code": "94105",
                "country": "USA",
                "latitude": "37.787000",
                "longitude": "-122.396000",
            },
        }
        return self.post(customer, "/api/orders/", body)["id"]

    def confirm(self, order_id, staff):
        self.post(staff, f"/api/restaurants/orders/{order_id}/confirm/", {"estimated_prep_time": 20})

    def start_preparing(self, order_id, staff):
        self.post(staff, f"/api/restaurants/orders/{order_id}/start-preparing/")

    def mark_ready(self, order_id, staff):
        self.post(staff, f"/api/restaurants/orders/{order_id}/mark-ready/")

    def cancel(self, order_id, staff):
        self.post(staff, f"/api/restaurants/orders/{order_id}/cancel/", {"reason": "Out of dough"})

    def claim(self, order_id, courier):
        self.post(courier, f"/api/orders/{order_id}/accept/")

    def pick_up(self, order_id, courier, otp):
        self.post(courier, f"/api/orders/{order_id}/pickup/", {"otp": otp})

    def start_delivery(self, order_id, courier):
        self.post(courier, f"/api/orders/{order_id}/start-delivery/")

    def complete_delivery(self, order_id, courier, otp):
        self.post(courier, f"/api/orders/{order_id}/complete-delivery/", {"otp": otp, "delivery_notes": "At the door"})
