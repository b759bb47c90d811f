"""The order endpoints every role shares: list, place, read, poll, change status, cancel.

Placing acts as `Actor.customer`. Reading one order, its status and history, cancelling and the
generic status change act in whatever capacity the user has towards that order
(`orders.visibility.order_access`). The courier's endpoints and the handoff codes under
`/api/orders/{id}/` live in `delivery/api.py`. Each action validates its input with a
serializer and calls one service.
"""

from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.models import TokenUser

from core.actors import Actor, ActorRole
from core.api import SignedInRequest, validated
from core.idempotency import IdempotentPostMixin
from core.pagination import PageOrCursorPagination
from core.query_params import PAGINATION_PARAMS, query_params_check
from core.schema import ACTION_PROBLEMS, IDEMPOTENCY_KEY, IF_MATCH, READ_PROBLEMS, problems
from core.throttling import CodeGuessLimitMixin
from orders.action_serializers import OrderActionResponseSerializer, ReasonOptionalSerializer, StatusChangeSerializer
from orders.filters import OrderFilter
from orders.lifecycle import STATUS_ALIASES
from orders.models import Order, OrderStatus
from orders.placing_serializers import OrderPlaceSerializer, order_place_arguments
from orders.polling import (
    PollJWTAuthentication,
    fast_poll_response,
    order_status_for_poll,
    status_etag,
)
from orders.polling import etag_matches as _etag_matches
from orders.selectors import (
    courier_preview_unless_delivering,
    order_detail,
    order_with_events,
    orders_for_summary,
)
from orders.serializers import (
    INCLUDE_PATTERN,
    CourierOrderPreviewSerializer,
    DetailQuerySerializer,
    HistorySerializer,
    OrderDetailSerializer,
    OrderSummarySerializer,
    StatusSnapshotSerializer,
)
from orders.services.placing import order_place
from orders.services.transitions import TransitionResult, order_cancel, order_transition
from orders.versions import order_etag
from orders.visibility import OrderAccess, order_access, orders_related_to

ORDER_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The order's id.")


# What `GET /api/orders/{id}/` answers: the order in full, or (a courier not delivering it) its preview.
ORDER_OR_PREVIEW = PolymorphicProxySerializer(
    component_name="OrderDetailOrCourierPreview",
    serializers=[OrderDetailSerializer, CourierOrderPreviewSerializer],
    resource_type_field_name=None,
)


def action_response(result: TransitionResult, message: str, **extra: Any) -> Response:
    """The order-process API's answer to an action that changed the order's status."""
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
    return Response(OrderActionResponseSerializer(body).data, headers=version_headers(order))


def version_headers(order: Order) -> dict[str, str]:
    """The order's ETag, which the next write sends back in `If-Match` (orders.versions)."""
    return {"ETag": order_etag(order.pk, order.sequence)}


