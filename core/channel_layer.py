"""The Channels layer on Redis, with one reader per process for its sockets' channels.

channels_redis's `RedisChannelLayer` lets every waiting `receive()` of a process-local channel
race for a lock, and the winner pops the process's next message from Redis for everyone. Each
waiting socket pays for that on every message: two new tasks, an `asyncio.wait`, and the
cancellation of the loser, whose exception and traceback are garbage the collector has to find.
A hot order's thousand sockets did that a thousand times per event.

Here one task per process and event loop (the reader) pops the process's messages with the same
`receive_single` (BZPOPMIN with its in-flight backup, so a cancelled pop loses nothing) and puts
each into the queue of every local channel it names; a waiting `receive()` is then one
`queue.get()`. The reader stops when no `receive()` is waiting, and a failure of the reader (Redis
unreachable) is raised in every waiting `receive()`, as it would have been in the lock holder.
Its connection pools are bounded and blocking (core.redis_connections.async_blocking_pool): when
a burst of handshakes uses every connection of the process, the next command waits for one to come
back instead of failing with MaxConnectionsError.
Everything else (sending, groups, expiry, capacity) is channels_redis's own.
"""

import asyncio
import collections
import functools
from typing import Any

import redis.asyncio
from channels_redis.core import RedisChannelLayer as ChannelsRedisLayer

from core.light_queue import LightQueue
from core.redis_connections import async_blocking_pool

# How long a stopping reader is waited for.
READER_STOP_SECONDS = 5


class _ReaderFailed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class RedisChannelLayer(ChannelsRedisLayer):  # type: ignore[misc]  # channels_redis ships no types
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reader: asyncio.Task[None] | None = None
        # A light queue per socket's channel (core/light_queue.py), bounded as channels_redis's.
        self.receive_buffer: collections.defaultdict[str, LightQueue] = collections.defaultdict(
            functools.partial(LightQueue, self.capacity)
        )

    def create_pool(self, index: int) -> redis.asyncio.ConnectionPool:
        return async_blocking_pool(self.hosts[index])

    async def receive(self, channel: str) -> Any:
        if "!" not in channel:
            return await super().receive(channel)
        assert self.require_valid_channel_name(channel)  # noqa: S101 -- channels_redis checks the same way
        real_channel = self.non_local_name(channel)
        assert real_channel.endswith(self.client_prefix + "!"), "Wrong client prefix"  # noqa: S101 -- as above
        queue = self.receive_buffer[channel]
        self.receive_count += 1
        try:
            if queue.empty():
                self._start_reader(real_channel)
            message = await queue.get()
        except asyncio.CancelledError:
            # The consumer stopped: its channel is gone, and with the last one, the reader.
            self.receive_buffer.pop(channel, None)
            self.receive_count -= 1
            if not self.receive_count:
                await self._stop_reader(real_channel)
            raise
        self.receive_count -= 1
        if isinstance(message, _ReaderFailed):
            raise message.error
        return message

    def _wake_channel(self, real_channel: str) -> str:
        return f"{real_channel}reader.wake"

    def _start_reader(self, real_channel: str) -> None:
        loop = asyncio.get_running_loop()
        if self._reader is not None and not self._reader.done() and self._reader.get_loop() is loop:
            return
        self._reader = loop.create_task(self._read(real_channel))
        self._reader.add_done_callback(lambda reader: self._reader_ended(reader, real_channel))

    def _reader_ended(self, reader: asyncio.Task[None], real_channel: str) -> None:
        """A reader cancelled by `_stop_reader` (Redis unreachable while the last socket left)
        may have been found running by receives that began while it was being stopped: they
        started no reader of their own and would wait for ever, and with them every socket the
        process holds (its queue in Redis fills up and further messages are dropped). Whoever
        still waits gets a new reader. A reader that ended otherwise either had nobody waiting
        or handed its failure to everyone who was."""
        if reader.cancelled() and self.receive_count and (self._reader is None or self._reader.done()):
            self._start_reader(real_channel)

    async def _stop_reader(self, real_channel: str) -> None:
        """Stop the reader once nobody receives, and wait for it. It is woken with a message of its
        own rather than cancelled: a Redis command cancelled while its connection is still being
        set up holds the task for seconds, past the end of a test's event loop."""
        reader = self._reader
        if reader is None or reader.done() or reader.get_loop() is not asyncio.get_running_loop():
            return
        try:
            await self.send(self._wake_channel(real_channel), {"type": "orderflow.reader.wake"})
        except Exception:
            reader.cancel()  # Redis is gone: so is any command the reader has under way
        await asyncio.wait([reader], timeout=READER_STOP_SECONDS)

    async def _read(self, real_channel: str) -> None:
        """Pop this process's messages and hand each to its channels, while anyone is receiving."""
        wake = self._wake_channel(real_channel)
        try:
            while self.receive_count:
                message_channel, message = await self.receive_single(real_channel)
                for name in message_channel if isinstance(message_channel, list) else [message_channel]:
                    if name != wake:
                        self.receive_buffer[name].put_nowait(message)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failure = _ReaderFailed(error)
            for queue in self.receive_buffer.values():
                if queue.waiting:  # a receive() is waiting on it
                    queue.put_nowait(failure)
        finally:
            if self._reader is asyncio.current_task():
                self._reader = None
