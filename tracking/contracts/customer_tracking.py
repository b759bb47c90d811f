"""The customer tracking API: lean status, full detail and history under `/api/v1/orders/`
(camelCase, PascalCase statuses, `pageNumber`/`pageSize` pages), RFC 7807 errors with its
codes (`GetOrderStatus.NotFound`, `GetOrderById.NotFound`). Its SignalR hub is
`tracking.contracts.customer_tracking_hub`.

Only the order's customer and its restaurant's staff read it (the document's rule); anyone
else, couriers included, gets the same 404 as for a missing order.
"""

import math

from rest_framework.response import Response

from core.actors import Actor
from core.errors import ValidationFailed
from core.public_ids import user_public_id
from core.query_params import query_params_check
from core.timestamps import iso
from orders.models import OrderStatus
from orders.selectors import order_detail, order_status_snapshot, orders_for_summary
from orders.services.deadlines import sweep_overdue_on_read
from orders.visibility import CUSTOMER_TRACKING_ROLES, order_access, orders_visible_to
from tracking.contracts.base import ContractView, number
from tracking.contracts.vocabulary import Row, StatusVocabulary

S = OrderStatus

STATUSES = StatusVocabulary(
    [
        Row(S.PAYMENT_PENDING, "AwaitingPayment"),
        Row(S.PAYMENT_SUCCESS, "Placed"),
        Row(S.ORDER_PLACED, "Placed"),
        Row(S.RESTAURANT_CONFIRMED, "Accepted"),
        Row(S.PREPARING, "Preparing"),
        Row(S.READY_FOR_PICKUP, "ReadyForDelivery"),
        Row(S.ORDER_PICKED_UP, "ReadyForDelivery"),
        Row(S.OUT_FOR_DELIVERY, "ReadyForDelivery"),
        Row(S.DELIVERED, "Delivered"),
        Row(S.COMPLETED, "Delivered"),
        Row(S.RETURNED, "Delivered"),
        Row(S.RESTAURANT_REJECTED, "Rejected"),
        Row(S.CANCELLED, "Cancelled"),
        Row(S.PAYMENT_FAILED, "Cancelled"),
        Row(S.REFUND_COMPLETED, "Cancelled"),
    ]
)

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


def reader_access(*, user, order_id):
    """The document's readers: the order's customer, its restaurant's staff and platform admins
    (orders.visibility.CUSTOMER_TRACKING_ROLES); anyone else gets the 404 of a missing order."""
    return order_access(user=user, order_id=order_id, roles=CUSTOMER_TRACKING_ROLES)


class CustomerTrackingView(ContractView):
    error_content_type = "application/problem+json"
    # The document's error codes for a missing (or masked) order, per endpoint.
    not_found_code = "NotFound"

    def error_body(self, problem: dict) -> dict:
        if problem.get("code") == "order_not_found":
            return {**problem, "title": self.not_found_code, "code": self.not_found_code}
        return problem


class OrderStatusView(CustomerTrackingView):
    """`GET /api/v1/orders/{orderId}/status`: the lean status for polling."""

    not_found_code = "GetOrderStatus.NotFound"

    def get(self, request, order_id):
        query_params_check(request.query_params, ())
        access = reader_access(user=request.user, order_id=order_id)
        snapshot = order_status_snapshot(actor=access.actor, order_id=access.order_id)
        if sweep_overdue_on_read(order_id=access.order_id, deadline_at=snapshot["deadline_at"]):
            snapshot = order_status_snapshot(actor=access.actor, order_id=access.order_id)
        return Response(
            {
                "orderId": str(snapshot["id"]),
                "status": STATUSES.word_for(snapshot),
                "lastUpdateTimestamp": iso(snapshot["updated_at"], timespec="seconds"),
                "estimatedDeliveryTime": iso(snapshot["estimated_delivery_at"], timespec="seconds"),
            }
        )


