"""The work sockets: a restaurant's kitchen queue, the restaurants' listing and a courier's board.

Built on tracking.consumers.LiveConsumer (close codes, access re-checks, group bookkeeping); who
may watch comes from tracking.selectors, and the one write a socket can cause (a courier's
position) goes through delivery.services.
"""

import time

from core.errors import ApplicationError
from core.timestamps import iso
from delivery.selectors import courier_location_interval
from delivery.services import courier_record_location
from tracking.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED, LiveConsumer
from tracking.database import database_sync_to_async
from tracking.groups import AVAILABLE_ORDERS_GROUP, RESTAURANT_LISTING_GROUP, courier_group, restaurant_group
from tracking.payloads import courier_event_payload
from tracking.selectors import (
    courier_available_frame,
    courier_board,
    restaurant_kitchen_status,
    restaurant_may_watch,
    restaurant_queue_snapshot,
    user_is_courier,
)
from tracking.streams import OrderSequences


class RestaurantOrdersConsumer(LiveConsumer):
    """`ws/restaurants/<restaurant_id>/orders/`: the live kitchen queue, for the restaurant's staff.

    Sends a `snapshot` with the active orders (lean status and sequence of each), then every
    event of every order of the restaurant: new orders (`order.placed`) and each change.
    """

    async def connect(self):
        if not self.authenticated():
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        restaurant_id = str(self.scope["url_route"]["kwargs"]["restaurant_id"])
        self.restaurant_id = restaurant_id
        actor = await database_sync_to_async(restaurant_may_watch)(user=self.user, restaurant_id=restaurant_id)
        if actor is None:
            return await self.refuse(CLOSE_NOT_FOUND)
        await self.accept()
        await self.join(restaurant_group(restaurant_id))
        orders = await database_sync_to_async(restaurant_queue_snapshot)(actor=actor, restaurant_id=restaurant_id)
        kitchen = await database_sync_to_async(restaurant_kitchen_status)(restaurant_id=restaurant_id)
        for order in orders:
            self.sequences.start(order["order_id"], order["sequence"])
        await self.send_json({"type": "snapshot", "restaurant_id": restaurant_id, "orders": orders, "kitchen": kitchen})

    async def access_lost(self) -> int | None:
        actor = await database_sync_to_async(restaurant_may_watch)(user=self.user, restaurant_id=self.restaurant_id)
        return CLOSE_NOT_FOUND if actor is None else None

    async def order_event(self, message):
        # A kitchen's sockets are few and its orders private: its access is checked before each
        # event, so a removed member sees no order placed after the removal.
        if self.closing:
            return
        code = await self.access_lost()
        if code is not None:
            return await self.end_access(code)
        await self.send_events(await self.sequences.admit(message["event"]))

    async def restaurant_status(self, message):
        await self.send_json({"type": "kitchen_status", **message["kitchen"]})


class RestaurantListingConsumer(LiveConsumer):
    """`ws/restaurants/`: every kitchen's status as it changes (`kitchen_status`: open, paused
    until, busy +N minutes), for the restaurants' listing; any signed-in user, as the listing."""

    async def connect(self):
        if not self.authenticated():
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        await self.accept()
        await self.join(RESTAURANT_LISTING_GROUP)

    async def restaurant_status(self, message):
        await self.send_json({"type": "kitchen_status", **message["kitchen"]})


class CourierConsumer(LiveConsumer):
    """`ws/courier/`: a courier's work.

    Sends a `snapshot` (`assigned`: their active orders; `available`: orders any courier may
    claim; `offers`: offers made to them), then `event` for every change to their orders,
    `available` for each event of an order any courier may claim (confirmed, preparing or
    ready, no courier yet) while they are online and the restaurant within the dispatch radius,
    with `order`: the restaurant, the drop-off area, distances and pay, never the customer;
    `unavailable` when such an order leaves that list (another courier claimed it, it was
    cancelled), and `offer` when an order is offered to them or their offer
    closes (`state`: pending, accepted, declined, expired, withdrawn). The courier may send
    `{"action": "location", "latitude": .., "longitude": ..}`, like `POST /api/delivery/location/`.
    """

    async def connect(self):
        if not self.authenticated():
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        if not await database_sync_to_async(user_is_courier)(self.user):
            return await self.refuse(CLOSE_FORBIDDEN)
        self.available = OrderSequences()
        self.location_reported_at = float("-inf")
        await self.accept()
        await self.join(courier_group(self.user.pk))
        await self.join(AVAILABLE_ORDERS_GROUP)
        board = await database_sync_to_async(courier_board)(courier=self.user)
        for order in board["assigned"]:
            self.sequences.start(order["order_id"], order["sequence"])
        for order in board["available"]:
            self.available.start(order["order_id"], order["sequence"])
        await self.send_json({"type": "snapshot", **board})

    async def access_lost(self) -> int | None:
        return None if await database_sync_to_async(user_is_courier)(self.user) else CLOSE_FORBIDDEN

    def shown(self, payload: dict) -> dict:
        return courier_event_payload(payload)

    async def order_event(self, message):
        payload = message["event"]
        # The claim itself starts the courier's own stream of this order.
        if payload["order_id"] not in self.sequences and payload["order_id"] in self.available:
            self.sequences.start(payload["order_id"], payload["sequence"] - 1)
        self.available.forget(payload["order_id"])
        await self.send_events(await self.sequences.admit(payload))

    async def order_available(self, message):
        # Only couriers online and within reach hear of it, with the distance from them.
        preview = await database_sync_to_async(courier_available_frame)(courier=self.user, preview=message["order"])
        if preview is None:
            return
        # The list of claimable orders only needs the newest state: late copies are dropped.
        for payload in await self.available.admit(message["event"], fill_gaps=False):
            await self.send_json({"type": "available", **payload, "order": preview})

    async def order_unavailable(self, message):
        if message.get("courier_id") == self.user.pk:
            return  # claimed by this courier: the `order.assigned` event says so
        last = self.available.last(message["order_id"])
        if last is None or message["sequence"] <= last:
            return  # never listed for this courier (offline, out of reach), or already withdrawn
        self.available.forget(message["order_id"])
        await self.send_json(
            {
                "type": "unavailable",
                "order_id": message["order_id"],
                "order_number": message["order_number"],
                "sequence": message["sequence"],
            }
        )

    async def courier_offer(self, message):
        await self.send_json({"type": "offer", **message["offer"]})

    async def receive_json(self, content, **kwargs):
        if content.get("action") != "location":
            return await self.send_error("bad_request", "The only action here is location.")
        now = time.monotonic()
        interval = courier_location_interval()
        if now - self.location_reported_at < interval:
            return await self.send_error("too_many_requests", f"At most one position every {interval:g} seconds.")
        self.location_reported_at = now
        try:
            sample = await database_sync_to_async(courier_record_location)(
                courier=self.user, latitude=content.get("latitude"), longitude=content.get("longitude")
            )
        except ApplicationError as exc:
            return await self.send_error(exc.code, exc.detail, **exc.extra)
        await self.send_json(
            {
                "type": "location_recorded",
                "latitude": float(sample.latitude),
                "longitude": float(sample.longitude),
                "recorded_at": iso(sample.recorded_at),
            }
        )
