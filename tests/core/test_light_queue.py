"""The one-reader queue every open socket holds twice (core/light_queue.py)."""

import asyncio

import pytest

from core.light_queue import LightQueue


def run(coroutine):
    return asyncio.run(coroutine)


def test_messages_come_out_in_the_order_they_went_in():
    async def scenario():
        queue = LightQueue()
        for n in range(3):
            queue.put_nowait(n)
        return [await queue.get() for _ in range(3)], queue.empty()

    assert run(scenario()) == ([0, 1, 2], True)


def test_a_waiting_reader_gets_the_next_message():
    async def scenario():
        queue = LightQueue()
        reader = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        assert queue.waiting
        queue.put_nowait("event")
        return await reader, queue.waiting

    assert run(scenario()) == ("event", False)


def test_a_full_queue_drops_its_oldest_message():
    queue = LightQueue(capacity=2)
    for n in range(4):
        queue.put_nowait(n)
    assert queue.full() and queue.qsize() == 2
    assert [queue.get_nowait(), queue.get_nowait()] == [2, 3]
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


def test_a_cancelled_reader_leaves_the_queue_ready_for_the_next_one():
    async def scenario():
        queue = LightQueue()
        reader = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        queue.put_nowait("kept")
        return queue.waiting, await queue.get()

    assert run(scenario()) == (False, "kept")
