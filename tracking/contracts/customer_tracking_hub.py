"""The customer tracking API's SignalR hub, `/hubs/customer-orders`, for the official clients
(`@microsoft/signalr`): negotiate over HTTP, then one WebSocket speaking SignalR's JSON hub
protocol (records ended by 0x1E; handshake, invocations, completions, pings, close).

Hub methods: `SubscribeToOrder(orderId)` (the order's customer or its restaurant's staff;
anyone else's invocation fails with "Order not found.") and `UnsubscribeFromOrder(orderId)`.
Server methods: `ReceiveOrderPlaced`, `ReceiveOrderPaymentSucceeded`, `ReceiveOrderPaymentFailed`
and `ReceiveOrderStatusChanged`, each with an `OrderStatusBroadcastDto`.

It rides the same per-order groups and the same exactly-once bookkeeping as the native sockets
(`tracking.streams.OrderSequences`): every committed event reaches a subscriber once, in order,
and a subscription ends after the order's final event. Signing in: `access_token` in the query
string (browsers) or `Authorization: Bearer` (Node, .NET), or the Django session cookie.
"""

import asyncio
import json
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from core.auth_tokens import CredentialsJWTAuthentication
from orders.models import Order
from orders.visibility import CUSTOMER_TRACKING_ROLES, order_relation_holds
from tracking.auth import query_param, token_user_and_expiry
from tracking.consumers import LiveConsumer, get_order_watch
from tracking.contracts.customer_tracking import STATUSES
from tracking.database import database_sync_to_async
from tracking.groups import order_group
from tracking.payloads import payload_is_final

RECORD_SEPARATOR = "\x1e"
HUB_PATH = "hubs/customer-orders"
TOKEN_SALT = "orderflow.customer-orders-hub"  # noqa: S105 -- a namespace for signing, not a secret
CONNECTION_TOKEN_MAX_AGE_SECONDS = 300
MAX_MESSAGE_CHARS = 32 * 1024
NORMAL_CLOSURE = 1000

# SignalR's message types.
INVOCATION, STREAM_ITEM, COMPLETION, STREAM_INVOCATION, CANCEL_INVOCATION, PING, CLOSE = 1, 2, 3, 4, 5, 6, 7

EVENT_METHODS = {
    "order.placed": "ReceiveOrderPlaced",
    "order.payment_succeeded": "ReceiveOrderPaymentSucceeded",
    "order.payment_failed": "ReceiveOrderPaymentFailed",
}
STATUS_CHANGED_METHOD = "ReceiveOrderStatusChanged"


def frame(message: dict) -> str:
    return json.dumps(message, separators=(",", ":")) + RECORD_SEPARATOR


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


# ---------------------------------------------------------------- negotiate (HTTP)


def _negotiate_user(request):
    """The user of a negotiate request: a Bearer token or `access_token`, else the session."""
    token = _bearer(request.headers.get("Authorization")) or request.GET.get("access_token")
    if token:
        authentication = CredentialsJWTAuthentication()
        try:
            # simplejwt annotates the raw token as bytes; it takes the header's str as well.
            return authentication.get_user(authentication.get_validated_token(token))  # type: ignore[arg-type]
        except (InvalidToken, TokenError, AuthenticationFailed):
            return None
    return request.user if request.user.is_authenticated else None


