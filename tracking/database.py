"""The sockets' database work, off the event loop, in a few threads instead of one.

Channels' `database_sync_to_async` runs every call of a process in one thread, one after another.
A call is mostly waiting: for a pooled connection's check, for PostgreSQL (through PgBouncer) to
answer. With a thousand sockets reconnecting at once (a host deployed or lost, a Redis failover)
their handshakes' calls queued up behind each other in that one thread, each waiting out the
others' round trips, and the process opened a few sockets a second. Here the calls share
`ORDERFLOW_WS_DB_THREADS` threads (as many as the process's database pool has connections,
config/settings/database.py), so their waits overlap.

Each call is independent: it takes a connection from the pool and gives it back
(`close_old_connections` before and after, as Channels does), so nothing ties it to a thread.
Code already running under a sync caller (a test's event loop started by `async_to_sync`, whose
database work must stay on that caller's thread and connection) keeps Channels' behaviour.
"""

import functools
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from asgiref.sync import AsyncToSync
from channels.db import DatabaseSyncToAsync
from django.conf import settings

P = ParamSpec("P")
R = TypeVar("R")

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def socket_database_threads() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.ORDERFLOW_WS_DB_THREADS, thread_name_prefix="socket-database"
            )
        return _executor


def database_sync_to_async(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`func` run in one of the sockets' database threads (or, under a sync caller, in its thread),
    with stale connections closed around it."""
    in_caller_thread = DatabaseSyncToAsync(func)

    @functools.wraps(func)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        if getattr(AsyncToSync.executors, "current", None) is not None:
            return await in_caller_thread(*args, **kwargs)
        pooled = DatabaseSyncToAsync(func, thread_sensitive=False, executor=socket_database_threads())
        return await pooled(*args, **kwargs)

    return call
