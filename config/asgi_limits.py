"""The ASGI edge: a request body larger than the limit is refused before Django reads it, and a
process opens only so many sockets at once.

Django itself refuses a body over `DATA_UPLOAD_MAX_MEMORY_SIZE` only once a view reads it, after
the whole body has been spooled; here a declared `Content-Length` over the limit is answered 413
at once, and a body that turns out longer than declared (or chunked) is cut off at the limit.

A socket's handshake (its token's user, the order it may watch, the replay) is database work, and
every socket of a process shares a few database threads (tracking/database.py). When a thousand
sockets reconnect at once (a host deployed or lost, a Redis failover) each handshake's calls join
the back of one long queue, one call after the other: each handshake then takes longer than its
client waits, the clients try again, and their new attempts add to the queue while the abandoned
ones still run, until no handshake finishes at all. `WebSocketHandshakeLimit` lets a few
handshakes at a time into the application's connect handler; the others wait their turn in the
event loop, and one whose client leaves while it waits is handed its disconnect instead: its
connect handler never runs, and it does no database work.
"""

import asyncio
import json

from django.conf import settings

from core.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE


def _too_large_body(limit: int) -> bytes:
    return json.dumps(
        {
            "type": PROBLEM_TYPE_BASE + "request-too-large",
            "title": "The request is too large",
            "status": 413,
            "detail": f"Request bodies are limited to {limit} bytes.",
            "code": "request_too_large",
        }
    ).encode()


class BodySizeLimit:
    def __init__(self, app, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit or settings.ORDERFLOW_MAX_REQUEST_BYTES
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._refuse(send, limit)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await self._refuse(send, limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, send, limit: int) -> None:
        body = _too_large_body(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class WebSocketHandshakeLimit:
    """At most `limit` (ORDERFLOW_WS_HANDSHAKES_AT_ONCE) sockets of this process between their
    `websocket.connect` and the end of the application's connect handler; the others wait, in
    the order they came, and leave the line when their client goes.

    The socket's application is handed on at once, not awaited (a layer that awaits the next keeps
    a coroutine for the socket's life); the wait happens in its first `receive()`, which gives it
    `websocket.connect` once its turn has come, or `websocket.disconnect` if its client left first:
    then the connect handler never runs. Its second `receive()` (the connect handler has
    finished) ends the turn.
    """

    _asgi_single_callable = True  # handed on, not awaited: asgiref must not take it for ASGI 2

    def __init__(self, app, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self._turns: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def turns(self) -> asyncio.Semaphore:
        # One line per event loop (the server runs one; tests start one per test).
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns[0] is not loop:
            self._turns = (loop, asyncio.Semaphore(self.limit or settings.ORDERFLOW_WS_HANDSHAKES_AT_ONCE))
        return self._turns[1]

    def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return self.app(scope, receive, send)
        turn = _HandshakeTurn(self.turns(), receive, send)
        return self.app(scope, turn.receive, turn.send)


class _HandshakeTurn:
    """One socket's place in the line: its `receive` and `send` as its application sees them.
    Once the handshake is over both hand the server's own awaitables on, keeping no frame."""

    __slots__ = ("application", "holding", "inner_receive", "inner_send", "received", "turns", "waiting")

    def __init__(self, turns: asyncio.Semaphore, receive, send) -> None:
        self.turns = turns
        self.inner_receive = receive
        self.inner_send = send
        self.received = 0
        self.holding = False
        self.waiting: asyncio.Future | None = None  # the message after websocket.connect, asked for early
        self.application: asyncio.Task | None = None

    def receive(self):
        self.received += 1
        if self.received == 1:
            # Asked from the application's own task: should it end in its connect handler (an
            # error), the turn goes back with it.
            self.application = asyncio.current_task()
            if self.application is not None:
                self.application.add_done_callback(self._application_ended)
            return self._connect_in_turn()
        self.end_turn()  # asked for the message after websocket.connect: the connect handler has finished
        if self.waiting is not None:
            waiting, self.waiting = self.waiting, None
            return waiting
        return self.inner_receive()

    async def _connect_in_turn(self) -> dict:
        connect = await self.inner_receive()
        turn = asyncio.ensure_future(self.turns.acquire())
        following = asyncio.ensure_future(self.inner_receive())
        await asyncio.wait({turn, following}, return_when=asyncio.FIRST_COMPLETED)
        if turn.done():
            self.holding = True
            self.waiting = following
            return connect
        # The client left (websocket.disconnect) before its turn came.
        turn.cancel()
        await asyncio.gather(turn, return_exceptions=True)
        if not turn.cancelled():
            self.turns.release()
        self.received = 2
        return following.result()

    def send(self, message):
        if message["type"] == "websocket.close":
            self.end_turn()
        return self.inner_send(message)

    def end_turn(self) -> None:
        if self.holding:
            self.holding = False
            self.turns.release()
        if self.application is not None:
            self.application.remove_done_callback(self._application_ended)
            self.application = None

    def _application_ended(self, _: asyncio.Task) -> None:
        self.application = None
        self.end_turn()
        if self.waiting is not None:
            self.waiting.cancel()
            self.waiting = None