@csrf_exempt
@require_POST
def negotiate(request):
    """`POST /hubs/customer-orders/negotiate?negotiateVersion=1`: WebSockets is the one transport."""
    user = _negotiate_user(request)
    if user is None or not user.is_active:
        return JsonResponse({"error": "Unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
    try:
        version = int(request.GET.get("negotiateVersion", "0"))
    except ValueError:
        version = 0
    connection_id = secrets.token_urlsafe(16)
    token = signing.dumps({"u": user.pk, "c": connection_id}, salt=TOKEN_SALT)
    body: dict[str, Any] = {
        "connectionId": connection_id,
        "availableTransports": [{"transport": "WebSockets", "transferFormats": ["Text"]}],
    }
    if version >= 1:
        body.update(negotiateVersion=1, connectionToken=token)
    else:
        body.update(negotiateVersion=0, connectionId=token)
    return JsonResponse(body)


def connection_user_id(token: str | None) -> int | None:
    if not token:
        return None
    try:
        return signing.loads(token, salt=TOKEN_SALT, max_age=CONNECTION_TOKEN_MAX_AGE_SECONDS)["u"]
    except (signing.BadSignature, KeyError, TypeError):
        return None


@database_sync_to_async
def _restaurant_id(order_id: str) -> str | None:
    value = Order.objects.filter(pk=order_id).values_list("restaurant_id", flat=True).first()
    return str(value) if value else None


def broadcast_dto(payload: dict, restaurant_id: str | None) -> dict:
    """`OrderStatusBroadcastDto` from a tracking event payload (tracking.payloads.event_payload)."""
    return {
        "orderId": payload["order_id"],
        "orderNumber": payload["order_number"],
        "status": STATUSES.word_for_status(payload["new_status"]),
        "restaurantId": restaurant_id,
        "lastUpdateTimestamp": payload["timestamp"],
        "estimatedDeliveryTime": payload["estimated_delivery_time"],
        "actualDeliveryTime": payload["actual_delivery_time"],
        "deliveredAt": payload["actual_delivery_time"],
        "occurredOnUtc": payload["occurred_at"],
        "eventId": payload["event_id"],
    }


def hub_method_for(payload: dict) -> str | None:
    """The client method an event is sent to; events that change nothing a customer sees
    (a courier assigned, a refund moving on) are not sent."""
    method = EVENT_METHODS.get(payload["event_type"])
    if method is not None:
        return method
    if payload["new_status"] and payload["new_status"] != payload["previous_status"]:
        return STATUS_CHANGED_METHOD
    return None


# ---------------------------------------------------------------- the hub (WebSocket)


class CustomerOrdersHub(LiveConsumer):
    speaks_native = False  # the customer tracking document's DTOs, in its own words

    async def connect(self):
        self.handshaken = False
        self.subscriptions: dict[str, str | None] = {}  # order id -> restaurant id
        self.keep_alive: asyncio.Task | None = None
        self.buffer = ""
        headers = dict(self.scope.get("headers") or [])
        token = query_param(self.scope, "access_token") or _bearer(headers.get(b"authorization", b"").decode("latin1"))
        if token:
            # The socket closes when the token expires (LiveConsumer's re-check): clients
            # reconnect with a fresh one from their accessTokenFactory.
            user, self.scope["token_expires_at"] = await token_user_and_expiry(token)
        else:
            user = self.scope.get("user")
        if user is None or not user.is_authenticated or connection_user_id(query_param(self.scope, "id")) != user.pk:
            # Refused before the upgrade, as a hub that requires authorization answers (HTTP 403).
            return await self.close()
        self.scope["user"] = user
        await self.accept()

    async def disconnect(self, code):
        if self.keep_alive is not None:
            self.keep_alive.cancel()
        await super().disconnect(code)

    async def send_record(self, message: dict) -> None:
        if not self.closing:
            await self.send(text_data=frame(message))

    async def pings(self) -> None:
        interval = settings.ORDERFLOW_SIGNALR_KEEPALIVE_SECONDS
        while not self.closing:
            await asyncio.sleep(interval)
            await self.send_record({"type": PING})

    async def close_hub(self, error: str | None = None) -> None:
        message: dict[str, Any] = {"type": CLOSE, "allowReconnect": False}
        if error:
            message["error"] = error
        await self.send_record(message)
        await self.close(code=NORMAL_CLOSURE)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            return await self.close_hub("Only the JSON hub protocol (text) is supported.")
        self.buffer += text_data
        if len(self.buffer) > MAX_MESSAGE_CHARS:
            return await self.close_hub("Message too large.")
        *records, self.buffer = self.buffer.split(RECORD_SEPARATOR)
        for record in records:
            try:
                message = json.loads(record)
            except ValueError:
                return await self.close_hub("Messages must be JSON.")
            if not isinstance(message, dict):
                return await self.close_hub("Messages must be JSON objects.")
            if not self.handshaken:
                await self.handshake(message)
            else:
                await self.dispatch_record(message)

    async def handshake(self, message: dict) -> None:
        if message.get("protocol") != "json" or message.get("version") != 1:
            await self.send(text_data=frame({"error": "Only the json protocol, version 1, is supported."}))
            return await self.close()
        self.handshaken = True
        await self.send(text_data=frame({}))
        self.keep_alive = asyncio.ensure_future(self.pings())

    async def dispatch_record(self, message: dict) -> None:
        kind = message.get("type")
        if kind == PING:
            return
        if kind == CLOSE:
            return await self.close(code=NORMAL_CLOSURE)
        invocation_id = message.get("invocationId")
        if kind in (STREAM_INVOCATION, CANCEL_INVOCATION, STREAM_ITEM):
            return await self.complete(invocation_id, error="Streaming is not supported by this hub.")
        if kind != INVOCATION:
            return await self.close_hub(f"Unknown message type {kind!r}.")
        target, arguments = message.get("target"), message.get("arguments")
        if not isinstance(arguments, list):
            return await self.complete(invocation_id, error="arguments must be a list.")
        if target == "SubscribeToOrder" and len(arguments) == 1:
            error = await self.subscribe(arguments[0])
        elif target == "UnsubscribeFromOrder" and len(arguments) == 1:
            error = await self.unsubscribe(str(arguments[0]))
        else:
            error = f"Unknown hub method '{target}' with {len(arguments)} argument(s)."
        await self.complete(invocation_id, error=error)

    async def complete(self, invocation_id, *, error: str | None = None) -> None:
        if invocation_id is None:  # a non-blocking invocation (`send`) expects no answer
            return
        message = {"type": COMPLETION, "invocationId": invocation_id}
        if error:
            message["error"] = error
        else:
            message["result"] = None
        await self.send_record(message)

    async def subscribe(self, raw_order_id) -> str | None:
        try:
            order_id = str(uuid.UUID(str(raw_order_id)))
        except ValueError:
            return "Order not found."
        access = await get_order_watch(user=self.user, order_id=order_id)
        if access is None or access.actor.role not in CUSTOMER_TRACKING_ROLES:
            return "Order not found."
        if order_id in self.subscriptions:
            return None
        if payload_is_final(access.snapshot):
            return None  # nothing will change any more: the client polls /status once
        self.subscriptions[order_id] = await _restaurant_id(order_id)
        await self.join(order_group(order_id))
        self.sequences.start(order_id, access.snapshot["sequence"])
        # What committed between the snapshot and joining the group is sent now.
        await self.send_events(await self.sequences.catch_up(order_id))
        return None

    async def access_lost(self) -> int | None:
        for order_id in list(self.subscriptions):
            if not await database_sync_to_async(order_relation_holds)(
                user=self.user, order_id=order_id, roles=CUSTOMER_TRACKING_ROLES
            ):
                await self.unsubscribe(order_id)
        return None

    async def end_access(self, code: int) -> None:
        await self.send_record({"type": CLOSE, "error": "The sign-in has ended.", "allowReconnect": True})
        await self.close(code=code)

    async def unsubscribe(self, order_id: str) -> str | None:
        if self.subscriptions.pop(order_id, None) is not None or order_id in self.sequences:
            self.sequences.forget(order_id)
            await self.leave(order_group(order_id))
        return None

    async def send_events(self, payloads: list[dict], kind: str = "event") -> None:
        for payload in payloads:
            method = hub_method_for(payload)
            if method is not None:
                dto = broadcast_dto(payload, self.subscriptions.get(payload["order_id"]))
                await self.send_record({"type": INVOCATION, "target": method, "arguments": [dto]})
            if payload_is_final(payload):
                await self.unsubscribe(payload["order_id"])

    async def order_event(self, message):
        if message["event"]["order_id"] not in self.subscriptions:
            return
        await self.sequences.deliver(message, self.send_events)

    async def order_location(self, message):
        """Courier positions are not part of this contract."""
