"""The order endpoints for customers and couriers, and the role-neutral ones.

Placing acts as `Actor.customer`, courier actions as `Actor.courier`. Reading one order,
its status, OTP, history and ETA, cancelling, and the generic status change act in whatever
capacity the user has towards that order (`orders.selectors.order_access`). Each action
validates its input with a serializer and calls one service.
"""

from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from delivery.models import HandoffPurpose
from delivery.selectors import courier_last_position, order_eta
from delivery.serializers import AvailableOrderSerializer
from delivery.services import otp_resend, otp_reveal
from orders.actors import Actor
from orders.errors import ValidationFailed
from orders.filters import OrderFilter
from orders.idempotency import IdempotentPostMixin
from orders.models import ActorRole, DeliveryType, Order, OrderStatus
from orders.pagination import PageOrCursorPagination, PagePagination
from orders.permissions import IsCourier
from orders.polling import order_status_for_poll
from orders.schema import ACTION_PROBLEMS, IDEMPOTENCY_KEY, READ_PROBLEMS, problems
from orders.selectors import (
    OrderAccess,
    order_access,
    order_detail,
    order_for_eta,
    order_with_events,
    orders_available_for_courier,
    orders_for_summary,
    orders_related_to,
)
from orders.serializers import (
    CompleteDeliverySerializer,
    DetailQuerySerializer,
    EtaSerializer,
    HistorySerializer,
    OrderActionResponseSerializer,
    OrderDetailSerializer,
    OrderPlaceSerializer,
    OrderSummarySerializer,
    OtpEntrySerializer,
    OtpResendResponseSerializer,
    OtpSerializer,
    OtpTypeSerializer,
    OtpVerifySerializer,
    ReasonOptionalSerializer,
    StatusChangeSerializer,
    StatusSnapshotSerializer,
    order_place_arguments,
)
from orders.services import (
    TransitionResult,
    order_assign_courier,
    order_cancel,
    order_handoff,
    order_place,
    order_transition,
)

ORDER_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The order's id.")


def validated(serializer_class, data) -> dict:
    if isinstance(data, QueryDict):
        # A serializer reads the last of repeated values; the ones before must not pass unseen.
        repeated = {name: ["Give one value only."] for name, values in data.lists() if len(values) > 1}
        if repeated:
            raise ValidationFailed(repeated)
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def action_response(result: TransitionResult, message: str, **extra) -> Response:
    """Seed 001's answer to an action that changed the order's status."""
    order = result.order
    body = {
        "success": True,
        "order_id": order.pk,
        "order_number": order.number,
        "status": order.status,
        "previous_status": result.previous_status,
        "message": message,
        **extra,
    }
    return Response(OrderActionResponseSerializer(body).data)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def default_purpose(access: OrderAccess) -> HandoffPurpose:
    """The code the order is waiting for, or else the one this viewer reads."""
    if access.status == OrderStatus.OUT_FOR_DELIVERY:
        return HandoffPurpose.DELIVERY
    if access.status == OrderStatus.READY_FOR_PICKUP or access.delivery_type == DeliveryType.PICKUP:
        return HandoffPurpose.PICKUP
    if access.actor.role in (ActorRole.RESTAURANT, ActorRole.ADMIN):
        return HandoffPurpose.PICKUP
    return HandoffPurpose.DELIVERY


