"""The payment provider's webhook of the mobile orders API (tracking/contracts/mobile_orders.py):
`POST /paymongo/webhook` (also `/mobile/api/paymongo/webhook`), signed with its
`Paymongo-Signature` header, `t=<unix seconds>,te=<test signature>,li=<live signature>`: an
HMAC-SHA256 under ORDERFLOW_PAYMONGO_WEBHOOK_SECRET over `"{t}." + raw body`, within
ORDERFLOW_PAYMENT_WEBHOOK_TOLERANCE_SECONDS. A paid or failed payment reaches the same payment
service as the native webhook, once per event id; its errors are the mobile API's envelopes.
"""

import hashlib
import hmac
import json
import time
from decimal import Decimal

from django.conf import settings
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from core.errors import ApplicationError, OrderNotFound
from orders.models import Order
from payments.services import payment_webhook_receive
from tracking.contracts.mobile_orders import InvalidInput, MobileOrdersView, order_number_for

SIGNATURE_HEADER = "Paymongo-Signature"
# The provider's event types that settle a payment, as our payment service names them.
WEBHOOK_EVENTS = {
    "payment.paid": "payment.succeeded",
    "checkout_session.payment.paid": "payment.succeeded",
    "payment.failed": "payment.failed",
}


class WebhookRefused(ApplicationError):
    status_code = 401
    code = "webhook_signature_invalid"
    title = "The webhook signature is missing or wrong"


def paymongo_signature(*, secret: str, timestamp: int | str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def paymongo_verify(header: str | None, body: bytes, *, now: float) -> None:
    """`t=<unix seconds>,te=<test signature>,li=<live signature>`: either signature may match."""
    parts = dict(part.split("=", 1) for part in (header or "").split(",") if "=" in part)
    timestamp = parts.get("t", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 11):
        raise WebhookRefused(f"Send {SIGNATURE_HEADER}: t=<timestamp>,te=<signature>,li=<signature>.")
    expected = paymongo_signature(secret=settings.ORDERFLOW_PAYMONGO_WEBHOOK_SECRET, timestamp=timestamp, body=body)
    offered = [parts.get("te", ""), parts.get("li", "")]
    if not any(value.isascii() and hmac.compare_digest(expected, value) for value in offered if value):
        raise WebhookRefused("The signature does not match the body and timestamp.")
    if abs(now - int(timestamp)) > settings.ORDERFLOW_PAYMENT_WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookRefused("The delivery was signed too long ago.")


class PaymongoWebhookView(MobileOrdersView):
    """`POST /paymongo/webhook`: `payment.paid` / `checkout_session.payment.paid` mark the order
    paid (it moves from `placed` to `processing`), `payment.failed` fails it; through the same
    payment service as the native webhook, once per event id. The order is named by
    `metadata.order_reference_id` (or `reference_number`) of the paid resource."""

    authentication_classes = ()
    permission_classes = [AllowAny]
    parser_classes = ()

    def post(self, request):
        body = request.body
        paymongo_verify(request.headers.get(SIGNATURE_HEADER), body, now=time.time())
        try:
            event = json.loads(body)["data"]
            attributes = event["attributes"]
            resource = attributes["data"]["attributes"]
            event_id, event_type = str(event["id"]), str(attributes["type"])
            if not isinstance(resource, dict) or not isinstance(resource.get("metadata") or {}, dict):
                raise TypeError(resource)
        except (ValueError, KeyError, TypeError, RecursionError):
            raise InvalidInput({"data": ["Not an event of the payment provider."]}) from None
        if event_type not in WEBHOOK_EVENTS:
            return Response({"success": True, "message": f"Event {event_type} ignored.", "data": None})
        metadata = resource.get("metadata") or {}
        number_ = order_number_for(str(metadata.get("order_reference_id") or resource.get("reference_number") or ""))
        order_id = Order.objects.filter(number=number_).values_list("pk", flat=True).first() if number_ else None
        if order_id is None:
            raise OrderNotFound("No order with this reference.")
        try:
            amount = Decimal(int(resource["amount"])) / 100 if "amount" in resource else None
        except (TypeError, ValueError, OverflowError):
            raise InvalidInput({"data.attributes.data.attributes.amount": ["Must be an integer."]}) from None
        source = resource.get("source") or {}
        method = source.get("type") if isinstance(source, dict) else None
        outcome = payment_webhook_receive(
            provider="paymongo",
            event_id=event_id,
            event_type=WEBHOOK_EVENTS[event_type],
            order_id=order_id,
            reference=str(attributes["data"].get("id") or ""),
            amount=amount,
            currency=str(resource.get("currency") or ""),
            payload={"payment_method_used": method, "event": json.loads(body)},
        )
        return Response({"success": True, "message": f"Webhook {outcome}.", "data": None})
