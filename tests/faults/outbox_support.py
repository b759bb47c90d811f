"""What the outbox's fault tests share: a real web server process, a receiver's view by event id,
and a bound on each case.

Every wait is bounded (`CASE_SECONDS` for a whole case; `wait_for`, 90 s, for one step); every
process started here is killed (its whole process group) when the case ends, passed or not.
"""

import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from tests.integration.test_celery_worker import _database_url, wait_for, workers  # noqa: F401 (a fixture)
from tests.integration.test_webhook_worker import WORKER_ENV as WEBHOOK_WORKER_ENV
from tests.notifications.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
CASE_SECONDS = 240


@pytest.fixture
def case_deadline():
    """Fail the case (SIGALRM) if it runs longer than CASE_SECONDS, whatever it waits for."""

    def expired(signum, frame):
        raise TimeoutError(f"the fault case ran longer than {CASE_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(CASE_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebServer:
    """`granian` serving config.wsgi on a free port, as scripts/serve-production runs it, against
    the test database and Redis, under the test settings (where fault points may be switched on)."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.port = free_port()
        self.log_path = tmp_path / f"web-{self.port}.log"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            **env,
        }
        granian = Path(sys.executable).with_name("granian")
        command = [str(granian), "--interface", "wsgi", "--workers", "1", "--blocking-threads", "1"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "config.wsgi:application"]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(self.listening, self, f"the web server on port {self.port}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def listening(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"the web server exited with {self.process.returncode}:\n{self.logs()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def logs(self) -> str:
        return self.log_path.read_text()[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=10)


def seen_by_event_id(receiver: Receiver) -> Counter[str]:
    """How many deliveries of each event id reached the receiver."""
    return Counter(received.headers["X-Orderflow-Event-Id"] for received in receiver.received)


# A worker for these cases: the webhook worker's settings, the outbox swept every second.
WORKER_ENV = {
    **WEBHOOK_WORKER_ENV,
    "ORDERFLOW_OUTBOX_SWEEP_SECONDS": "1",
    "ORDERFLOW_OUTBOX_SWEEP_GRACE_SECONDS": "0",
    "ORDERFLOW_NOTIFICATION_DISPATCH_INTERVAL_SECONDS": "1",
}