class OrderViewSet(IdempotentPostMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    serializer_class = OrderSummarySerializer
    filterset_class = OrderFilter
    pagination_class = PageOrCursorPagination
    lookup_value_regex = "[^/]+"
    queryset = Order.objects.none()

    def get_queryset(self):
        return orders_for_summary(orders_related_to(user=self.request.user))

    # ------------------------------------------------------------ reading

    @extend_schema(
        summary="List your orders",
        description=(
            "Orders you placed, your restaurants' orders (staff), or your deliveries (couriers), newest "
            "first. Filters combine with AND. Cancelled, rejected and failed orders are left out unless "
            "`include_cancelled=true`, a `tab` or a `status` asks for them."
        ),
        responses={200: OrderSummarySerializer(many=True), **problems(400, 401)},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Place an order",
        request=OrderPlaceSerializer,
        responses={201: OrderDetailSerializer, **problems(400, 401, 409, 422)},
        parameters=[IDEMPOTENCY_KEY],
    )
    def create(self, request):
        data = validated(OrderPlaceSerializer, request.data)
        order = order_place(customer=request.user, **order_place_arguments(data))
        detail = order_detail(actor=Actor.customer(request.user), order_id=order.pk)
        body = OrderDetailSerializer(detail, context={"include": (), "role": ActorRole.CUSTOMER}).data
        return Response(body, status=status.HTTP_201_CREATED)

    def _detail(self, request, access: OrderAccess) -> Response:
        include = validated(DetailQuerySerializer, request.query_params).get("include", ())
        order = order_detail(actor=access.actor, order_id=access.order_id, include=include)
        return Response(OrderDetailSerializer(order, context={"include": include, "role": access.actor.role}).data)

    @extend_schema(
        summary="One order in full",
        parameters=[
            ORDER_ID,
            OpenApiParameter("include", OpenApiTypes.STR, description="Comma-separated: history, payments."),
        ],
        responses={200: OrderDetailSerializer, **problems(400, *READ_PROBLEMS)},
    )
    def retrieve(self, request, pk=None):
        return self._detail(request, order_access(user=request.user, order_id=pk))

    @extend_schema(
        summary="One order in full, by its number",
        parameters=[
            OpenApiParameter("order_number", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("include", OpenApiTypes.STR, description="Comma-separated: history, payments."),
        ],
        responses={200: OrderDetailSerializer, **problems(400, *READ_PROBLEMS)},
    )
    @action(detail=False, methods=["get"], url_path=r"number/(?P<order_number>[^/]+)")
    def by_number(self, request, order_number=None):
        return self._detail(request, order_access(user=request.user, number=order_number))

    @extend_schema(
        summary="Lean status for polling",
        description=(
            "A few fields read from the order row alone. `ETag` changes with every event; send it back in "
            "`If-None-Match` to get `304 Not Modified` while nothing changed."
        ),
        parameters=[ORDER_ID],
        responses={
            200: StatusSnapshotSerializer,
            304: OpenApiResponse(description="Unchanged since the ETag you sent."),
            **problems(*READ_PROBLEMS),
        },
    )
    @action(detail=True, methods=["get"], url_path="status")
    def status_snapshot(self, request, pk=None):
        body = order_status_for_poll(user=request.user, order_id=pk)
        etag = f'"{body["order_id"]}:{body["sequence"]}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if _etag_matches(request.headers.get("If-None-Match"), etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(body, headers=headers)

    @extend_schema(
        summary="Change the status (generic)",
        description=(
            "Moves the order to `status_code` if the transition table allows it from the current status "
            "for your role towards this order (customer, restaurant staff, its courier, admin). Handoffs "
            "need `otp`."
        ),
        parameters=[ORDER_ID, IDEMPOTENCY_KEY],
        request=StatusChangeSerializer,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS, 410, 423)},
    )
    @status_snapshot.mapping.post
    def change_status(self, request, pk=None):
        data = validated(StatusChangeSerializer, request.data)
        access = order_access(user=request.user, order_id=pk)
        result = order_transition(
            order_id=access.order_id,
            target=data["status_code"],
            actor=access.actor,
            reason=data["reason"],
            metadata=data["metadata"],
            otp=data.get("otp"),
        )
        return action_response(
            result,
            "Order status updated successfully",
            new_status=result.order.status,
            status_name=OrderStatus(result.order.status).label,
            tracking_id=result.event.pk,
        )

    @extend_schema(
        summary="Status history",
        parameters=[ORDER_ID],
        responses={200: HistorySerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        access = order_access(user=request.user, order_id=pk)
        return Response(HistorySerializer(order_with_events(actor=access.actor, order_id=access.order_id)).data)

    @extend_schema(
        summary="Estimated delivery time",
        parameters=[ORDER_ID],
        responses={200: EtaSerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["get"])
    def eta(self, request, pk=None):
        access = order_access(user=request.user, order_id=pk)
        order = order_for_eta(actor=access.actor, order_id=access.order_id)
        eta = order_eta(order=order, now=timezone.now())
        body = {
            "order_id": order.pk,
            "status": order.status,
            "estimated_delivery_time": eta.estimated_delivery_at,
            "current_eta_minutes": eta.minutes,
            "basis": eta.basis,
            "delivery_person_location": eta.courier_position,
            "customer_location": eta.customer_position,
            "restaurant_location": eta.restaurant_position,
        }
        return Response(EtaSerializer(body).data)

    # ------------------------------------------------------------ customer

    @extend_schema(
        summary="Cancel an order",
        description=(
            "In your role towards the order, as the generic status change: a customer before preparation "
            "starts, restaurant staff by the kitchen's rules (a reason is required); couriers may not. A paid "
            "online order is refunded automatically; cash orders need none."
        ),
        parameters=[ORDER_ID, IDEMPOTENCY_KEY],
        request=ReasonOptionalSerializer,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = validated(ReasonOptionalSerializer, request.data)
        access = order_access(user=request.user, order_id=pk)
        result = order_cancel(order_id=access.order_id, actor=access.actor, reason=data["reason"])
        return action_response(result, "Order cancelled successfully", refund_status=result.order.refund_status)

    # ------------------------------------------------------------ handoff codes

    @extend_schema(
        summary="Read a handoff code",
        description=(
            "Shown to whoever the other side asks for it: the customer reads the delivery code and a "
            "self-pickup order's code, restaurant staff read a delivery order's pickup code. `type` "
            "defaults to the code the order is waiting for."
        ),
        parameters=[ORDER_ID, OpenApiParameter("type", OpenApiTypes.STR, enum=HandoffPurpose.values)],
        responses={200: OtpSerializer, **problems(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["get"], url_path="otp")
    def otp(self, request, pk=None):
        purpose = validated(OtpTypeSerializer, request.query_params).get("type")
        access = order_access(user=request.user, order_id=pk)
        purpose = purpose or default_purpose(access)
        code, handoff = otp_reveal(order_id=access.order_id, purpose=purpose, actor=access.actor)
        body = {
            "otp": code,
            "type": purpose,
            "expires_at": handoff.expires_at,
            "order_id": access.order_id,
            "attempts_left": handoff.attempts_left,
        }
        return Response(OtpSerializer(body).data, headers={"Cache-Control": "no-store"})

    @extend_schema(
        summary="Enter a handoff code",
        description=(
            "Verifying a code makes the handoff it belongs to: the courier picking up (pickup code) or "
            "delivering (delivery code) a delivery order, restaurant staff handing a self-pickup order to "
            "its customer (pickup code)."
        ),
        parameters=[ORDER_ID, IDEMPOTENCY_KEY],
        request=OtpVerifySerializer,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS, 410, 423)},
    )
    @action(detail=True, methods=["post"], url_path="otp/verify")
    def otp_verify(self, request, pk=None):
        data = validated(OtpVerifySerializer, request.data)
        access = order_access(user=request.user, order_id=pk)
        result = order_handoff(
            order_id=access.order_id,
            purpose=data.get("type") or default_purpose(access),
            otp=data["otp"],
            actor=access.actor,
        )
        return action_response(result, "OTP verified successfully", verified=True)

    @extend_schema(
        summary="Send a handoff code again",
        description="Replaces the code (the old one stops working) and sends it to whoever reads it.",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY],
        request=OtpTypeSerializer,
        responses={200: OtpResendResponseSerializer, **problems(*ACTION_PROBLEMS, 429)},
    )
    @action(detail=True, methods=["post"], url_path="otp/resend")
    def otp_resend(self, request, pk=None):
        purpose = validated(OtpTypeSerializer, request.data).get("type")
        access = order_access(user=request.user, order_id=pk)
        purpose = purpose or default_purpose(access)
        handoff = otp_resend(order_id=access.order_id, purpose=purpose, actor=access.actor)
        body = {
            "success": True,
            "order_id": access.order_id,
            "type": purpose,
            "expires_at": handoff.expires_at,
            "message": "A new code has been sent",
        }
        return Response(OtpResendResponseSerializer(body).data)

    # ------------------------------------------------------------ couriers

    @extend_schema(
        summary="Orders you could deliver (couriers)",
        description=(
            "Confirmed or ready delivery orders with no courier, nearest restaurant first once your "
            "position is known. Empty while you are offline. Pages by number only."
        ),
        responses={200: AvailableOrderSerializer(many=True), **problems(400, 401, 403)},
    )
    @action(
        detail=False,
        methods=["get"],
        permission_classes=[IsAuthenticated, IsCourier],
        pagination_class=PagePagination,
        filterset_class=None,
        filter_backends=[],
    )
    def available(self, request):
        position = courier_last_position(courier=request.user)
        page = self.paginate_queryset(orders_available_for_courier(position=position, courier=request.user))
        data = AvailableOrderSerializer(page, many=True, context={"courier_position": position}).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Claim an order (couriers)",
        description="Two couriers racing for one order get one 200 and one 409 `already_assigned`.",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY],
        request=None,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, IsCourier])
    def accept(self, request, pk=None):
        order = order_assign_courier(order_id=pk, courier=request.user, actor=Actor.courier(request.user))
        body = {
            "success": True,
            "order_id": order.pk,
            "order_number": order.number,
            "status": order.status,
            "previous_status": order.status,
            "message": "Order accepted",
            "delivery_status": order.delivery_status,
            "delivery_person": order.courier_id,
            "estimated_ready_time": order.estimated_ready_at,
        }
        return Response(OrderActionResponseSerializer(body).data)

    @extend_schema(
        summary="Pick up at the restaurant (couriers)",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY],
        request=OtpEntrySerializer,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS, 410, 423)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, IsCourier])
    def pickup(self, request, pk=None):
        data = validated(OtpEntrySerializer, request.data)
        result = order_transition(
            order_id=pk, target=OrderStatus.ORDER_PICKED_UP, actor=Actor.courier(request.user), otp=data["otp"]
        )
        return action_response(result, "Order picked up successfully")

    @extend_schema(
        summary="Start the delivery (couriers)",
        description="Sends the delivery code to the customer.",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY],
        request=None,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], url_path="start-delivery", permission_classes=[IsAuthenticated, IsCourier])
    def start_delivery(self, request, pk=None):
        result = order_transition(order_id=pk, target=OrderStatus.OUT_FOR_DELIVERY, actor=Actor.courier(request.user))
        return action_response(result, "Delivery started", estimated_delivery_time=result.order.estimated_delivery_at)

    @extend_schema(
        summary="Complete the delivery (couriers)",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY],
        request=CompleteDeliverySerializer,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS, 410, 423)},
    )
    @action(
        detail=True, methods=["post"], url_path="complete-delivery", permission_classes=[IsAuthenticated, IsCourier]
    )
    def complete_delivery(self, request, pk=None):
        data = validated(CompleteDeliverySerializer, request.data)
        notes = data["delivery_notes"].strip()
        result = order_transition(
            order_id=pk,
            target=OrderStatus.DELIVERED,
            actor=Actor.courier(request.user),
            otp=data["otp"],
            metadata={"delivery_notes": notes} if notes else None,
        )
        return action_response(
            result,
            "Order delivered successfully",
            actual_delivery_time=result.order.delivered_at,
            payment_status=result.order.payment_status,
        )
