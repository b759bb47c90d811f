"""The mobile orders API (Shopee-style tabs): `GET /orders` with `filter[order_status]`,
`filter[payment_type]`, `filter[delivery_type]`, `filter[is_active]`, `include` and `page`
(15 per page), answered as `{success, message, data: {data, links, meta}}`; `GET /orders/{id}`
by an integer id; `GET /mobile/orders/{orderReferenceId}`; and the payment provider's webhook
`POST /paymongo/webhook` (tracking/contracts/paymongo_webhook.py). Validation errors are
422 `{success, message, errors}`, a missing order `{success: false, message, data: null}`,
a missing token 401 `{"message": "Unauthenticated."}`.

The document's `/api/orders` is the native list, so the whole contract is mounted under
`/mobile/api/` (its base URL `https://your-domain.com/api` becomes `https://host/mobile/api`);
`/api/mobile/orders/{orderReferenceId}` and `/api/paymongo/webhook` collide with nothing and
are served at their own paths too.

Integer ids: the document's ids are integers, ours UUIDs. An order (item, payment, log entry)
is shown with the first 48 bits of its UUID as an integer (random bits of a version 4 UUID,
within JavaScript's and Dart's exact integers), and `GET /orders/{id}` finds the order by that
prefix among the caller's orders.
"""

import re
import uuid
from decimal import Decimal

from django.utils import timezone
from django.utils.text import slugify
from django.utils.timesince import timesince
from rest_framework.response import Response

from core.errors import OrderNotFound, ValidationFailed
from core.query_params import query_params_check
from core.timestamps import iso
from orders.lifecycle import ACTIVE_STATUSES
from orders.models import DeliveryType, OrderStatus, PaymentMethod
from orders.selectors import order_detail, orders_for_summary
from orders.visibility import actor_sees_customer, order_access, orders_related_to, orders_showing_customer_to
from tracking.contracts.base import ContractView, number, promised_times
from tracking.contracts.vocabulary import Row, StatusVocabulary

S = OrderStatus

STATUSES = StatusVocabulary(
    [
        Row(S.PAYMENT_PENDING, "placed"),
        Row(S.ORDER_PLACED, "processing"),
        Row(S.PAYMENT_SUCCESS, "processing"),
        Row(S.RESTAURANT_CONFIRMED, "processing"),
        Row(S.PREPARING, "processing"),
        Row(S.READY_FOR_PICKUP, "ready_for_pickup", {"delivery_type": DeliveryType.PICKUP}),
        Row(S.READY_FOR_PICKUP, "processing"),
        Row(S.ORDER_PICKED_UP, "out_for_delivery"),
        Row(S.OUT_FOR_DELIVERY, "out_for_delivery"),
        Row(S.DELIVERED, "delivered"),
        Row(S.COMPLETED, "completed"),
        Row(S.RETURNED, "returned"),
        Row(S.REFUND_COMPLETED, "returned", {"returned_at__isnull": False}),
        Row(S.REFUND_COMPLETED, "canceled"),
        Row(S.CANCELLED, "canceled"),
        Row(S.RESTAURANT_REJECTED, "canceled"),
        Row(S.PAYMENT_FAILED, "canceled"),
    ],
    # "The paid status exists but is not used": payment moves an order from placed to processing.
    unused_words=["paid"],
)

PER_PAGE = 15
FILTERS = ("filter[order_status]", "filter[payment_type]", "filter[delivery_type]", "filter[is_active]")
LIST_PARAMS = (*FILTERS, "include", "page")
INCLUDES = {"user": "user", "package": "package", "payments": "payments", "orderStatusLogs": "order_status_logs"}
TRUE_WORDS, FALSE_WORDS = {"1", "true"}, {"0", "false"}
ID_SHIFT = 80  # keep the top 48 bits of the 128
REFERENCE = re.compile(r"^(\d{8})([0-9A-Z]{1,20})$")
PAYMENT_RECORD_STATUSES = {"PENDING": "pending", "SUCCEEDED": "paid", "FAILED": "failed"}
# Our addition to the document (docs/contracts/mobile-orders.md): the promised times, for the
# tabs' "Estimated preparation time" and "Estimated delivery date".
PROMISED_TIME_FIELDS = ("promised_at", "estimated_ready_at", "estimated_delivery_at")


class InvalidInput(ValidationFailed):
    """Laravel's validation failure: 422, `errors` keyed by dotted parameter name."""

    status_code = 422


