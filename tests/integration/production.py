"""`scripts/serve-production` (nginx in front of the WSGI server and daphne, production settings)
on the test database, for the tests that go through the whole production topology, and clients
that connect from an address of their own."""

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from tests.tracking.live import ROOT, database_url, free_port

STOP_SECONDS = 30
# A fresh checkout collects the static files first (every file hashed and compressed).
START_SECONDS = 180


@dataclass(frozen=True)
class Topology:
    process: subprocess.Popen
    run_dir: Path
    http: str
    ws: str


def wait_until_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    give_up = time.monotonic() + START_SECONDS
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise RuntimeError(f"serve-production exited with {process.returncode}: {log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"serve-production did not listen on {port} within {START_SECONDS}s: {log.read_text()[-3000:]}")


@contextmanager
def serve_production(name: str, **environment: str) -> Iterator[Topology]:
    """The script on a free port until the block ends, then stopped (SIGTERM, SIGKILL after
    STOP_SECONDS); `environment` adds to or overrides its settings."""
    port = free_port()
    run_dir = Path(tempfile.mkdtemp(prefix=f"orderflow-{name}-"))  # mode 0700
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        ORDERFLOW_JWT_SIGNING_KEY=settings.SIMPLE_JWT["SIGNING_KEY"],  # tokens made here must verify there
        ORDERFLOW_OTP_SECRET=f"{name}-test-otp-secret",
        ORDERFLOW_PAYMENT_WEBHOOK_SECRET=f"{name}-test-webhook-secret",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        ORDERFLOW_LISTEN=f"127.0.0.1:{port}",
        ORDERFLOW_RUN_DIR=str(run_dir),
        DJANGO_STATIC_ROOT=str(run_dir / "static"),
        ORDERFLOW_MIGRATE="0",  # the test database is migrated already
        ORDERFLOW_SERVE_WORKER="0",
        ORDERFLOW_HTTP_WORKERS="1",
        ORDERFLOW_DB_POOL_MAX_SIZE="2",
    )
    for variable in ("ORDERFLOW_DB_POOL", "ORDERFLOW_PROXY_ADDRESSES"):
        env.pop(variable, None)
    env.update(environment)
    log = open(run_dir / "script.log", "w")
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "serve-production")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_listening(port, process, run_dir / "script.log")
        yield Topology(process=process, run_dir=run_dir, http=f"http://127.0.0.1:{port}", ws=f"ws://127.0.0.1:{port}")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


class FromAddress(HTTPAdapter):
    """Connections from one loopback address: a client of its own, as the server sees it."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_from(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session
