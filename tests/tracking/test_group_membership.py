"""Group memberships of sockets: released on close even while the layer is busy, renewed while
a socket is open, and gone soon after when a release fails anyway (the layer's group expiry)."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, channel_layers

from tests import factories
from tests.tracking.conftest import open_socket, receive_all, run_async
from tracking.groups import order_group

pytestmark = pytest.mark.django_db(transaction=True)
EXPIRY = 3


@pytest.fixture
def layer(settings):
    backend = {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"group_expiry": EXPIRY}}
    settings.CHANNEL_LAYERS = {"default": backend}
    channel_layers.backends.clear()
    yield channel_layers["default"]
    channel_layers.backends.clear()


class BusyLayer(InMemoryChannelLayer):
    """Refuses the first few calls of one group method (`group_discard` unless told), as a layer
    whose connection pool is used up does."""

    def __init__(self, refusals: int, refusing: str = "group_discard", **kwargs):
        super().__init__(**kwargs)
        self.refusals = refusals
        self.refusing = refusing

    def _refuse(self, method: str) -> None:
        if method == self.refusing and self.refusals > 0:
            self.refusals -= 1
            raise ConnectionError("Too many connections")

    async def group_discard(self, group, channel):
        self._refuse("group_discard")
        return await super().group_discard(group, channel)

    async def group_add(self, group, channel):
        self._refuse("group_add")
        return await super().group_add(group, channel)


@run_async
async def test_a_closing_socket_leaves_its_group_although_the_layer_refuses_at_first(settings, placed, customer):
    busy = BusyLayer(refusals=3, group_expiry=EXPIRY)
    channel_layers.backends["default"] = busy
    try:
        communicator = await open_socket(f"ws/orders/{placed.pk}/", customer)
        await receive_all(communicator)
        assert len(busy.groups.get(order_group(placed.pk), {})) == 1

        await communicator.disconnect()

        assert busy.refusals == 0
        assert not busy.groups.get(order_group(placed.pk))
    finally:
        channel_layers.backends.clear()


@run_async
async def test_an_open_socket_renews_its_membership_past_the_expiry(layer, placed, customer, staff_user):
    communicator = await open_socket(f"ws/orders/{placed.pk}/", customer)
    await receive_all(communicator)

    await asyncio.sleep(EXPIRY * 1.7)
    await database_sync_to_async(factories.confirm)(placed.pk, staff_user)

    await asyncio.sleep(0.5)
    messages = await receive_all(communicator)
    assert any(m.get("type") == "event" and m.get("sequence") == 2 for m in messages), messages
    await communicator.disconnect()


@run_async
async def test_a_membership_that_could_not_be_released_expires(placed, customer):
    stuck = BusyLayer(refusals=1000, group_expiry=EXPIRY)
    channel_layers.backends["default"] = stuck
    try:
        communicator = await open_socket(f"ws/orders/{placed.pk}/", customer)
        await receive_all(communicator)
        await communicator.disconnect()
        assert stuck.groups.get(order_group(placed.pk))  # left behind...

        await asyncio.sleep(EXPIRY + 1)
        await stuck.group_send(order_group(placed.pk), {"type": "order.event"})

        assert not stuck.groups.get(order_group(placed.pk))  # ...and gone once it expired
    finally:
        channel_layers.backends.clear()


@run_async
async def test_a_socket_joins_its_group_although_the_layer_refuses_at_first(placed, customer, staff_user):
    busy = BusyLayer(refusals=3, refusing="group_add", group_expiry=EXPIRY)
    channel_layers.backends["default"] = busy
    try:
        communicator = await open_socket(f"ws/orders/{placed.pk}/", customer)
        await receive_all(communicator)
        for _ in range(50):  # the socket is asking again, after a pause
            if busy.groups.get(order_group(placed.pk)):
                break
            await asyncio.sleep(0.1)
        assert busy.refusals == 0 and len(busy.groups.get(order_group(placed.pk), {})) == 1

        await database_sync_to_async(factories.confirm)(placed.pk, staff_user)
        await asyncio.sleep(0.3)
        messages = await receive_all(communicator)
        assert any(m.get("type") == "event" and m.get("sequence") == 2 for m in messages), messages
        await communicator.disconnect()
    finally:
        channel_layers.backends.clear()


class FailingLayer(InMemoryChannelLayer):
    """Raises in a socket's receive when told to, as a Redis layer does when its primary dies
    (the socket's application stops with the error), and counts the memberships asked for."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.group_adds = 0

    async def group_add(self, group, channel):
        self.group_adds += 1
        return await super().group_add(group, channel)

    async def receive(self, channel):
        message = await super().receive(channel)
        if message["type"] == "test.fail":
            raise ConnectionError("Redis went away")
        return message


@run_async
async def test_a_socket_stopped_by_a_layer_error_stops_renewing_its_memberships(placed, customer):
    failing = FailingLayer(group_expiry=EXPIRY)
    channel_layers.backends["default"] = failing
    try:
        communicator = await open_socket(f"ws/orders/{placed.pk}/", customer)
        await receive_all(communicator)
        (channel,) = failing.groups[order_group(placed.pk)]

        await failing.send(channel, {"type": "test.fail"})
        with pytest.raises(ConnectionError):
            await communicator.wait(timeout=2)
        adds = failing.group_adds

        # Renewals come every EXPIRY / 3 s (at least 1 s) while a socket lives; none for this one.
        await asyncio.sleep(2.5)
        assert failing.group_adds == adds
    finally:
        channel_layers.backends.clear()
