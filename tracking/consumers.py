"""WebSocket consumers: thin. Who may see what comes from orders.visibility (via
tracking.selectors), exactly-once ordering from tracking.streams. Here: what every socket shares
(LiveConsumer) and the order socket (`ws/orders/<id>/`); the `ws/orders/` hub is in
tracking/hub_consumers.py, the kitchen, listing and courier sockets in tracking/board_consumers.py.

Close codes (after the handshake is accepted, so that clients can read them):

| code | meaning |
| --- | --- |
| 1000 | no more live changes are expected (orders.lifecycle.order_is_final); the final event went out here |
| 4410 | gone, reconnecting brings no more: the order had ended before the socket opened (the |
|      | snapshot says how), or a tracking link expired after its order ended (`ws/track/{token}/`) |
| 4400 | a malformed query parameter (e.g. `after`) |
| 4401 | not authenticated: no session, no token, or a bad or expired token |
| 4403 | this kind of socket is not for you (e.g. `ws/courier/` for a non-courier) |
| 4404 | no such order or restaurant, or not yours; also sent when it stops being visible |

Open sockets check again (`LiveConsumer.recheck_later`, tracking/timers.py) every ORDERFLOW_WS_RECHECK_SECONDS (at
most 60 s) and when their access token expires: an expired token (4401; a client sends
`{"action": "authenticate", "token": "<new access token>"}` before then to carry on), a
deactivated user or an ended session (4401), or the access the socket was opened with ending
(a staff membership, a courier assignment, a tracking link: 4404; a courier profile: 4403) close
it, and nothing is sent after the close. A kitchen socket also checks before each event it sends.
"""

import asyncio
import functools
import json
import logging
import random
import time
from datetime import UTC, datetime
from typing import Any, cast

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from core.actors import ActorRole
from core.timestamps import iso
from orders.services.deadlines import sweep_overdue_on_read
from tracking.auth import query_param, still_signed_in, token_user_and_expiry
from tracking.database import database_sync_to_async
from tracking.groups import (
    order_group,
)
from tracking.payloads import courier_event_payload, native_wire, payload_is_final
from tracking.selectors import (
    OrderWatch,
    order_watch,
    order_watch_holds,
)
from tracking.streams import LocationThrottle, OrderSequences, parse_after, start_after
from tracking.timers import socket_timers

logger = logging.getLogger(__name__)

CLOSE_FINAL = 1000
CLOSE_ALREADY_FINAL = 4410
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_GONE = 4410
# RFC 6455 1011: the server met a condition that kept it from serving the socket. The client
# reconnects with `after` and misses nothing.
CLOSE_SERVER_ERROR = 1011

MAX_CLIENT_MESSAGE_BYTES = 4096


@database_sync_to_async
def get_order_watch(*, user, order_id) -> OrderWatch | None:
    """order_watch, once a deadline that has passed is carried out (like GET /api/orders/{id}/status/):
    a socket never shows an overdue order as still waiting."""
    watch = order_watch(user=user, order_id=order_id)
    if watch is not None and sweep_overdue_on_read(order_id=watch.snapshot["order_id"], deadline_at=watch.deadline_at):
        watch = order_watch(user=user, order_id=order_id)
    return watch


# Pauses between attempts to leave a group while the layer is busy (then the membership expires).
LEAVE_RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0)
# ... and to join one (then the socket closes, 1011, and the client reconnects with `after`).
JOIN_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)


