"""Per-socket bookkeeping that makes live delivery exactly-once and in order.

Broadcasts can arrive twice (a replay and the live copy of the same event), late (two server
processes publishing one order's events), or not at all (the channel layer was down). Each
socket remembers the last sequence it sent per order: it drops anything at or below it and,
on a jump, reads the missing events from the history before sending the new one. An event
with sequence k is committed before k + 1 is (the order row is locked), so the history
always has what a jump skipped.
"""

import asyncio
import weakref
from collections.abc import Awaitable, Callable

from tracking.database import database_sync_to_async
from tracking.payloads import payload_is_final
from tracking.selectors import event_payloads_after, order_sequence

fetch_events = database_sync_to_async(event_payloads_after)

MAX_SEQUENCE = 2**31 - 1


def parse_after(value) -> int | None:
    """A client's `after` (the last sequence it has), or None if absent; ValueError if malformed."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, str):
        if not value.isdigit():
            raise ValueError
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= MAX_SEQUENCE:
        raise ValueError
    return value


async def start_after(snapshot: dict, after: int | None, *, order_id: str) -> int:
    """Replay from the client's `after`, or from the snapshot; a client ahead of the order is not.

    A client ahead of the snapshot is checked against the database: the snapshot may come from
    Redis, which can lag the history (a write the replica had not received when it was promoted
    in a failover), and replaying from it would send the client events it already has."""
    if after is None:
        return snapshot["sequence"]
    if after <= snapshot["sequence"]:
        return after
    return min(after, await database_sync_to_async(order_sequence)(order_id=order_id))


# Reads of the history under way in this process, per event loop: {(order, after, before): task}.
_reads_under_way: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def fetch_events_committed_before(*, order_id: str, after: int, before: int | None = None) -> list[dict]:
    """fetch_events for events that were committed before a broadcast this socket has received
    (the gap before it, the rest of its transaction): every socket of the process that asks for
    the same ones at the same moment shares one read. A hot order's thousand sockets then make one
    query per event, not a thousand. (A read made at connection time is never shared: an event
    committed between another socket's read and this one's joining the group would be missed.)
    """
    reads = _reads_under_way.setdefault(asyncio.get_running_loop(), {})
    key = (str(order_id), after, before)
    read = reads.get(key)
    if read is None:
        read = reads[key] = asyncio.ensure_future(fetch_events(order_id=order_id, after=after, before=before))
        read.add_done_callback(lambda _: reads.pop(key, None))
    events = await asyncio.shield(read)
    return [dict(event) for event in events]  # each socket's own copies


class OrderSequences:
    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def start(self, order_id: str, sequence: int) -> None:
        self._last[str(order_id)] = sequence

    def forget(self, order_id: str) -> None:
        self._last.pop(str(order_id), None)

    def __contains__(self, order_id: str) -> bool:
        return str(order_id) in self._last

    def last(self, order_id: str) -> int | None:
        return self._last.get(str(order_id))

    async def admit(self, payload: dict, *, fill_gaps: bool = True) -> list[dict]:
        """The events to send, in order, now that `payload` has arrived: none if already sent."""
        order_id, sequence = payload["order_id"], payload["sequence"]
        last = self._last.get(order_id)
        if last is not None and sequence <= last:
            return []
        batch = []
        if fill_gaps and last is not None and sequence > last + 1:
            batch = await fetch_events_committed_before(order_id=order_id, after=last, before=sequence)
        batch.append(payload)
        self._last[order_id] = sequence
        return batch

    async def deliver(self, message: dict, send: Callable[[list[dict]], Awaitable[None]]) -> dict | None:
        """Send, with `send`, what an `order.event` message brings: admit() of its event, then what
        its transaction wrote after it, so that the order is left as that transaction left it.
        Returns the last payload sent (None if nothing was new).

        After an event that would end the stream, the history is read once more and what it
        holds is sent in a second batch: the message's `last_sequence` comes from the object that
        wrote the event, and a service may have written more through another (a refund's
        completion, then REFUND_COMPLETED). The event itself goes out before that read.
        """
        batch = await self.admit(message["event"])
        if not batch:
            return None
        batch += await self.committed_with(message)
        await send(batch)
        order_id = message["event"]["order_id"]
        if payload_is_final(batch[-1]) and order_id in self:  # (`send` may have stopped following it)
            rest = await self.catch_up(order_id, committed_with_received=True)
            if rest:
                await send(rest)
                return rest[-1]
        return batch[-1]

    async def committed_with(self, message: dict) -> list[dict]:
        """Events written in the same transaction as the broadcast one and after it (a refund
        opened by a cancellation), read from the history only when there are any."""
        payload = message["event"]
        if message.get("last_sequence", payload["sequence"]) <= self._last.get(payload["order_id"], 0):
            return []
        return await self.catch_up(payload["order_id"], committed_with_received=True)

    async def catch_up(self, order_id: str, *, committed_with_received: bool = False) -> list[dict]:
        """Events committed after the last one sent (e.g. with it, in the same transaction).

        `committed_with_received`: only the events committed together with one this socket
        received are wanted, so the read may be shared (fetch_events_committed_before)."""
        fetch = fetch_events_committed_before if committed_with_received else fetch_events
        batch = await fetch(order_id=order_id, after=self._last.get(str(order_id), 0))
        if batch:
            self._last[str(order_id)] = batch[-1]["sequence"]
        return batch


class LocationThrottle:
    """At most one courier position per order every `interval` seconds; the latest one wins.

    The first position goes out at once; those arriving within the interval replace each
    other, and the last of them goes out when the interval ends. Nothing queues up behind a
    slow client: at most one position per order is ever waiting.
    """

    def __init__(self, send: Callable[[dict], Awaitable[None]], interval: float) -> None:
        self._send = send
        self._interval = interval
        self._sent_at: dict[str, float] = {}
        self._waiting: dict[str, dict] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._flushes: set[asyncio.Task] = set()

    async def offer(self, order_id: str, location: dict) -> None:
        loop = asyncio.get_running_loop()
        if order_id in self._timers:
            self._waiting[order_id] = location
            return
        wait = self._sent_at.get(order_id, float("-inf")) + self._interval - loop.time()
        if wait <= 0:
            self._sent_at[order_id] = loop.time()
            await self._send(location)
            return
        self._waiting[order_id] = location
        self._timers[order_id] = loop.call_later(wait, self._flush_later, order_id)

    def _flush_later(self, order_id: str) -> None:
        task = asyncio.ensure_future(self._flush(order_id))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self, order_id: str) -> None:
        self._timers.pop(order_id, None)
        location = self._waiting.pop(order_id, None)
        if location is not None:
            self._sent_at[order_id] = asyncio.get_running_loop().time()
            await self._send(location)

    def drop(self, order_id: str) -> None:
        """Forget the order: its delivery is over, or the socket stopped following it."""
        timer = self._timers.pop(order_id, None)
        if timer is not None:
            timer.cancel()
        self._waiting.pop(order_id, None)
        self._sent_at.pop(order_id, None)

    def close(self) -> None:
        for order_id in list(self._timers):
            self.drop(order_id)
        for task in self._flushes:
            task.cancel()