def int_id(value) -> int:
    return uuid.UUID(str(value)).int >> ID_SHIFT


def reference_id(order_number: str) -> str:
    """`ORD-20251107-1ABCDE` as the document's `YYYYMMDD{suffix}`: `202511071ABCDE`."""
    return order_number.removeprefix("ORD-").replace("-", "")


def order_number_for(reference: str) -> str | None:
    match = REFERENCE.match(reference or "")
    return f"ORD-{match[1]}-{match[2]}" if match else None


def _local(moment):
    return timezone.localtime(moment) if moment else None


def formatted(moment) -> str | None:
    moment = _local(moment)
    return moment.strftime("%b %d, %Y at ") + moment.strftime("%I:%M %p").lstrip("0") if moment else None


def plain(moment) -> str | None:
    moment = _local(moment)
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else None


def when(moment) -> dict:
    return {
        "formatted": formatted(moment),
        "human": timesince(moment, depth=1).replace("\xa0", " ") + " ago",
        "timestamp": int(moment.timestamp()),
    }


def payment_method_used(order) -> str | None:
    """The method the provider reported with the successful payment (e.g. `gcash`), if any."""
    for payment in order.payments.all():
        used = payment.raw_payload.get("payment_method_used") if isinstance(payment.raw_payload, dict) else None
        if payment.status == "SUCCEEDED" and used:
            return used
    return None


def address(order) -> dict | None:
    if order.delivery_type == DeliveryType.PICKUP:
        return None
    customer = order.customer
    return {
        "id": int_id(order.pk),
        "name": customer.get_full_name() or customer.get_username(),
        "phone": "",
        "address": order.delivery_street,
        "city": order.delivery_city,
        "province": order.delivery_state,
        "postal_code": order.delivery_postal_code,
        "is_default": False,
    }


def cart_item(order, item, *, shape: str = "list") -> dict:
    """A line as the document shows it in a list (`list`), an order's detail (`detail`, no
    timestamps) or the reference lookup (`reference`, nor selection flags, nor slug)."""
    adjustment = sum((c.price_adjustment for c in item.customizations.all()), Decimal("0"))
    choices = " / ".join(c.choice_name for c in item.customizations.all())
    product_id = int_id(item.menu_item_id) if item.menu_item_id else None
    product = {"id": product_id, "name": item.name, "slug": slugify(item.name), "thumbnail": None}
    body = {
        "id": int_id(item.pk),
        "user_id": order.customer_id,
        "variant_id": product_id,
        "quantity": item.quantity,
        "is_selected": True,
        "is_checked_out": True,
        "variant_price_snapshot": number(item.unit_price - adjustment),
        "adjustment_amount_snapshot": number(adjustment),
        "created_at": iso(order.placed_at, timespec="microseconds"),
        "updated_at": iso(order.placed_at, timespec="microseconds"),
        "variant": {
            "id": product_id,
            "product_id": product_id,
            "name": choices or item.name,
            "price": number(item.unit_price),
            "product": product,
        },
    }
    if shape != "list":
        del body["created_at"], body["updated_at"]
    if shape == "reference":
        del body["is_selected"], body["is_checked_out"], product["slug"]
    return body


def payment_row(order, payment) -> dict:
    return {
        "id": int_id(payment.pk),
        "provider": payment.provider,
        "status": PAYMENT_RECORD_STATUSES.get(payment.status, payment.status.lower()),
        "amount": number(payment.amount),
        "payment_intent_id": payment.provider_reference or None,
        "checkout_session_id": None,
        "order_reference_id": reference_id(order.number),
        "created_at": plain(payment.created_at),
    }


def status_logs(order) -> list[dict]:
    rows = []
    for event in order.events.all():
        if not event.to_status or event.to_status == event.from_status:
            continue
        state = {"status": event.to_status, "delivery_type": order.delivery_type, "returned_at": order.returned_at}
        rows.append(
            {
                "id": int_id(event.pk),
                "order_id": int_id(order.pk),
                "status": STATUSES.word_for(state),
                "description": event.reason or OrderStatus(event.to_status).label,
                "created_at": plain(event.created_at),
                "updated_at": plain(event.created_at),
            }
        )
    return rows


