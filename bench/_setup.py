"""Shared by the benchmarks: Django on a scratch PostgreSQL database, created and dropped per run.

The scratch database is named after DATABASE_URL's with a `_bench` suffix, so a run
never touches the data of the database it is pointed at.
"""

import argparse
import logging
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import DatabaseError, connection  # noqa: E402


@contextmanager
def scratch_database(suffix: str = "_bench"):
    """A migrated database named DATABASE_URL's name + `suffix`, dropped on the way out."""
    if connection.vendor != "postgresql":
        sys.exit("The benchmarks measure PostgreSQL: set DATABASE_URL=postgres://...")
    logging.disable(logging.INFO)
    name = f"{settings.DATABASES['default']['NAME']}{suffix}"
    connection.settings_dict["TEST"]["NAME"] = name
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield name
    finally:
        connection.close()
        connection.close_pool()  # type: ignore[attr-defined]  # PostgreSQL's backend, with its pool
        with connection._nodb_cursor() as cursor:
            end_other_sessions(cursor, name)
        connection.creation.destroy_test_db(old_name, verbosity=0)


def end_other_sessions(cursor, name: str) -> None:
    """End every session on database `name` but `cursor`'s: one a benchmark left behind (a worker
    thread's pooled connection) would stop the database from being dropped."""
    cursor.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        [name],
    )


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, session, ...)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def session_pids(session_id: int, *, command: bytes = b"") -> list[int]:
    """The processes of a session (a server started with `start_new_session` and all it started),
    those whose command line contains `command` when given."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        fields = _stat_fields(int(proc.name))
        if fields is None or int(fields[3]) != session_id:
            continue
        try:
            if command and command not in (proc / "cmdline").read_bytes():
                continue
        except OSError:
            continue
        pids.append(int(proc.name))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user and system) the processes `pids` have used so far (0 for one that is gone)."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pids: Callable[[], list[int]], *, seconds: float = 15, idle_share: float = 0.05) -> bool:
    """Until the processes `pids()` use less than `idle_share` of one core over 0.2 s (work a
    finished phase left queued is done), at most `seconds`. Whether they got there."""
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        before = cpu_seconds(pids())
        time.sleep(0.2)
        if cpu_seconds(pids()) - before < 0.2 * idle_share:
            return True
    return False


def checkpoint() -> None:
    """Write out now what earlier writes (a load, another benchmark) left dirty, instead of in a
    background checkpoint during the timing (superusers only; skipped otherwise)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as error:
        print(f"no CHECKPOINT before timing ({error}".strip() + ")")


def database_url(name: str) -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def orders_and_rounds(argv: list[str] | None = None) -> argparse.Namespace:
    """The in-process read benches' two knobs: how many orders the customer holds, how many calls each read gets."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=300)
    return parser.parse_args(argv)


def repeated(call: Callable[[], object], rounds: int) -> dict[str, float]:
    """`call` made `rounds` times: its p50 and p95 in milliseconds."""
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return {"p50_ms": statistics.median(timings), "p95_ms": timings[int(len(timings) * 0.95) - 1]}


def customer_with_orders(count: int):
    """A customer with `count` delivery orders of three lines each, placed through the service, and
    an API client signed in as them with a JWT: (orders, client)."""
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    from orders.services.placing import DeliveryAddress, OrderLine, order_place
    from restaurants.models import MenuItem, Restaurant
    from tests.factories import MenuItemFactory, RestaurantFactory, UserFactory

    # factory_boy does not type what a factory returns.
    customer = cast(User, UserFactory(username="bench-customer"))
    restaurant = cast(Restaurant, RestaurantFactory())
    items = [cast(MenuItem, MenuItemFactory(restaurant=restaurant)) for _ in range(3)]
    address = DeliveryAddress(
        street="1 Bench Way", city="Benchville", latitude=Decimal("37.78"), longitude=Decimal("-122.40")
    )
    orders = [
        order_place(
            customer=customer,
            restaurant_id=restaurant.pk,
            lines=[OrderLine(menu_item_id=item.pk, quantity=2) for item in items],
            delivery_type="delivery",
            payment_method="cod",
            address=address,
        )
        for _ in range(count)
    ]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(customer)}")
    return orders, client


# A fresh checkout's first start collects and compresses every static file before it listens:
# minutes on a busy machine. Readiness is waited for (an answer), never a fixed time.
READY_SECONDS = 900


def wait_until_ready(url: str, process: subprocess.Popen, what: str, *, seconds: float = READY_SECONDS) -> None:
    """Until `url` answers 200, while `process` runs; RuntimeError if it exits or `seconds` pass.

    Says once a minute that it is still waiting, so a slow first start does not look like a hang.
    """
    started = time.monotonic()
    next_note = started + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before answering")
        try:
            if urllib.request.urlopen(url, timeout=10).status == 200:
                return
        except OSError:
            pass
        now = time.monotonic()
        if now - started > seconds:
            raise RuntimeError(f"{what} did not answer {url} within {seconds:.0f} s")
        if now >= next_note:
            print(f"  ... waiting for {what} ({now - started:.0f} s; the first start collects static files)")
            next_note = now + 60
        time.sleep(0.5)


def stop_session(process: subprocess.Popen, *, grace: float = 30) -> None:
    """Stop a server started with `start_new_session=True` and everything it started.

    SIGTERM to its process group (a script forwards it to the groups it made), up to `grace`
    seconds for it to exit, then SIGKILL to every process still in its session, whatever
    process group it moved to: nothing a benchmark started outlives it.
    """
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    for _ in range(20):
        left = [pid for pid in session_pids(process.pid) if (_stat_fields(pid) or ["Z"])[0] != "Z"]
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    if process.poll() is None:
        process.kill()
    process.wait()
