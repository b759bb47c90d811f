"""The poll-status API: `GET /api/orders/{id}/poll-status` answers `{success, data}` with the
order's lean state in camelCase and lower-case status words, read from the order row alone.
Like the native status endpoint, it carries out a deadline that has passed before answering
(the document's "timeout sweeps" on poll). Errors are `{success: false, message}`.

Anyone related to the order may poll it (its customer, its restaurant's staff, its courier);
another user's order is the same 404 as a missing one (the document's 403 is never sent, so
that an order's existence is not revealed).
"""

from rest_framework.response import Response

from core.query_params import query_params_check
from core.timestamps import iso
from orders.models import DeadlineKind, DeliveryType, OrderStatus, PaymentMethod, PaymentStatus
from orders.services.deadlines import sweep_overdue_on_read
from orders.visibility import order_access, orders_visible_to
from tracking.contracts.base import PROMISED_TIME_SOURCES, ContractView, number, promised_times
from tracking.contracts.vocabulary import Row, StatusVocabulary

S = OrderStatus

STATUSES = StatusVocabulary(
    [
        Row(S.PAYMENT_PENDING, "placed"),
        Row(S.ORDER_PLACED, "placed"),
        Row(S.PAYMENT_SUCCESS, "placed"),
        Row(S.RESTAURANT_CONFIRMED, "accepted"),
        Row(S.PREPARING, "processing"),
        Row(S.READY_FOR_PICKUP, "ready"),
        Row(S.ORDER_PICKED_UP, "picked_up"),
        Row(S.OUT_FOR_DELIVERY, "picked_up"),
        Row(S.DELIVERED, "picked_up"),
        Row(S.COMPLETED, "picked_up"),
        Row(S.RETURNED, "picked_up"),
        Row(S.REFUND_COMPLETED, "picked_up", {"returned_at__isnull": False}),
        Row(S.REFUND_COMPLETED, "cancelled"),
        Row(S.CANCELLED, "cancelled"),
        Row(S.RESTAURANT_REJECTED, "cancelled"),
        Row(S.PAYMENT_FAILED, "cancelled"),
    ]
)

# "pending, success, or failed": money that came back was still paid once.
PAYMENT_STATUSES = {
    PaymentStatus.PENDING: "pending",
    PaymentStatus.PAID: "success",
    PaymentStatus.REFUNDED: "success",
    PaymentStatus.FAILED: "failed",
}

FIELDS = (
    "id",
    "number",
    "status",
    "payment_status",
    "payment_method",
    "delivery_type",
    "total",
    "paid_at",
    "ready_at",
    "picked_up_at",
    "delivered_at",
    "returned_at",
    "cancelled_at",
    "cancellation_reason",
    "deadline_at",
    "deadline_kind",
    "updated_at",
    *PROMISED_TIME_SOURCES,
)
# Our addition to the document (docs/contracts/poll-status.md): the promised times.
PROMISED_TIME_FIELDS = ("fulfillAt", "estimatedReadyAt", "estimatedDeliveryAt")
READY_DEADLINES = (DeadlineKind.PICKUP, DeadlineKind.COLLECTION)


def poll_data(row: dict) -> dict:
    deadline_kind = row["deadline_kind"]
    # The pickup code is entered to leave READY_FOR_PICKUP: by the courier (picked up) or, for a
    # self-pickup order, by staff handing it over (delivered).
    otp_verified = row["picked_up_at"] is not None or (
        row["delivery_type"] == DeliveryType.PICKUP and row["delivered_at"] is not None
    )
    return {
        "id": str(row["id"]),
        "orderNumber": row["number"],
        "orderStatus": STATUSES.word_for(row),
        "paymentStatus": PAYMENT_STATUSES[row["payment_status"]],
        "totalAmount": number(row["total"]),
        # The customer is committed once the order is paid, or placed for cash on delivery.
        "isCommitmentConfirmed": row["payment_method"] == PaymentMethod.COD or row["paid_at"] is not None,
        "commitmentDeadlineAt": iso(row["deadline_at"], timespec="milliseconds")
        if deadline_kind == DeadlineKind.PAYMENT
        else None,
        "readyAt": iso(row["ready_at"], timespec="milliseconds"),
        "readyExpiresAt": iso(row["deadline_at"], timespec="milliseconds")
        if deadline_kind in READY_DEADLINES
        else None,
        "isOtpVerified": otp_verified,
        "cancelledAt": iso(row["cancelled_at"], timespec="milliseconds"),
        "cancellationReason": row["cancellation_reason"] or None,
        "updatedAt": iso(row["updated_at"], timespec="milliseconds"),
        **promised_times(row, PROMISED_TIME_FIELDS, timespec="milliseconds"),
    }


class PollStatusView(ContractView):
    def error_body(self, problem: dict) -> dict:
        message = "Order not found." if problem.get("code") == "order_not_found" else problem.get("detail")
        return {"success": False, "message": message}

    def get(self, request, order_id):
        query_params_check(request.query_params, ())
        # The document's client builds the path with spaces around the id (`/orders/ ${ orderId } /`).
        access = order_access(user=request.user, order_id=order_id.strip())
        orders = orders_visible_to(actor=access.actor).filter(pk=access.order_id)
        row = orders.values(*FIELDS).get()
        if sweep_overdue_on_read(order_id=access.order_id, deadline_at=row["deadline_at"]):
            row = orders.values(*FIELDS).get()
        return Response({"success": True, "data": poll_data(row)})
