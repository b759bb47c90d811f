"""Schemathesis over the whole OpenAPI document, once per role, against a live daphne.

Used by the suite (a short, bounded run: tests/schema/test_schemathesis.py) and by
`scripts/schema-fuzz` (the long run). The server is a real `daphne config.asgi:application`
process on the given database with a private redis-server (so the guessing limits that the fuzzer
trips count nowhere else); each role signs in with a token of a demo account (`seed_demo`).
Every check runs (tests/schema/schemathesis.toml says which refusals depend on state).
"""

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken

from tests.tracking.live import RedisProcess, ServerProcess

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
# The demo account that plays each role (orders.management.commands.seed_demo).
ROLES = {"customer": "alice", "staff": "pizza_staff", "courier": "dave", "admin": "admin"}


@dataclass
class RoleResult:
    role: str
    cases: int
    failures: list[dict]
    errors: int
    exit_code: int
    seconds: float
    output: str

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.failures and not self.errors

    def summary(self) -> str:
        kinds = ", ".join(
            f"{f['code']} {f['title']} x{f['count']} ({', '.join(f['operations'])})" for f in self.failures
        )
        return (
            f"{self.role:9} {self.cases:6} cases  {len(self.failures)} failure kinds  {self.errors} errors  "
            f"{self.seconds:7.1f} s  {'ok' if self.passed else 'FAILED: ' + kinds}"
        )


def run_role(server: ServerProcess, role: str, *, examples: int, seed: int | None, max_time: int | None) -> RoleResult:
    user = get_user_model().objects.get(username=ROLES[role])
    access = AccessToken.for_user(user)
    access.set_exp(lifetime=timedelta(hours=12))  # outlives the longest run
    token = str(access)
    with tempfile.TemporaryDirectory(prefix="orderflow-schemathesis-") as folder:
        report = Path(folder) / "report.json"
        command = [
            str(Path(sys.executable).with_name("st")),
            "--config-file",
            str(CONFIG),
            "--no-color",
            "run",
            f"{server.http}/api/schema/?format=json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(examples),
            # One worker: hypothesis parses lambdas' source with `ast` from each worker thread, which
            # CPython 3.11 cannot do concurrently ("AST constructor recursion depth mismatch").
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--generation-database",
            "none",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ]
        if seed is not None:
            command += ["--seed", str(seed)]
        if max_time is not None:
            command += ["--max-time", str(max_time)]
        completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ))
        if not report.exists():
            raise RuntimeError(f"schemathesis wrote no report:\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}")
        data = json.loads(report.read_text())
    return RoleResult(
        role=role,
        cases=data["test_cases"]["generated"],
        failures=data["failures"],
        errors=data["test_cases"]["errored"] + data["operations"]["errored"],
        exit_code=completed.returncode,
        seconds=data["running_time"],
        output=completed.stdout[-20000:],
    )


def seed() -> None:
    """The demo accounts and orders, and the courier online (so the courier endpoints act)."""
    from django.core.management import call_command

    from delivery.models import CourierProfile

    call_command("seed_demo", verbosity=0)
    CourierProfile.objects.filter(user__username=ROLES["courier"]).update(is_online=True)


def live_server(database_url: str) -> tuple[ServerProcess, RedisProcess]:
    redis_server = RedisProcess()
    server = ServerProcess(database_url=database_url, redis_url=redis_server.url)
    return server, redis_server
