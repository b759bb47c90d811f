"""What the socket tests share. They drive the real ASGI application (auth, routing, consumers)
with the in-process channel layer; orders move through the same services the API and admin call."""

import functools
import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from config.asgi import application
from tests import factories

IN_MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def placed(customer, menu):
    """A cash delivery order of one salad just placed: one event (order.placed, sequence 1)."""
    return factories.place_order(customer, menu["salad"])


@pytest.fixture(autouse=True)
def in_memory_channel_layer(request, settings):
    """Consumer tests use the in-process layer; the live-server tests bring their own Redis."""
    if request.node.get_closest_marker("live_server") is None:
        settings.CHANNEL_LAYERS = IN_MEMORY_LAYER


def run_async(test):
    """Run an async test body on one event loop, with database work on the test's thread."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return async_to_sync(test)(*args, **kwargs)

    return wrapper


def token_for(user) -> str:
    return str(AccessToken.for_user(user))


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def socket(path: str, user=None, *, token: str | None = None, headers=None) -> WebsocketCommunicator:
    """A client socket on the real ASGI application (auth middleware and routing included)."""
    if user is not None and token is None:
        token = token_for(user)
    if token is not None:
        path += ("&" if "?" in path else "?") + f"token={token}"
    return WebsocketCommunicator(application, path, headers=headers or [])


async def open_socket(path: str, user=None, **kwargs) -> WebsocketCommunicator:
    communicator = socket(path, user, **kwargs)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def close_code(communicator: WebsocketCommunicator) -> int | None:
    """The code the server closed with, skipping nothing: the next output must be the close."""
    output = await communicator.receive_output(timeout=2)
    assert output["type"] == "websocket.close", output
    return output.get("code")


async def receive(communicator: WebsocketCommunicator) -> dict:
    return await communicator.receive_json_from(timeout=2)


async def receive_all(communicator: WebsocketCommunicator) -> list[dict]:
    """Every message until the socket goes quiet."""
    messages = []
    while not await communicator.receive_nothing(timeout=0.2):
        output = await communicator.receive_output(timeout=1)
        if output["type"] == "websocket.close":
            messages.append({"closed": output.get("code")})
            break
        messages.append(json.loads(output["text"]))
    return messages


def specific_type(message: dict) -> str:
    """The event's own type: a status change is sent as `order.status_changed` with its specific
    type last in `event_types` (tracking.payloads.native_wire)."""
    return message.get("event_types", [message.get("event_type")])[-1]


def events_of(messages: list[dict]) -> list[tuple[int, str]]:
    return [(m["sequence"], specific_type(m)) for m in messages if m.get("type") == "event"]


@pytest.fixture
def confirmed(placed, staff_user):
    factories.confirm(placed.pk, staff_user)
    return placed
