"""The timed work of every open socket, in one task per process: checking its access again
(every ORDERFLOW_WS_RECHECK_SECONDS, and when its token expires) and renewing its group
memberships before they expire.

A task per socket for each would keep two sleeping coroutines, with their timers and futures, for
every socket held, and wake each socket's database check on its own. Here one task per event loop
keeps a heap of due times and wakes at the earliest, at most once a tick (a tenth of the
interval, at most a second: a check may come that much late, never early). The sockets due by
then are checked together, a few at a time, and sockets that would ask the database the same
question (the same user watching the same order through the same kind of socket:
`LiveConsumer.recheck_key`) share one answer within a pass. A socket is held by weak
reference: one that has ended is dropped from the heap, never kept alive by it.
"""

import asyncio
import heapq
import itertools
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

RECHECK = "recheck"
RENEW = "renew"
# Checks run at once within a pass: the process's database threads are few (tracking/database.py).
CHECKS_AT_ONCE = 4


class SocketTimers:
    """One event loop's timers. `LiveConsumer` calls `recheck_later` and `renew_later`."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self.heap: list[tuple[float, int, str, weakref.ref]] = []
        self.counter = itertools.count()
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.sockets: weakref.WeakSet[Any] = weakref.WeakSet()

    def recheck_later(self, consumer: Any, interval: float) -> None:
        """Check `consumer`'s access again in `interval` (spread over its last fifth, so that the
        sockets of one deploy do not all ask in the same second), or when its token expires."""
        due = time.monotonic() + interval * random.uniform(0.8, 1.0)  # noqa: S311 -- spreading load, not a secret
        expires_at = consumer.scope.get("token_expires_at")
        if expires_at is not None:
            due = min(due, time.monotonic() + max(0.0, expires_at - time.time()))
        self._push(due, RECHECK, consumer)

    def renew_later(self, consumer: Any, interval: float) -> None:
        self._push(time.monotonic() + interval, RENEW, consumer)

    def _push(self, due: float, kind: str, consumer: Any) -> None:
        self.sockets.add(consumer)
        earliest = not self.heap or due < self.heap[0][0]
        heapq.heappush(self.heap, (due, next(self.counter), kind, weakref.ref(consumer)))
        if len(self.heap) > 2 * len(self.sockets) + 1024:
            self._compact()
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())
        elif earliest:
            self.wake.set()

    def _compact(self) -> None:
        """Drop the entries of sockets that have ended (a membership renewal is hours away)."""
        self.heap = [entry for entry in self.heap if _live(entry[3]) is not None]
        heapq.heapify(self.heap)

    async def _run(self) -> None:
        while self.heap:
            wait = self.heap[0][0] - time.monotonic()
            if wait > 0:
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), wait)
                except TimeoutError:
                    pass
                continue
            now = time.monotonic()
            due: list[tuple[str, Any]] = []
            while self.heap and self.heap[0][0] <= now:
                _, _, kind, ref = heapq.heappop(self.heap)
                consumer = _live(ref)
                if consumer is not None:
                    due.append((kind, consumer))
            try:
                await self._pass(due)
            except Exception:  # never let one pass end every socket's timers
                logger.exception("socket timers: a pass failed")
            # What falls due meanwhile waits for the next pass: under load, one pass serves many
            # sockets and their shared checks.
            await asyncio.sleep(max(0.0, now + self.tick - time.monotonic()))

    async def _pass(self, due: list[tuple[str, Any]]) -> None:
        shared: dict[Any, asyncio.Future[int | None]] = {}
        limit = asyncio.Semaphore(CHECKS_AT_ONCE)

        async def one(kind: str, consumer: Any) -> None:
            async with limit:
                if consumer.closing:
                    return
                if kind == RENEW:
                    await consumer.renew_memberships()
                else:
                    await _recheck(consumer, shared)

        await asyncio.gather(*(one(kind, consumer) for kind, consumer in due))


async def _recheck(consumer: Any, shared: dict[Any, asyncio.Future[int | None]]) -> None:
    try:
        code = consumer.token_ended()
        if code is None:
            key = consumer.recheck_key()
            code = await (_shared(shared, key, consumer.access_beyond_token) if key else consumer.access_beyond_token())
    except Exception:  # the database is away for a moment: ask again at the next tick
        logger.warning("could not check a socket's access again", exc_info=True)
        code = None
    if consumer.closing:
        return
    if code is not None:
        await consumer.end_access(code)
    else:
        consumer.recheck_later()


def _shared(
    shared: dict[Any, asyncio.Future[int | None]], key: Any, check: Callable[[], Awaitable[int | None]]
) -> asyncio.Future[int | None]:
    """The answer of the first socket of the pass that asked `key`; the others wait for it."""
    if key not in shared:
        shared[key] = asyncio.ensure_future(check())
    return asyncio.shield(shared[key])


def _live(ref: weakref.ref) -> Any:
    consumer = ref()
    return None if consumer is None or consumer.closing else consumer


_timers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SocketTimers]" = weakref.WeakKeyDictionary()


def socket_timers() -> SocketTimers:
    """The running event loop's timers."""
    loop = asyncio.get_running_loop()
    timers = _timers.get(loop)
    if timers is None:
        timers = _timers[loop] = SocketTimers(tick=min(1.0, settings.ORDERFLOW_WS_RECHECK_SECONDS / 10))
    return timers
