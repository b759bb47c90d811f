"""The committed-event tail (tracking/tail.py): what another process commits reaches this
process's in-memory layer once; what this process broadcast itself is not sent again."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer
from django.db import connections
from django.utils import timezone

from tests import factories
from tracking import broadcast
from tracking.groups import order_group
from tracking.tail import CommittedEventTail, _recent_event_ids

pytestmark = pytest.mark.django_db(transaction=True)


async def _receive_all(layer, channel, seconds: float) -> list[dict]:
    messages = []
    try:
        while True:
            messages.append(await asyncio.wait_for(layer.receive(channel), seconds))
    except TimeoutError:
        return messages


def test_the_tail_sends_each_event_committed_elsewhere_once_and_skips_its_own(
    customer, restaurant, menu, staff_user, settings, monkeypatch
):
    order = factories.place_order(customer, menu["salad"])  # before the tail

    # One thread stands for the other process (and, later, this one's request threads).
    other = ThreadPoolExecutor(max_workers=1)

    def elsewhere_run(function, *args):
        return asyncio.get_running_loop().run_in_executor(other, function, *args)

    async def scenario() -> tuple[list[dict], list[str], bool]:
        layer = InMemoryChannelLayer()
        channel = await layer.new_channel()
        await layer.group_add(order_group(order.pk), channel)
        tail = CommittedEventTail(layer, interval=0.05, lookback=60)
        tail.start(asyncio.get_running_loop())
        await asyncio.sleep(0.3)  # its first read: what was committed before it started
        # Another process commits: its broadcast is none of this process's.
        with monkeypatch.context() as elsewhere:
            elsewhere.setattr(broadcast, "_note_sent_here", lambda events: None)
            await elsewhere_run(factories.confirm, order.pk, staff_user)
            first = await _receive_all(layer, channel, 1.0)
        assert tail.task is not None  # started above
        tail.task.cancel()
        # An event this process broadcast itself is left alone (the tail's next read, by hand).
        settings.ORDERFLOW_EVENT_TAIL = "on"
        result = await elsewhere_run(factories.start_preparing, order.pk, staff_user)
        rows = await elsewhere_run(_recent_event_ids, timezone.now() - timedelta(seconds=60))
        # The test database is dropped at the end: no thread may keep a connection to it.
        await elsewhere_run(connections.close_all)
        await database_sync_to_async(connections.close_all)()
        return first, tail.take_unseen(rows), str(result.event.pk) in {event_id for event_id, _ in rows}

    first, unseen, committed = asyncio.run(scenario())
    other.shutdown()
    assert [(m["type"], m["event"]["sequence"], m["event"]["new_status"]) for m in first] == [
        ("order.event", 2, "RESTAURANT_CONFIRMED")
    ]
    assert committed and unseen == []
