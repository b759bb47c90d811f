"""The three-status order API: orders with independent `status`, `payment_status` and
`fulfillment_status`, money as `{amount (minor units), currency}`, `total_paid` and
`balance_due`; `GET /orders` with cursor pages (`data` + `pagination{has_more,next_cursor}`),
`GET /orders/{id}`, `POST /orders/{id}/cancel` (with `Idempotency-Key`); errors as
`{"error": {"code", "message"}}`. Mounted under `/v1/online-ordering/`, the document's own
base path, so a client changes its host only.
"""

import base64
import binascii
import json
from datetime import UTC, datetime

from rest_framework.response import Response

from core.api import validated
from core.errors import ValidationFailed
from core.idempotency import IdempotentPostMixin
from core.parsers import parse_uuid
from core.query_params import query_params_check
from core.timestamps import iso
from orders.action_serializers import ReasonOptionalSerializer
from orders.filters import OrderFilter
from orders.models import DeliveryType, OrderStatus, PaymentStatus
from orders.selectors import order_detail, orders_for_summary
from orders.services.transitions import order_cancel
from orders.visibility import order_access, orders_related_to
from tracking.contracts.base import ContractView, minor_units, promised_times
from tracking.contracts.vocabulary import Row, StatusVocabulary

S = OrderStatus
RETURNED = {"returned_at__isnull": False}

STATUSES = StatusVocabulary(
    [
        Row(S.PAYMENT_PENDING, "PENDING"),
        Row(S.ORDER_PLACED, "PENDING"),
        Row(S.PAYMENT_SUCCESS, "CONFIRMED"),
        Row(S.RESTAURANT_CONFIRMED, "CONFIRMED"),
        Row(S.PREPARING, "CONFIRMED"),
        Row(S.READY_FOR_PICKUP, "CONFIRMED"),
        Row(S.ORDER_PICKED_UP, "CONFIRMED"),
        Row(S.OUT_FOR_DELIVERY, "CONFIRMED"),
        Row(S.DELIVERED, "COMPLETED"),
        Row(S.COMPLETED, "COMPLETED"),
        Row(S.RETURNED, "COMPLETED"),
        Row(S.PAYMENT_FAILED, "FAILED"),
        Row(S.CANCELLED, "CANCELLED"),
        Row(S.RESTAURANT_REJECTED, "CANCELLED"),
        Row(S.REFUND_COMPLETED, "COMPLETED", RETURNED),
        Row(S.REFUND_COMPLETED, "CANCELLED"),
    ],
    # Orders are never voided here: an unpaid order is cancelled (by its customer or its deadline).
    unused_words=["VOIDED"],
)

FULFILLMENT_STATUSES = StatusVocabulary(
    [
        Row(S.PAYMENT_PENDING, "PENDING"),
        Row(S.ORDER_PLACED, "PENDING"),
        Row(S.PAYMENT_SUCCESS, "PENDING"),
        Row(S.RESTAURANT_CONFIRMED, "IN_PROGRESS"),
        Row(S.PREPARING, "PREPARING"),
        Row(S.READY_FOR_PICKUP, "READY_FOR_PICKUP"),
        # Handed to the courier, not yet at the door: the document has no state in between.
        Row(S.ORDER_PICKED_UP, "READY_FOR_PICKUP"),
        Row(S.OUT_FOR_DELIVERY, "READY_FOR_PICKUP"),
        Row(S.DELIVERED, "FULFILLED", {"delivery_type": DeliveryType.PICKUP}),
        Row(S.DELIVERED, "DELIVERED"),
        Row(S.COMPLETED, "FULFILLED", {"delivery_type": DeliveryType.PICKUP}),
        Row(S.COMPLETED, "DELIVERED"),
        Row(S.RETURNED, "RETURNED"),
        Row(S.REFUND_COMPLETED, "RETURNED", RETURNED),
        Row(S.REFUND_COMPLETED, "CANCELLED"),
        Row(S.CANCELLED, "CANCELLED"),
        Row(S.RESTAURANT_REJECTED, "CANCELLED"),
        Row(S.PAYMENT_FAILED, "CANCELLED"),
    ]
)