def order_dto(order) -> dict:
    return {
        "orderId": str(order.pk),
        "orderNumber": order.number,
        "customerId": str(user_public_id(order.customer_id)),
        "restaurantId": str(order.restaurant_id),
        "status": STATUSES.word_for(order),
        "placementTimestamp": iso(order.placed_at, timespec="seconds"),
        "lastUpdateTimestamp": iso(order.updated_at, timespec="seconds"),
        "estimatedDeliveryTime": iso(order.estimated_delivery_at, timespec="seconds"),
        "actualDeliveryTime": iso(order.delivered_at, timespec="seconds"),
        "currency": order.currency,
        "subtotalAmount": number(order.subtotal),
        "discountAmount": number(order.discount),
        "deliveryFeeAmount": number(order.delivery_fee),
        "tipAmount": number(order.tip),
        "taxAmount": number(order.tax),
        "totalAmount": number(order.total),
        "appliedCouponId": None,
        "sourceTeamCartId": None,
        "deliveryAddress_Street": order.delivery_street,
        "deliveryAddress_City": order.delivery_city,
        "deliveryAddress_State": order.delivery_state,
        "deliveryAddress_Country": order.delivery_country,
        "deliveryAddress_PostalCode": order.delivery_postal_code,
        "items": [
            {
                "orderItemId": str(item.pk),
                "menuItemId": str(item.menu_item_id) if item.menu_item_id else None,
                "name": item.name,
                "quantity": item.quantity,
                "unitPriceAmount": number(item.unit_price),
                "lineItemTotalAmount": number(item.line_total),
                "customizations": [
                    {
                        "groupName": c.group_name,
                        "choiceName": c.choice_name,
                        "priceAdjustmentAmount": number(c.price_adjustment),
                    }
                    for c in item.customizations.all()
                ],
            }
            for item in order.items.all()
        ],
    }


class OrderDetailView(CustomerTrackingView):
    """`GET /api/v1/orders/{orderId}`: `{"order": {...}}`, the full snapshot."""

    not_found_code = "GetOrderById.NotFound"

    def get(self, request, order_id):
        query_params_check(request.query_params, ())
        access = reader_access(user=request.user, order_id=order_id)
        return Response({"order": order_dto(order_detail(actor=access.actor, order_id=access.order_id))})


def _positive(request, name: str, default: int) -> int:
    raw = request.query_params.getlist(name)
    if not raw:
        return default
    if len(raw) > 1 or not raw[0].isdigit() or len(raw[0]) > 9 or int(raw[0]) < 1:
        raise ValidationFailed({name: ["Must be one whole number of at least 1."]})
    return int(raw[0])


class MyOrdersView(CustomerTrackingView):
    """`GET /api/v1/orders/my?pageNumber=&pageSize=`: the customer's orders, newest first."""

    def get(self, request):
        query_params_check(request.query_params, ("pageNumber", "pageSize"))
        page_number = _positive(request, "pageNumber", 1)
        page_size = min(_positive(request, "pageSize", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
        orders = orders_for_summary(orders_visible_to(actor=Actor.customer(request.user))).order_by("-placed_at", "-id")
        total = orders.count()
        start = (page_number - 1) * page_size
        page = list(orders[start : start + page_size]) if start < total else []
        return Response(
            {
                "items": [
                    {
                        "orderId": str(order.pk),
                        "orderNumber": order.number,
                        "status": STATUSES.word_for(order),
                        "placementTimestamp": iso(order.placed_at, timespec="seconds"),
                        "restaurantId": str(order.restaurant_id),
                        "customerId": str(user_public_id(order.customer_id)),
                        "totalAmount": number(order.total),
                        "totalCurrency": order.currency,
                        "itemCount": order.items_quantity,  # type: ignore[attr-defined]  # annotated by orders_for_summary
                    }
                    for order in page
                ],
                "pageNumber": page_number,
                "totalPages": math.ceil(total / page_size),
                "totalCount": total,
            }
        )
