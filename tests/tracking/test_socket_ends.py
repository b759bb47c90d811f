"""A socket is never left open with nothing behind it. The server closes a socket only when its
application raises; one that ends otherwise (returns, or is cancelled) while the socket is open
closes it itself with 1011, and the client reconnects with `after`. A socket that was closed by
either side is not closed again."""

import asyncio

import pytest

from tests.tracking.conftest import close_code, open_socket, receive, run_async

pytestmark = pytest.mark.django_db(transaction=True)


async def _ended(communicator) -> list[dict]:
    """What the application sent once it has ended, however it ended."""
    await asyncio.wait([communicator.future], timeout=5)
    assert communicator.future.done()
    sent = []
    while not communicator.output_queue.empty():
        sent.append(communicator.output_queue.get_nowait())
    return sent


@run_async
async def test_an_application_cancelled_under_an_open_socket_closes_it_with_1011(placed, customer):
    communicator = await open_socket(f"ws/orders/{placed.pk}/", customer)
    assert (await receive(communicator))["sequence"] == 1
    communicator.future.cancel()
    assert await _ended(communicator) == [{"type": "websocket.close", "code": 1011}]


@run_async
async def test_a_hub_whose_application_is_cancelled_closes_too(placed, customer):
    communicator = await open_socket("ws/orders/", customer)
    communicator.future.cancel()
    sent = await _ended(communicator)
    assert sent[-1] == {"type": "websocket.close", "code": 1011}
    assert [m for m in sent if m["type"] == "websocket.close"] == [sent[-1]]


@run_async
async def test_a_socket_its_client_left_is_not_closed_again(placed, customer):
    communicator = await open_socket(f"ws/orders/{placed.pk}/", customer)
    assert (await receive(communicator))["sequence"] == 1
    await communicator.disconnect()
    assert await _ended(communicator) == []


@run_async
async def test_a_socket_the_server_closed_is_not_closed_again(placed, customer):
    communicator = await open_socket("ws/orders/not-an-order/", customer)
    assert await close_code(communicator) == 4404
    communicator.future.cancel()
    assert await _ended(communicator) == []