# The canonical payment status, summed up as the document's aggregate. Money given back is no
# longer paid; a failed attempt paid nothing. PROCESSING and PARTIALLY_PAID never occur: a
# payment is one charge, applied by the provider's webhook at once.
PAYMENT_STATUSES: dict[str, str] = {
    PaymentStatus.PENDING: "UNPAID",
    PaymentStatus.PAID: "PAID",
    PaymentStatus.FAILED: "UNPAID",
    PaymentStatus.REFUNDED: "UNPAID",
}
PAYMENT_RECORD_STATUSES = {"PENDING": "PENDING", "SUCCEEDED": "COMPLETED", "FAILED": "FAILED"}

# Our addition to the document (docs/contracts/three-status.md): the promised times.
PROMISED_TIME_FIELDS = ("promised_at", "estimated_ready_at", "estimated_delivery_at")
LIST_PARAMS = ("status", "fulfillment_status", "location_id", "date_from", "date_to", "limit", "cursor")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def money(amount, currency: str) -> dict:
    return {"amount": minor_units(amount), "currency": currency}


def paid_amounts(order) -> tuple[dict, dict]:
    paid = order.total if order.payment_status == PaymentStatus.PAID else 0 * order.total
    return money(paid, order.currency), money(order.total - paid, order.currency)


def order_summary(order) -> dict:
    total_paid, balance_due = paid_amounts(order)
    return {
        "id": str(order.pk),
        "cart_id": None,
        "location_id": str(order.restaurant_id),
        "status": STATUSES.word_for(order),
        "payment_status": PAYMENT_STATUSES[order.payment_status],
        "fulfillment_status": FULFILLMENT_STATUSES.word_for(order),
        "handoff": {"mode": order.delivery_type.upper()},
        "subtotal": money(order.subtotal, order.currency),
        "total_tax": money(order.tax, order.currency),
        "total_discount": money(order.discount, order.currency),
        "total": money(order.total, order.currency),
        "total_paid": total_paid,
        "balance_due": balance_due,
        "created_at": iso(order.placed_at, timespec="seconds"),
        "updated_at": iso(order.updated_at, timespec="seconds"),
        **promised_times(order, PROMISED_TIME_FIELDS),
    }


def order_full(order) -> dict:
    body = order_summary(order)
    body["items"] = [
        {
            "id": str(item.pk),
            "name": item.name,
            "quantity": item.quantity,
            "item_total": money(item.line_total, order.currency),
        }
        for item in order.items.all()
    ]
    body["payments"] = [
        {
            "id": str(payment.pk),
            "status": PAYMENT_RECORD_STATUSES.get(payment.status, payment.status),
            "payment_method": order.payment_method.upper(),
            "amount": money(payment.amount, payment.currency),
        }
        for payment in order.payments.all()
    ]
    return {key: body[key] for key in FULL_KEYS}


FULL_KEYS = (
    "id",
    "cart_id",
    "location_id",
    "status",
    "payment_status",
    "fulfillment_status",
    "items",
    "payments",
    "handoff",
    "subtotal",
    "total_tax",
    "total_discount",
    "total",
    "total_paid",
    "balance_due",
    "created_at",
    "updated_at",
    *PROMISED_TIME_FIELDS,
)


class ThreeStatusView(ContractView):
    def error_status(self, problem: dict, status: int) -> int:
        # The document: a cancel the order's state no longer allows is a 409.
        return 409 if problem.get("code") == "invalid_transition" else status

    def error_body(self, problem: dict) -> dict:
        error = {"code": problem.get("code", "error"), "message": problem.get("detail") or problem.get("title")}
        for extra in ("errors", "current_status"):
            if extra in problem:
                error["details" if extra == "errors" else extra] = problem[extra]
        if "current_status" in error:
            error["current_status"] = STATUSES.word_for_status(error["current_status"])
        return {"error": error}


