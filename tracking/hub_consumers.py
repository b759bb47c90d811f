"""The `ws/orders/` hub: one socket, many orders (the customer tracking API's hub), built on
tracking.consumers.LiveConsumer; each subscription is answered as `ws/orders/<id>/` is."""

import uuid

from core.actors import ActorRole
from tracking.consumers import CLOSE_UNAUTHENTICATED, LiveConsumer, get_order_watch
from tracking.database import database_sync_to_async
from tracking.groups import order_group
from tracking.payloads import courier_event_payload, payload_is_final
from tracking.selectors import order_watch_holds
from tracking.streams import parse_after, start_after

MAX_HUB_SUBSCRIPTIONS = 100


class OrdersHubConsumer(LiveConsumer):
    """`ws/orders/`: one socket, many orders (the customer tracking API's hub).

    Client messages: `{"action": "subscribe", "order_id": ..., "after": N}` (after optional)
    and `{"action": "unsubscribe", "order_id": ...}`. A subscription is answered like
    `ws/orders/<id>/` (snapshot, replay, live events, all carrying `order_id`) and ends with
    `{"type": "unsubscribed", "order_id": ..., "reason": "final"}` after the final event. An
    order the user may not see gets `{"type": "error", "code": "order_not_found", ...}` only.
    """

    async def connect(self):
        if not self.authenticated():
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        self.actors = {}
        await self.accept()

    async def receive_json(self, content, **kwargs):
        action = content.get("action")
        order_id = content.get("order_id")
        if action not in ("subscribe", "unsubscribe"):
            return await self.send_error("bad_request", "action must be subscribe or unsubscribe.")
        try:
            order_id = str(uuid.UUID(order_id))
        except (TypeError, ValueError, AttributeError):
            return await self.send_error(
                "order_not_found",
                "No order with this id is visible to you.",
                order_id=order_id if isinstance(order_id, str) else None,
            )
        if action == "unsubscribe":
            return await self.unsubscribe(order_id, reason="requested")
        try:
            after = parse_after(content.get("after"))
        except ValueError:
            return await self.send_error("bad_request", "after must be a sequence number.", order_id=order_id)
        await self.subscribe(order_id, after)

    async def subscribe(self, order_id: str, after: int | None) -> None:
        if len(self.actors) >= MAX_HUB_SUBSCRIPTIONS:
            return await self.send_error(
                "too_many_subscriptions", f"At most {MAX_HUB_SUBSCRIPTIONS} orders per socket.", order_id=order_id
            )
        access = await get_order_watch(user=self.user, order_id=order_id)
        if access is None:
            return await self.send_error(
                "order_not_found", "No order with this id is visible to you.", order_id=order_id
            )
        order_id = access.snapshot["order_id"]
        if order_id in self.actors:
            return await self.send_error("already_subscribed", "This order is already followed.", order_id=order_id)
        self.actors[order_id] = access.actor
        await self.send_json({"type": "snapshot", **access.snapshot})
        await self.join(order_group(order_id))
        self.sequences.start(order_id, await start_after(access.snapshot, after, order_id=order_id))
        replay = await self.sequences.catch_up(order_id)
        await self.send_events(replay)
        if payload_is_final(replay[-1] if replay else access.snapshot):
            await self.unsubscribe(order_id, reason="final")

    async def access_lost(self) -> int | None:
        for order_id in list(self.actors):
            if not await database_sync_to_async(order_watch_holds)(user=self.user, order_id=order_id):
                await self.unsubscribe(order_id, reason="not_visible")
        return None

    async def unsubscribe(self, order_id: str, *, reason: str) -> None:
        if self.actors.pop(order_id, None) is None:
            return await self.send_error("not_subscribed", "This order is not followed here.", order_id=order_id)
        self.sequences.forget(order_id)
        self.locations.drop(order_id)
        await self.leave(order_group(order_id))
        await self.send_json({"type": "unsubscribed", "order_id": order_id, "reason": reason})

    def shown(self, payload: dict) -> dict:
        actor = self.actors.get(payload.get("order_id"))
        return courier_event_payload(payload) if actor is not None and actor.role == ActorRole.COURIER else payload

    async def order_event(self, message):
        payload = message["event"]
        order_id = payload["order_id"]
        actor = self.actors.get(order_id)
        if actor is None:
            return
        courier_id = message.get("courier_id")
        if actor.role == ActorRole.COURIER and courier_id not in (None, self.user.pk):
            return await self.unsubscribe(order_id, reason="not_visible")
        last = await self.sequences.deliver(message, self.send_events)
        if last is not None and payload_is_final(last):
            await self.unsubscribe(order_id, reason="final")
