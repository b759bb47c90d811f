"""`ws/track/<token>/[?after=N]`: one order through its public tracking link, with no account.

The same stream as `ws/orders/<id>/` (tracking.consumers.OrderConsumer): a snapshot, then with
`after` every event with a higher sequence from the history, then live events, each exactly
once and in order (tracking.streams), and close 1000 once no more live changes are expected.
Only what a link may show goes out (tracking.public); before each message the socket checks
that the link still opens the order, so a revoked link closes with 4404 at its next message, or
at the next re-check (ORDERFLOW_WS_RECHECK_SECONDS) when no message comes.
"""

from core.errors import ApplicationError
from orders.tracking_links import TrackingLinkGone
from tracking.auth import query_param
from tracking.consumers import (
    CLOSE_BAD_REQUEST,
    CLOSE_FINAL,
    CLOSE_GONE,
    CLOSE_NOT_FOUND,
    LiveConsumer,
)
from tracking.database import database_sync_to_async
from tracking.groups import order_group
from tracking.payloads import payload_is_final
from tracking.public import public_event, public_location, tracked_order_snapshot, tracking_link_courier
from tracking.streams import parse_after, start_after


@database_sync_to_async
def _snapshot(token: str) -> tuple[str, dict] | int:
    """The link's order and snapshot, or the close code that refuses it."""
    try:
        return tracked_order_snapshot(token)
    except TrackingLinkGone:
        return CLOSE_GONE
    except ApplicationError:
        return CLOSE_NOT_FOUND


_link_courier = database_sync_to_async(tracking_link_courier)


class TrackConsumer(LiveConsumer):
    # The public tracking page's own socket (no client document): events keep their specific type.
    speaks_native = False

    async def connect(self):
        try:
            after = parse_after(query_param(self.scope, "after"))
        except ValueError:
            return await self.refuse(CLOSE_BAD_REQUEST)
        self.token = self.scope["url_route"]["kwargs"]["token"]
        found = await _snapshot(self.token)
        if isinstance(found, int):
            return await self.refuse(found)
        self.order_id, snapshot = found
        await self.accept()
        await self.send_json({"type": "snapshot", **snapshot})
        # As OrderConsumer: join before reading the history, drop by sequence what both bring.
        await self.join(order_group(self.order_id))
        self.sequences.start(self.order_id, await start_after(snapshot, after, order_id=self.order_id))
        replay = await self.sequences.catch_up(self.order_id)
        await self.send_public(replay, courier=snapshot["courier"])
        if payload_is_final(replay[-1] if replay else snapshot):
            await self.close(code=CLOSE_FINAL)

    async def send_public(self, batch: list[dict], *, courier: dict | None) -> None:
        for payload in batch:
            await self.send_json({"type": "event", **public_event(payload, courier=courier)})

    async def access_lost(self) -> int | None:
        live, _ = await _link_courier(token=self.token, order_id=self.order_id)
        return None if live else CLOSE_NOT_FOUND

    async def link_courier(self) -> tuple[bool, dict | None]:
        live, courier = await _link_courier(token=self.token, order_id=self.order_id)
        if not live:
            await self.close(code=CLOSE_NOT_FOUND)
        return live, courier

    async def order_event(self, message):
        if self.closing:
            return
        last = await self.sequences.deliver(message, self.send_linked)
        if last is not None and payload_is_final(last) and not self.closing:
            await self.close(code=CLOSE_FINAL)

    async def send_linked(self, batch: list[dict]) -> None:
        """Send a batch with the courier's public details, unless the link stopped working."""
        if self.closing:
            return
        live, courier = await self.link_courier()
        if live:
            await self.send_public(batch, courier=courier)

    async def order_location(self, message):
        location = message["location"]
        if self.closing or location["order_id"] not in self.sequences:
            return
        live, _ = await self.link_courier()
        if live:
            await self.locations.offer(location["order_id"], {"type": "location", **public_location(location)})
