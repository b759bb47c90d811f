"""core.channel_layer on this machine's Redis: one reader per process hands each message to
every local channel it names, once and in order; it stops with the last receive, and a Redis
that cannot be reached fails every waiting receive instead of leaving it hanging."""

import asyncio
import uuid

import pytest
import redis
from django.conf import settings

from config.settings.services import redis_channel_layer
from core.channel_layer import RedisChannelLayer

pytestmark = pytest.mark.integration


def make_layer(url: str | None = None) -> RedisChannelLayer:
    config = redis_channel_layer(url or settings.REDIS_URL)["CONFIG"]
    return RedisChannelLayer(**config, prefix=f"test-{uuid.uuid4().hex[:8]}")


def test_the_settings_use_this_layer():
    assert redis_channel_layer("redis://127.0.0.1:6379/0")["BACKEND"] == "core.channel_layer.RedisChannelLayer"


def test_every_local_channel_of_a_group_gets_each_message_once_and_in_order():
    async def scenario():
        layer = make_layer()
        channels = [await layer.new_channel() for _ in range(200)]
        for channel in channels:
            await layer.group_add("hot", channel)

        async def collect(channel):
            return [(await layer.receive(channel))["n"] for _ in range(3)]

        receivers = [asyncio.ensure_future(collect(channel)) for channel in channels]
        await asyncio.sleep(0.05)  # every receive is waiting before the first message
        for n in range(3):
            await layer.group_send("hot", {"type": "test.message", "n": n})
        received = await asyncio.wait_for(asyncio.gather(*receivers), 10)
        # Nothing more: a fourth receive on any channel is still waiting.
        extra = asyncio.ensure_future(layer.receive(channels[0]))
        done, _ = await asyncio.wait([extra], timeout=0.3)
        extra.cancel()
        await layer.flush()
        return received, done

    received, done = asyncio.run(scenario())
    assert received == [[0, 1, 2]] * 200
    assert not done


def test_a_message_that_arrives_before_its_receive_waits_for_it():
    async def scenario():
        layer = make_layer()
        first, second = await layer.new_channel(), await layer.new_channel()
        await layer.send(first, {"type": "test.message", "to": "first"})
        await layer.send(second, {"type": "test.message", "to": "second"})
        # The reader, started by the first receive, also brings the second channel's message.
        got_first = await asyncio.wait_for(layer.receive(first), 5)
        await asyncio.sleep(0.1)
        got_second = await asyncio.wait_for(layer.receive(second), 5)
        await layer.flush()
        return got_first["to"], got_second["to"]

    assert asyncio.run(scenario()) == ("first", "second")


def test_the_reader_stops_with_the_last_receive_and_the_channels_are_forgotten():
    async def scenario():
        layer = make_layer()
        channels = [await layer.new_channel() for _ in range(3)]
        waiting = [asyncio.ensure_future(layer.receive(channel)) for channel in channels]
        await asyncio.sleep(0.05)
        reader = layer._reader
        running = reader is not None and not reader.done()
        for receive in waiting:
            receive.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        await asyncio.sleep(0)
        stopped = reader.done() and layer._reader is None
        left = [channel for channel in channels if channel in layer.receive_buffer]
        await layer.flush()
        return running, stopped, left, layer.receive_count

    running, stopped, left, receiving = asyncio.run(scenario())
    assert running and stopped
    assert left == [] and receiving == 0


def test_a_redis_that_cannot_be_reached_fails_every_waiting_receive():
    async def scenario():
        layer = make_layer("redis://127.0.0.1:1/0")
        channels = [await layer.new_channel() for _ in range(3)]
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(layer.receive(channel) for channel in channels), return_exceptions=True), 10
        )
        return outcomes, layer._reader

    outcomes, reader = asyncio.run(scenario())
    assert [type(outcome).__name__ for outcome in outcomes] == ["ConnectionError"] * 3
    assert reader is None


class WakeCannotBeSent(RedisChannelLayer):
    """Redis out of reach for the one command that stops the reader (a connect that times out),
    while the reader itself is still waiting on the connection it had: as in a failover."""

    async def send(self, channel, message):
        if channel.endswith("reader.wake"):
            await asyncio.sleep(0.3)
            raise redis.exceptions.ConnectionError("Timeout connecting to server")
        return await super().send(channel, message)


def test_a_receive_that_begins_while_the_reader_is_being_stopped_still_gets_its_messages():
    async def scenario():
        config = redis_channel_layer(settings.REDIS_URL)["CONFIG"]
        layer = WakeCannotBeSent(**config, prefix=f"test-{uuid.uuid4().hex[:8]}")
        leaving, arriving = await layer.new_channel(), await layer.new_channel()
        last = asyncio.ensure_future(layer.receive(leaving))
        await asyncio.sleep(0.1)  # the reader is waiting in Redis
        last.cancel()  # the last receive leaves: the reader is to stop, and its wake cannot be sent
        await asyncio.sleep(0.1)
        following = asyncio.ensure_future(layer.receive(arriving))  # finds the reader still running
        await asyncio.gather(last, return_exceptions=True)
        await layer.send(arriving, {"type": "test.message", "n": 1})
        try:
            return await asyncio.wait_for(following, 10)
        finally:
            await layer.flush()

    assert asyncio.run(scenario()) == {"type": "test.message", "n": 1}