def order_object(order, includes: tuple[str, ...], *, detail: bool = False) -> dict:
    """An order as the list shows it, or (`detail`) as `GET /orders/{id}` does: with its user,
    and lines without timestamps, as the document's examples have them."""
    body = {
        "id": int_id(order.pk),
        "order_reference_id": reference_id(order.number),
        "order_status": STATUSES.word_for(order),
        "payment_type": order.payment_method,
        "payment_method_used": payment_method_used(order),
        "delivery_type": order.delivery_type,
        "paid_at": formatted(order.paid_at),
        "is_active": order.status in ACTIVE_STATUSES,
        "total_price": number(order.total),
        "total_item_price": number(order.subtotal),
        "shipping_fee": number(order.delivery_fee),
        "ordered_at": when(order.placed_at),
        "created_at": when(order.placed_at),
        "updated_at": when(order.updated_at),
        **promised_times(order, PROMISED_TIME_FIELDS),
    }
    if detail or "user" in includes:
        customer = order.customer
        body["user"] = {
            "id": customer.pk,
            "name": customer.get_full_name() or customer.get_username(),
            "email": customer.email,
            "phone": "",
            "created_at": iso(customer.date_joined, timespec="microseconds"),
        }
    if "package" in includes:
        body["package"] = None  # orders here carry no packaging choice
    if "payments" in includes:
        body["payments"] = [payment_row(order, p) for p in order.payments.all()]
    if "orderStatusLogs" in includes:
        body["order_status_logs"] = status_logs(order)
    body["shipping_address_snapshot"] = address(order)
    shape = "detail" if detail else "list"
    body["cart_items_snapshot"] = [cart_item(order, item, shape=shape) for item in order.items.all()]
    body["package_snapshot"] = None
    return body


class MobileOrdersView(ContractView):
    def error_body(self, problem: dict) -> dict:
        code = problem.get("code")
        if code in ("not_authenticated", "authentication_failed"):
            return {"message": "Unauthenticated."}
        if code == "order_not_found":
            return {"success": False, "message": "Order not found.", "data": None}
        if code == "validation_error" and problem.get("status") == 422:
            return {"success": False, "message": "The given data was invalid.", "errors": problem.get("errors", {})}
        body = {"success": False, "message": problem.get("detail") or problem.get("title"), "data": None}
        if problem.get("errors"):
            body["errors"] = problem["errors"]
        return body


