"""What an open socket keeps while it waits. A socket may stay open all day, and a process holds
thousands: every layer of the ASGI stack that awaits the next keeps a coroutine for the socket's
life. The stack hands the connection on instead (the origin check, the credential router, the
token, the handshake limit, the socket count, the URL router), so an idle socket waits in one
frame, its consumer's, and its client's messages are read without a frame of the stack."""

import pytest

from tests.tracking.conftest import open_socket, receive, run_async

pytestmark = pytest.mark.django_db(transaction=True)


def frames(awaitable) -> list[str]:
    """The coroutines a task (or a coroutine) waits in, outermost first."""
    coroutine = awaitable.get_coro() if hasattr(awaitable, "get_coro") else awaitable
    names = []
    while coroutine is not None and hasattr(coroutine, "cr_code"):
        names.append(coroutine.cr_code.co_qualname)
        coroutine = coroutine.cr_await
    return names


@pytest.mark.parametrize(("path", "greeting"), [("ws/orders/{order}/", "snapshot"), ("ws/orders/", None)])
@run_async
async def test_an_open_socket_waits_in_its_consumers_frame_alone(placed, customer, path, greeting):
    communicator = await open_socket(path.format(order=placed.pk), customer)
    if greeting is not None:
        assert (await receive(communicator))["type"] == greeting
    assert await communicator.receive_nothing(timeout=0.2)

    assert frames(communicator.future) == ["LiveConsumer.__call__"]
    consumer_frame = communicator.future.get_coro().cr_frame
    client_messages, group_messages = consumer_frame.f_locals["tasks"]
    # The server's own receive (here the test's queue), with nothing of the stack around it.
    assert frames(client_messages) == ["Queue.get"]
    assert frames(group_messages)[0] == "InMemoryChannelLayer.receive"  # the channel layer's own
    await communicator.disconnect()