def group_expiry(layer) -> float:
    return getattr(layer, "group_expiry", 86400)


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """What every live socket shares: refusing with a readable close code, group bookkeeping,
    tolerant parsing of client messages, and never sending after closing."""

    # Messages leave in the order-process document's words (tracking.payloads.native_wire);
    # a contract's socket that speaks another document's turns this off.
    speaks_native = True

    async def websocket_connect(self, message):
        self.joined: set[str] = set()
        self.renewing = self.rechecking = False
        self.closing = False
        self.sequences = OrderSequences()
        self.locations = LocationThrottle(self.send_json, settings.ORDERFLOW_LOCATION_THROTTLE_SECONDS)
        await super().websocket_connect(message)

    async def dispatch(self, message):
        # Channels closes stale database connections (a call in a database thread) before every
        # message; these handlers only touch the database through database_sync_to_async
        # (tracking/database.py), which does that cleaning itself, around each call. Skipping it
        # spares the database threads a call per broadcast to each socket of a busy order and per
        # handshake of a reconnect storm.
        handler = getattr(self, get_handler_name(message), None)
        if handler is not None:
            return await handler(message)
        return await super().dispatch(message)

    async def __call__(self, scope, receive, send):
        """channels' AsyncConsumer.__call__ with its `await_many_dispatch` in the same frame: the
        next message from the client or from the socket's groups, as it comes, to `dispatch`.
        A socket held all day waits on one future that its sources complete, not on a chain of
        coroutines (nor on `asyncio.wait`'s)."""
        self.accepted = self.ended = False
        self.scope = scope
        self.base_send = send
        layer = get_channel_layer(self.channel_layer_alias)
        self.channel_layer = cast("Any", layer)
        sources = [receive]
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] | None = None

        def wake(_: asyncio.Future) -> None:
            if woken is not None and not woken.done():
                woken.set_result(None)

        def start(source) -> asyncio.Future:
            task = asyncio.ensure_future(source())
            task.add_done_callback(wake)
            return task

        tasks: list[asyncio.Future] = []
        quietly = False
        try:
            if layer is not None:
                self.channel_name = await layer.new_channel()
                self.channel_receive = cast("Any", functools.partial(layer.receive, self.channel_name))
                sources.append(self.channel_receive)
            tasks = [start(source) for source in sources]
            while True:
                if not any(task.done() for task in tasks):
                    woken = loop.create_future()
                    await woken
                    woken = None
                for index, task in enumerate(tasks):
                    if task.done():
                        await self.dispatch(task.result())
                        tasks[index] = start(sources[index])
        except StopConsumer:
            quietly = True
        except asyncio.CancelledError:
            quietly = True
            raise
        finally:
            # However the socket ended (closed, or its application stopped by an error such as
            # the channel layer's Redis failing over), its renewals and re-checks stop with it:
            # left running, they would renew a dead socket's memberships and query the database
            # for it every interval, for the life of the process.
            self.stop_background_work()
            for task in tasks:
                task.cancel()
            # Their outcomes are taken (a source that failed raised here already).
            await asyncio.gather(*tasks, return_exceptions=True)
            if quietly and self.accepted and not self.ended:
                await self._close_abandoned(send)

    async def _close_abandoned(self, send) -> None:
        """The application ended (returned or was cancelled) while its socket was open, and neither
        side closed it. The server closes a socket only when its application raises: this one would
        stay open with nothing behind it, its client waiting for events that never come. Closed with
        1011, the client reconnects with `after` and misses nothing."""
        logger.warning("a socket's application ended while the socket was open: closing it (%s)", CLOSE_SERVER_ERROR)
        self.ended = True
        try:
            await send({"type": "websocket.close", "code": CLOSE_SERVER_ERROR})
        except Exception:  # the connection went in the meantime: nothing is left to close
            logger.debug("the abandoned socket was already gone", exc_info=True)

    async def websocket_disconnect(self, message):
        self.ended = True
        if not hasattr(self, "joined"):
            # Its client left while it waited for its turn to connect (config/asgi_limits.py):
            # nothing was joined or started.
            raise StopConsumer
        await super().websocket_disconnect(message)

    def stop_background_work(self) -> None:
        # Its renewals and re-checks (tracking/timers.py) skip a closing socket, and drop it.
        self.closing = True
        locations = getattr(self, "locations", None)
        if locations is not None:
            locations.close()

    @property
    def user(self):
        return self.scope.get("user")

    def authenticated(self) -> bool:
        return self.user is not None and self.user.is_authenticated

    async def refuse(self, code: int) -> None:
        self.closing = True
        await self.accept()
        await self.close(code=code)

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol=subprotocol, headers=headers)
        self.accepted = True
        if not self.closing and not self.rechecking:
            self.rechecking = True
            self.recheck_later()

    def recheck_later(self) -> None:
        """Until the socket closes, its access is checked again every ORDERFLOW_WS_RECHECK_SECONDS
        and when its token expires (tracking/timers.py), and the socket closed once it has ended."""
        socket_timers().recheck_later(self, settings.ORDERFLOW_WS_RECHECK_SECONDS)

    def token_ended(self) -> int | None:
        """CLOSE_UNAUTHENTICATED once the socket's token has expired (checked before
        `access_beyond_token`, socket by socket: tokens differ where the rest is shared)."""
        expires_at = cast("float | None", self.scope.get("token_expires_at"))
        if expires_at is not None and expires_at <= time.time():
            return CLOSE_UNAUTHENTICATED
        return None

    async def access_beyond_token(self) -> int | None:
        """The user still active and signed in, and what the socket relies on beyond them."""
        if self.authenticated() and not await still_signed_in(self.scope):
            return CLOSE_UNAUTHENTICATED
        return await self.access_lost()

    def recheck_key(self) -> object | None:
        """Sockets with the same key get the same answer from `access_beyond_token` (the same user,
        signed in the same way, relying on the same thing): one check serves them all within a
        pass. None: this socket's answer is its own."""
        return None

    def sign_in_key(self) -> tuple:
        session = self.scope.get("session")
        token_socket = self.scope.get("token_expires_at") is not None
        return (self.user.pk, token_socket, None if token_socket or session is None else session.session_key)

    async def access_lost(self) -> int | None:
        """What a kind of socket relies on beyond its user (an order it may see, a restaurant)."""
        return None

    async def end_access(self, code: int) -> None:
        await self.close(code=code)

    async def reauthenticate(self, raw_token) -> None:
        """`{"action": "authenticate", "token": ...}`: a fresh access token of the same user keeps
        a token socket open past the first token's expiry."""
        if self.scope.get("token_expires_at") is None:
            return await self.send_error("bad_request", "Only a socket opened with a token takes a new one.")
        user, expires_at = await token_user_and_expiry(raw_token) if isinstance(raw_token, str) else (None, None)
        if expires_at is None or not user.is_authenticated or user.pk != self.user.pk:
            return await self.send_error("token_invalid", "The token is not valid for this socket.")
        self.scope["token_expires_at"] = max(expires_at, self.scope["token_expires_at"])
        expires = datetime.fromtimestamp(self.scope["token_expires_at"], tz=UTC)
        await self.send_json({"type": "authenticated", "expires_at": iso(expires)})

    async def close(self, code=None, reason=None):
        self.closing = self.ended = True
        self.locations.close()
        await super().close(code=code, reason=reason)

    async def send_json(self, content, close=False):
        if not self.closing:
            await super().send_json(native_wire(content) if self.speaks_native else content, close=close)

    async def join(self, group: str) -> None:
        """Join a group; a busy layer (its connection pool used up by a burst of handshakes, as
        after a deploy) is asked again a few times, with jitter, before the socket gives up."""
        for delay in (*JOIN_RETRY_DELAYS, None):
            try:
                await self.channel_layer.group_add(group, self.channel_name)
                break
            except Exception:
                if delay is None:
                    raise
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 -- retry jitter, not a secret
        self.joined.add(group)
        if not self.renewing:
            self.renewing = True
            self.renew_later()

    def renew_later(self) -> None:
        """Memberships expire (the layer's `group_expiry`) unless renewed: an open socket renews
        its own, so one that could not leave is dropped from its groups soon after, not in a day."""
        socket_timers().renew_later(self, max(1.0, group_expiry(self.channel_layer) / 3))

    async def renew_memberships(self) -> None:
        for group in list(self.joined):
            try:
                await self.channel_layer.group_add(group, self.channel_name)
            except Exception:
                logger.warning("could not renew group %s", group)
        if not self.closing:
            self.renew_later()

    async def leave(self, group: str) -> None:
        self.joined.discard(group)
        await self.channel_layer.group_discard(group, self.channel_name)

    async def _leave_persistently(self, group: str) -> None:
        """A busy layer (a full connection pool) refuses for a moment: try again, briefly."""
        for delay in LEAVE_RETRY_DELAYS:
            try:
                await self.leave(group)
                return
            except Exception:
                await asyncio.sleep(delay)
        try:
            await self.leave(group)
        except Exception:
            logger.warning("could not leave group %s; it expires in %s s", group, group_expiry(self.channel_layer))

    async def disconnect(self, code):
        self.stop_background_work()
        await asyncio.gather(*(self._leave_persistently(group) for group in list(self.joined)))

    async def send_error(self, code: str, detail: str, **extra) -> None:
        await self.send_json({"type": "error", "code": code, "detail": detail, **extra})

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None or len(text_data) > MAX_CLIENT_MESSAGE_BYTES:
            await self.send_error("bad_request", f"Send JSON text of at most {MAX_CLIENT_MESSAGE_BYTES} bytes.")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.send_error("bad_request", "Messages must be JSON.")
            return
        if not isinstance(content, dict):
            await self.send_error("bad_request", "Messages must be JSON objects.")
            return
        if content.get("action") == "authenticate":
            await self.reauthenticate(content.get("token"))
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        await self.send_error("bad_request", "This socket does not take messages.")

    async def send_events(self, payloads: list[dict], kind: str = "event") -> None:
        for payload in payloads:
            await self.send_json({"type": kind, **self.shown(payload)})

    def shown(self, payload: dict) -> dict:
        """An event as this socket's user may see it."""
        return payload

    async def order_location(self, message):
        location = message["location"]
        if location["order_id"] in self.sequences:
            await self.locations.offer(location["order_id"], {"type": "location", **location})