def _encode_cursor(order) -> str:
    raw = json.dumps({"p": order.placed_at.isoformat(), "i": str(order.pk)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(value: str) -> tuple[datetime, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        moment = datetime.fromisoformat(data["p"])
        order_id = parse_uuid(data["i"])
        if moment.tzinfo is None or order_id is None or set(data) != {"p", "i"}:
            raise ValueError(value)
        return moment.astimezone(UTC), str(order_id)
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ValidationFailed({"cursor": ["Not a cursor this API gave out."]}) from None


def _single(query_params, name: str) -> str | None:
    values = query_params.getlist(name)
    if len(values) > 1:
        raise ValidationFailed({name: ["Give one value only."]})
    return values[0] if values else None


def _word_filter(vocabulary: StatusVocabulary, name: str, value: str):
    words = [part.strip().upper() for part in value.split(",") if part.strip()]
    unknown = [word for word in words if word not in vocabulary.words]
    if not words or unknown:
        raise ValidationFailed({name: [f"Must be one or more of: {', '.join(vocabulary.words)}."]})
    query = vocabulary.q_for(words[0])
    for word in words[1:]:
        query |= vocabulary.q_for(word)
    return query


class OrderListView(ThreeStatusView):
    """`GET /orders`: lightweight summaries, newest first, filters AND-combined."""

    def get(self, request):
        params = request.query_params
        query_params_check(params, LIST_PARAMS)
        native = {"include_cancelled": "true"}
        for ours, theirs in (("restaurant", "location_id"), ("date_from", "date_from"), ("date_to", "date_to")):
            value = _single(params, theirs)
            if value is not None:
                native[ours] = value
        orders = orders_related_to(user=request.user)
        filterset = OrderFilter(data=native, queryset=orders, request=request)
        if not filterset.is_valid():
            errors = {("location_id" if k == "restaurant" else k): v for k, v in filterset.errors.items()}
            raise ValidationFailed(errors)
        orders = filterset.qs
        for name, vocabulary in (("status", STATUSES), ("fulfillment_status", FULFILLMENT_STATUSES)):
            value = _single(params, name)
            if value is not None:
                orders = orders.filter(_word_filter(vocabulary, name, value))
        limit_raw = _single(params, "limit")
        if limit_raw is not None and (not limit_raw.isdigit() or not 1 <= int(limit_raw) <= MAX_LIMIT):
            raise ValidationFailed({"limit": [f"Must be a whole number from 1 to {MAX_LIMIT}."]})
        limit = int(limit_raw) if limit_raw else DEFAULT_LIMIT
        cursor = _single(params, "cursor")
        if cursor:
            placed_at, order_id = _decode_cursor(cursor)
            orders = orders.filter(placed_at__lte=placed_at).exclude(placed_at=placed_at, id__gte=order_id)
        page = list(orders_for_summary(orders).order_by("-placed_at", "-id")[: limit + 1])
        has_more = len(page) > limit
        page = page[:limit]
        return Response(
            {
                "data": [order_summary(order) for order in page],
                "pagination": {"has_more": has_more, "next_cursor": _encode_cursor(page[-1]) if has_more else None},
            }
        )


class OrderDetailView(ThreeStatusView):
    """`GET /orders/{id}`: the order with items, payments and all three statuses."""

    def get(self, request, order_id):
        query_params_check(request.query_params, ())
        access = order_access(user=request.user, order_id=order_id)
        order = order_detail(actor=access.actor, order_id=access.order_id, include=("payments",))
        return Response(order_full(order))


class OrderCancelView(IdempotentPostMixin, ThreeStatusView):
    """`POST /orders/{id}/cancel`: while fulfillment is PENDING or IN_PROGRESS, else 409."""

    def post(self, request, order_id):
        data = validated(ReasonOptionalSerializer, request.data)
        access = order_access(user=request.user, order_id=order_id)
        result = order_cancel(
            order_id=access.order_id,
            actor=access.actor,
            reason=data["reason"],
            if_match=request.headers.get("If-Match"),
        )
        order = result.order
        total_paid, balance_due = paid_amounts(order)
        return Response(
            {
                "id": str(order.pk),
                "status": STATUSES.word_for(order),
                "payment_status": PAYMENT_STATUSES[order.payment_status],
                "fulfillment_status": FULFILLMENT_STATUSES.word_for(order),
                "total_paid": total_paid,
                "balance_due": balance_due,
            }
        )
