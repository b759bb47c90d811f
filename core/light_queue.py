"""A queue for one reader, as light as a socket that waits all day needs.

Every open socket holds two queues: the server's (the messages of its client) and the channel
layer's (the messages of its groups). `asyncio.Queue` keeps three deques and an `Event` with a
deque of its own, about 3 KiB, though a socket's queue is empty nearly always and has one reader.
This one keeps a list only while it holds something, and one future while its reader waits.
`capacity`, when given, drops the oldest message when full, as channels_redis's BoundedQueue
does (a consumer that has stopped reading must not make the process grow for ever).
"""

import asyncio
from typing import Any


class LightQueue:
    __slots__ = ("_items", "_waiter", "capacity")

    def __init__(self, capacity: int = 0) -> None:
        self.capacity = capacity
        self._items: list[Any] | None = None
        self._waiter: asyncio.Future[Any] | None = None

    def put_nowait(self, item: Any) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._waiter = None
            waiter.set_result(item)
            return
        if self._items is None:
            self._items = []
        elif self.capacity and len(self._items) >= self.capacity:
            del self._items[0]
        self._items.append(item)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        item = self._items.pop(0)
        if not self._items:
            self._items = None
        return item

    async def get(self) -> Any:
        if self._items:
            return self.get_nowait()
        if self._waiter is not None and not self._waiter.done():
            raise RuntimeError("LightQueue has one reader")
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            return await waiter
        finally:
            if self._waiter is waiter:
                self._waiter = None

    @property
    def waiting(self) -> bool:
        """Whether its reader is waiting for the next message."""
        return self._waiter is not None and not self._waiter.done()

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return bool(self.capacity) and self.qsize() >= self.capacity