class OrderConsumer(LiveConsumer):
    """`ws/orders/<order_id>/[?after=N]`: one order, as the order-process API describes it.

    Sends a `snapshot` (lean status, last sequence, courier position when on the road), then
    with `after` every event with a higher sequence from the history, then live events, each
    exactly once and in sequence order. Closes with 1000 once no more live changes are expected
    (orders.lifecycle.order_is_final: a cancelled paid order's refund is followed to its end).
    """

    async def connect(self):
        if not self.authenticated():
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        try:
            after = parse_after(query_param(self.scope, "after"))
        except ValueError:
            return await self.refuse(CLOSE_BAD_REQUEST)
        self.order_id = str(self.scope["url_route"]["kwargs"]["order_id"])
        access = await get_order_watch(user=self.user, order_id=self.order_id)
        if access is None:
            return await self.refuse(CLOSE_NOT_FOUND)
        self.actor = access.actor
        await self.accept()
        final = payload_is_final(access.snapshot)
        await self.send_json({"type": "snapshot", "event_type": "order.snapshot", "final": final, **access.snapshot})
        # Join before reading the history: whatever commits after the read arrives live, and
        # what arrives live that the read already had is dropped by sequence.
        await self.join(order_group(self.order_id))
        self.sequences.start(self.order_id, await start_after(access.snapshot, after, order_id=self.order_id))
        replay = await self.sequences.catch_up(self.order_id)
        await self.send_events(replay)
        if replay and payload_is_final(replay[-1]):
            await self.close(code=CLOSE_FINAL)
        elif final:
            # Reconnecting after the final event: nothing was missed, nothing more will come. A
            # code of its own, so a client that reconnects on every close can tell it to stop.
            await self.close(code=CLOSE_ALREADY_FINAL)

    async def access_lost(self) -> int | None:
        holds = await database_sync_to_async(order_watch_holds)(user=self.user, order_id=self.order_id)
        return None if holds else CLOSE_NOT_FOUND

    def recheck_key(self) -> object | None:
        return (type(self), self.order_id, *self.sign_in_key())

    def shown(self, payload: dict) -> dict:
        return courier_event_payload(payload) if self.actor.role == ActorRole.COURIER else payload

    async def order_event(self, message):
        if self.closing:
            return
        courier_id = message.get("courier_id")
        if self.actor.role == ActorRole.COURIER and courier_id not in (None, self.user.pk):
            # Another courier claimed the order this courier was offered: no longer theirs to see.
            return await self.close(code=CLOSE_NOT_FOUND)
        last = await self.sequences.deliver(message, self.send_events)
        if last is not None and payload_is_final(last):
            await self.close(code=CLOSE_FINAL)


class UnknownPathConsumer(LiveConsumer):
    async def connect(self):
        await self.refuse(CLOSE_NOT_FOUND)
