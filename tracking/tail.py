"""A tail of committed order events, for a server process whose channel layer is in memory.

With the embedded defaults (./scripts/serve: SQLite, no Redis) the channel layer lives inside
the server process, so what another process commits (the Celery worker's sweep cancelling an
overdue order, a refund completing, a management command) is broadcast into that other
process's own empty layer and reaches no socket. Here the socket-serving process reads the
events table every ORDERFLOW_EVENT_TAIL_SECONDS and broadcasts, to its own layer, every event it
did not broadcast itself, exactly as tracking.broadcast would have: the open pages and sockets
see the change within about that interval, whatever process made it.

Events are read by creation time with a look-back (ORDERFLOW_EVENT_TAIL_LOOKBACK_SECONDS): an
event's `created_at` is taken inside its transaction, so one that commits late still falls in
the window, and each event id goes out once. Sockets drop what they already have by sequence,
so an event sent twice would do no harm either.

With Redis as the channel layer every process broadcasts to every socket, and the tail does
not run (ORDERFLOW_EVENT_TAIL=auto); `on` forces it, `off` turns it off.
"""

import asyncio
import logging
import threading
import time
from datetime import datetime, timedelta

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.utils import timezone

from orders.models import TrackingEvent
from tracking.broadcast import broadcast_here, event_messages
from tracking.database import database_sync_to_async

logger = logging.getLogger(__name__)

_tail: "CommittedEventTail | None" = None
_tail_lock = threading.Lock()


def tail_wanted(layer=None) -> bool:
    mode = settings.ORDERFLOW_EVENT_TAIL
    if mode == "off":
        return False
    if mode == "on":
        return True
    return isinstance(layer if layer is not None else get_channel_layer(), InMemoryChannelLayer)


def _recent_event_ids(since: datetime) -> list[tuple[str, datetime]]:
    rows = TrackingEvent.objects.filter(created_at__gte=since).values_list("pk", "created_at")
    return [(str(pk), created_at) for pk, created_at in rows]


def _events_with_messages(ids: list[str]) -> list[tuple[TrackingEvent, list]]:
    """The events in commit order, each with its group messages; built here, in a thread, since a
    message may read more of the order (a courier's preview reads its restaurant)."""
    events = TrackingEvent.objects.filter(pk__in=ids).select_related("order", "order__restaurant")
    ordered = sorted(events, key=lambda event: (event.created_at, str(event.order_id), event.sequence))
    return [(event, list(event_messages(event))) for event in ordered]


class CommittedEventTail:
    def __init__(self, layer, *, interval: float, lookback: float) -> None:
        self.layer = layer
        self.interval = interval
        self.lookback = timedelta(seconds=lookback)
        self.seen: dict[str, datetime] = {}
        self.task: asyncio.Task | None = None
        self.started = timezone.now()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.task = loop.create_task(self.run())

    async def run(self) -> None:
        read_ids = database_sync_to_async(_recent_event_ids)
        read_events = database_sync_to_async(_events_with_messages)
        # What was committed before this process served anyone, every page renders by itself.
        for event_id, created_at in await read_ids(self.started - self.lookback):
            if created_at < self.started:
                self.seen[event_id] = created_at
        while True:
            try:
                await asyncio.sleep(self.interval)
                rows = await read_ids(timezone.now() - self.lookback)
                fresh = self.take_unseen(rows)
                if fresh:
                    await self.broadcast(await read_events(fresh))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("the committed-event tail failed a round; it tries again")

    def take_unseen(self, rows: list[tuple[str, datetime]]) -> list[str]:
        horizon = timezone.now() - 2 * self.lookback
        self.seen = {event_id: at for event_id, at in self.seen.items() if at >= horizon}
        sent_here = broadcast_here(forget_before=time.monotonic() - 2 * self.lookback.total_seconds())
        fresh = []
        for event_id, created_at in rows:
            if event_id in self.seen:
                continue
            self.seen[event_id] = created_at
            if event_id not in sent_here:
                fresh.append(event_id)
        return fresh

    async def broadcast(self, events: list[tuple[TrackingEvent, list]]) -> None:
        for event, messages in events:
            for group, message in messages:
                try:
                    await self.layer.group_send(group, message)
                except Exception:
                    logger.exception("tail: no broadcast of order %s sequence %s", event.order_id, event.sequence)


def ensure_tail_running() -> None:
    """Start this process's tail in the running event loop, once, when it is wanted."""
    global _tail
    if _tail is not None and _tail.task is not None and not _tail.task.done():
        return
    layer = get_channel_layer()
    if layer is None or not tail_wanted(layer):
        return
    with _tail_lock:
        if _tail is not None and _tail.task is not None and not _tail.task.done():
            return
        _tail = CommittedEventTail(
            layer,
            interval=settings.ORDERFLOW_EVENT_TAIL_SECONDS,
            lookback=settings.ORDERFLOW_EVENT_TAIL_LOOKBACK_SECONDS,
        )
        _tail.start(asyncio.get_running_loop())


class CommittedEventTailStarter:
    """ASGI middleware: the first connection of any kind starts the process's tail (daphne and
    `runserver` have no lifespan events to start it from)."""

    _asgi_single_callable = True  # handed on, not awaited: asgiref must not take it for ASGI 2

    def __init__(self, application) -> None:
        self.application = application

    def __call__(self, scope, receive, send):
        # The application's coroutine is returned, not awaited: a socket held all day keeps no
        # frame of this layer.
        if scope["type"] in ("http", "websocket"):
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # called outside the loop: start the tail from inside it
                return self._start_then(scope, receive, send)
            ensure_tail_running()
        return self.application(scope, receive, send)

    async def _start_then(self, scope, receive, send):
        ensure_tail_running()
        return await self.application(scope, receive, send)