def _one(params, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise InvalidInput({_dotted(name): [f"The {_dotted(name)} field must be given once."]})
    return values[0] if values else None


def _dotted(name: str) -> str:
    return name.replace("[", ".").replace("]", "")


def _invalid(name: str):
    dotted = _dotted(name)
    return InvalidInput({dotted: [f"The selected {dotted} is invalid."]})


def parse_includes(params) -> tuple[str, ...]:
    raw = _one(params, "include")
    if raw is None:
        return ()
    names = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    unknown = [name for name in names if name not in INCLUDES]
    if unknown:
        allowed = ", ".join(INCLUDES)
        message = f"Requested include(s) `{', '.join(unknown)}` are not allowed. Allowed include(s) are `{allowed}`."
        raise InvalidInput({"include": [message]})
    return names


def _detail_queryset_includes(includes) -> tuple[str, ...]:
    return tuple(name for name, wanted in (("payments", True), ("history", "orderStatusLogs" in includes)) if wanted)


class OrderListView(MobileOrdersView):
    """`GET /orders`: the tabs' lists, newest first, 15 per page."""

    def get(self, request):
        params = request.query_params
        query_params_check(params, LIST_PARAMS)
        includes = parse_includes(params)
        orders = orders_showing_customer_to(user=request.user)
        status = _one(params, "filter[order_status]")
        if status is not None:
            if status not in STATUSES.words:
                raise _invalid("filter[order_status]")
            orders = orders.filter(STATUSES.q_for(status))
        payment_type = _one(params, "filter[payment_type]")
        if payment_type is not None:
            if payment_type not in PaymentMethod.values:
                raise _invalid("filter[payment_type]")
            orders = orders.filter(payment_method=payment_type)
        delivery_type = _one(params, "filter[delivery_type]")
        if delivery_type is not None:
            if delivery_type not in DeliveryType.values:
                raise _invalid("filter[delivery_type]")
            orders = orders.filter(delivery_type=delivery_type)
        active = _one(params, "filter[is_active]")
        if active is not None:
            if active.lower() not in TRUE_WORDS | FALSE_WORDS:
                raise _invalid("filter[is_active]")
            wanted = active.lower() in TRUE_WORDS
            orders = orders.filter(status__in=ACTIVE_STATUSES) if wanted else orders.exclude(status__in=ACTIVE_STATUSES)
        page_raw = _one(params, "page")
        if page_raw is not None and (not page_raw.isdigit() or len(page_raw) > 9 or int(page_raw) < 1):
            raise InvalidInput({"page": ["The page must be an integer of at least 1."]})
        page = int(page_raw) if page_raw else 1
        total = orders.count()
        start = (page - 1) * PER_PAGE
        rows = (
            orders_for_summary(orders)
            .select_related("customer")
            .prefetch_related(
                "items__customizations", "payments", *(("events",) if "orderStatusLogs" in includes else ())
            )
            .order_by("-placed_at", "-id")[start : start + PER_PAGE]
        )
        data = [order_object(order, includes) for order in rows]
        last_page = max(1, -(-total // PER_PAGE))
        path = request.build_absolute_uri(request.path)

        def link(number_: int) -> str:
            return f"{path}?page={number_}"

        return Response(
            {
                "success": True,
                "message": "Orders retrieved successfully.",
                "data": {
                    "data": data,
                    "links": {
                        "first": link(1),
                        "last": link(last_page),
                        "prev": link(page - 1) if page > 1 else None,
                        "next": link(page + 1) if page < last_page else None,
                    },
                    "meta": {
                        "current_page": page,
                        "from": start + 1 if data else None,
                        "last_page": last_page,
                        "path": path,
                        "per_page": PER_PAGE,
                        "to": start + len(data) if data else None,
                        "total": total,
                    },
                },
            }
        )


class OrderDetailView(MobileOrdersView):
    """`GET /orders/{id}?include=...`: one order by its integer id."""

    def get(self, request, order_id: str):
        query_params_check(request.query_params, ("include",))
        includes = parse_includes(request.query_params)
        prefix = int(order_id) if order_id.isdigit() and len(order_id) <= 15 else -1
        if not 0 <= prefix < 1 << (128 - ID_SHIFT):
            raise OrderNotFound("No order with this id is visible to you.")
        low = uuid.UUID(int=prefix << ID_SHIFT)
        high = uuid.UUID(int=min((prefix + 1) << ID_SHIFT, 1 << 128) - 1)
        match = (
            orders_related_to(user=request.user)
            .filter(pk__gte=low, pk__lte=high)
            .order_by("placed_at")
            .values_list("pk", flat=True)
            .first()
        )
        if match is None:
            raise OrderNotFound("No order with this id is visible to you.")
        access = order_access(user=request.user, order_id=match)
        order = order_detail(actor=access.actor, order_id=access.order_id, include=_detail_queryset_includes(includes))
        if not actor_sees_customer(actor=access.actor, order=order):  # the document shows the customer
            raise OrderNotFound("No order with this id is visible to you.")
        return Response(
            {
                "success": True,
                "message": "Order details retrieved successfully.",
                "data": order_object(order, includes, detail=True),
            }
        )


class OrderByReferenceView(MobileOrdersView):
    """`GET /mobile/orders/{orderReferenceId}`: the order's state after the payment redirect."""

    def get(self, request, reference: str):
        query_params_check(request.query_params, ())
        number_ = order_number_for(reference)
        if number_ is None:
            raise OrderNotFound("No order with this reference is visible to you.")
        access = order_access(user=request.user, number=number_)
        order = order_detail(actor=access.actor, order_id=access.order_id, include=("payments",))
        if not actor_sees_customer(actor=access.actor, order=order):
            raise OrderNotFound("No order with this reference is visible to you.")
        return Response(
            {
                "success": True,
                "message": "Order status retrieved.",
                "data": {
                    "order_reference_id": reference_id(order.number),
                    "order_status": STATUSES.word_for(order),
                    "total_price": number(order.total),
                    "paid_at": plain(order.paid_at),
                    "payment_type": order.payment_method,
                    "payment_method_used": payment_method_used(order),
                    "package_snapshot": None,
                    "shipping_address": address(order),
                    "cart_items": [cart_item(order, item, shape="reference") for item in order.items.all()],
                    "payments": [payment_row(order, p) for p in order.payments.all()],
                    **promised_times(order, PROMISED_TIME_FIELDS),
                },
            }
        )