class OrderViewSet(CodeGuessLimitMixin, IdempotentPostMixin, mixins.ListModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]  # DRF\'s views take no type arguments at run time
    permission_classes = [IsAuthenticated]
    serializer_class = OrderSummarySerializer
    filterset_class = OrderFilter
    pagination_class = PageOrCursorPagination
    lookup_value_regex = "[^/]+"

    def get_authenticators(self) -> list[BaseAuthentication]:
        # The lean status poll checks the JWT without reading the user (orders.polling); a
        # signed-in browser (the session) is read as everywhere else.
        # The OpenAPI schema (a fake view) documents the usual bearer token.
        request = None if getattr(self, "swagger_fake_view", False) else getattr(self, "request", None)
        if request is not None and self.action_map.get(request.method.lower()) == "status_snapshot":
            return [
                PollJWTAuthentication() if isinstance(authenticator, JWTAuthentication) else authenticator
                for authenticator in super().get_authenticators()
            ]
        return super().get_authenticators()

    queryset = Order.objects.none()
    code_actions = frozenset({"change_status"})

    def get_queryset(self) -> QuerySet[Order]:
        return orders_for_summary(orders_related_to(user=cast(User, self.request.user)))

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
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query_params_check(request.query_params, {*OrderFilter.base_filters, *PAGINATION_PARAMS})
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Place an order",
        description=(
            "At most `ORDERFLOW_ORDER_PLACE_LIMIT_PER_HOUR` orders per customer in any hour: beyond it, 429 "
            "`order_rate_limited` with `Retry-After`."
        ),
        request=OrderPlaceSerializer,
        responses={201: OrderDetailSerializer, **problems(400, 401, 409, 422, 429)},
        parameters=[IDEMPOTENCY_KEY],
    )
    def create(self, request: SignedInRequest) -> Response:
        data = validated(OrderPlaceSerializer, request.data)
        order = order_place(customer=request.user, rate_limited=True, **order_place_arguments(data))
        detail = order_detail(actor=Actor.customer(request.user), order_id=order.pk)
        context = {"include": (), "role": ActorRole.CUSTOMER, "request": request}
        body = OrderDetailSerializer(detail, context=context).data
        return Response(body, status=status.HTTP_201_CREATED)

    def _detail(self, request: SignedInRequest, access: OrderAccess) -> Response:
        include = validated(DetailQuerySerializer, request.query_params).get("include", ())
        order = order_detail(actor=access.actor, order_id=access.order_id, include=include)
        preview = courier_preview_unless_delivering(actor=access.actor, order=order)
        if preview is not None:
            return Response(CourierOrderPreviewSerializer(preview).data)
        context = {"include": include, "role": access.actor.role, "request": request}
        return Response(OrderDetailSerializer(order, context=context).data, headers=version_headers(order))

    @extend_schema(
        summary="One order in full",
        parameters=[
            ORDER_ID,
            OpenApiParameter(
                "include", OpenApiTypes.STR, pattern=INCLUDE_PATTERN, description="Comma-separated: history, payments."
            ),
        ],
        responses={200: ORDER_OR_PREVIEW, **problems(400, *READ_PROBLEMS)},
        description=(
            "A courier sees an order in full only while they deliver it; before that (an order they may "
            "claim) and after it ends for them, the preview of `GET /api/orders/available/`."
        ),
    )
    def retrieve(self, request: SignedInRequest, pk: Any = None) -> Response:
        return self._detail(request, order_access(user=request.user, order_id=pk))

    @extend_schema(
        summary="One order in full, by its number",
        parameters=[
            OpenApiParameter("order_number", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter(
                "include", OpenApiTypes.STR, pattern=INCLUDE_PATTERN, description="Comma-separated: history, payments."
            ),
        ],
        responses={200: ORDER_OR_PREVIEW, **problems(400, *READ_PROBLEMS)},
    )
    @action(detail=False, methods=["get"], url_path=r"number/(?P<order_number>[^/]+)")
    def by_number(self, request: SignedInRequest, order_number: str | None = None) -> Response:
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
    def status_snapshot(self, request: Request, pk: Any = None) -> Response:
        # The poll's user is a TokenUser (PollJWTAuthentication) or, signed in by a session, a user row.
        body = order_status_for_poll(user=cast("User | TokenUser", request.user), order_id=pk)
        etag = status_etag(body)
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
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=StatusChangeSerializer,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS, 410, 423)},
    )
    @status_snapshot.mapping.post
    def change_status(self, request: SignedInRequest, pk: Any = None) -> Response:
        data = validated(StatusChangeSerializer, request.data)
        access = order_access(user=request.user, order_id=pk)
        result = order_transition(
            order_id=access.order_id,
            target=data["status_code"],
            actor=access.actor,
            reason=data["reason"],
            metadata=data["metadata"],
            otp=data.get("otp"),
            if_match=request.headers.get("If-Match"),
        )
        # The document's example echoes the word the client sent (ORDER_CONFIRMED), aliases included.
        sent = data["status_code"].strip().upper()
        return action_response(
            result,
            "Order status updated successfully",
            new_status=sent if STATUS_ALIASES.get(sent) == result.order.status else result.order.status,
            status_name=OrderStatus(result.order.status).label,
            tracking_id=result.event.pk,
        )

    @extend_schema(
        summary="Status history",
        parameters=[ORDER_ID],
        responses={200: HistorySerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["get"])
    def history(self, request: SignedInRequest, pk: Any = None) -> Response:
        query_params_check(request.query_params, ())
        access = order_access(user=request.user, order_id=pk)
        order = order_with_events(actor=access.actor, order_id=access.order_id)
        return Response(HistorySerializer(order, context={"actor": access.actor}).data)

    # ------------------------------------------------------------ customer

    @extend_schema(
        summary="Cancel an order",
        description=(
            "In your role towards the order, as the generic status change: a customer before preparation "
            "starts, restaurant staff by the kitchen's rules (a reason is required); couriers may not. A paid "
            "online order is refunded automatically; cash orders need none."
        ),
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=ReasonOptionalSerializer,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: SignedInRequest, pk: Any = None) -> Response:
        data = validated(ReasonOptionalSerializer, request.data)
        access = order_access(user=request.user, order_id=pk)
        result = order_cancel(
            order_id=access.order_id,
            actor=access.actor,
            reason=data["reason"],
            if_match=request.headers.get("If-Match"),
        )
        return action_response(result, "Order cancelled successfully", refund_status=result.order.refund_status)


_status_view = OrderViewSet.as_view({"get": "status_snapshot", "post": "change_status"}, basename="order", detail=True)


@csrf_exempt  # as every DRF view: the session's CSRF check is the viewset's own
def order_status(request: HttpRequest, pk: Any) -> HttpResponse:
    """`/api/orders/{id}/status/`, mounted ahead of the router (config/urls.py).

    A plain GET that Redis answers alone (`orders.polling.fast_poll_response`: a bearer token,
    no query string, JSON accepted) skips DRF: the lean poll's fast path, which
    `StatusPollMiddleware` takes earlier still for most polls. Everything else, misses included,
    is `OrderViewSet` (`status_snapshot`, `change_status`), which sends the same bytes.
    """
    return fast_poll_response(request, pk) or _status_view(request, pk=pk)
