"""The catalogue (any signed-in user) and the kitchen's endpoints (restaurant staff).

Staff act as `Actor.restaurant` on their own restaurants' orders only: any other order is a
404, exactly like a missing one. Each action validates its input and calls one service.
"""

from typing import cast

from django.contrib.auth.models import User
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.actors import Actor
from core.api import validated
from core.errors import NotFound
from core.idempotency import IdempotentPostMixin
from core.inputs import NoBodySerializer
from core.pagination import PagePagination
from core.query_params import PAGE_PARAMS, query_params_check
from core.schema import ACTION_PROBLEMS, IDEMPOTENCY_KEY, IF_MATCH, problems
from core.throttling import CodeGuessLimitMixin
from orders.action_serializers import (
    OrderActionResponseSerializer,
    OtpEntrySerializer,
    PrepTimeSerializer,
    ReasonRequiredSerializer,
)
from orders.api import action_response
from orders.models import OrderStatus
from orders.selectors import restaurant_queue
from orders.services.transitions import order_cancel, order_transition
from restaurants.hours import kitchen_status_payload
from restaurants.models import Restaurant
from restaurants.permissions import IsRestaurantStaff
from restaurants.selectors import restaurant_menu, restaurants_open, staff_restaurant_ids
from restaurants.serializers import (
    HoursSerializer,
    KitchenStatusInputSerializer,
    KitchenStatusSerializer,
    MenuSerializer,
    QueueQuerySerializer,
    QueueSerializer,
    RestaurantSearchSerializer,
    RestaurantSerializer,
)
from restaurants.services import restaurant_for_staff, restaurant_hours_set, restaurant_status_set

RESTAURANT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The restaurant's id.")
ORDER_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The order's id.")


class RestaurantViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    serializer_class = RestaurantSerializer
    pagination_class = PagePagination
    filter_backends = []
    lookup_value_regex = "[^/]+"
    queryset = Restaurant.objects.none()

    @extend_schema(
        summary="Open restaurants",
        parameters=[OpenApiParameter("search", OpenApiTypes.STR, description="Part of the name.")],
        responses={200: RestaurantSerializer(many=True), **problems(400, 401)},
    )
    def list(self, request):
        query_params_check(request.query_params, {"search", *PAGE_PARAMS})
        search = validated(RestaurantSearchSerializer, request.query_params).get("search", "")
        page = self.paginate_queryset(restaurants_open(search=search.strip()))
        return self.get_paginated_response(RestaurantSerializer(page, many=True).data)

    @extend_schema(
        summary="A restaurant's menu",
        description="Available items with their customization groups and available choices, and prices.",
        parameters=[RESTAURANT_ID],
        responses={200: MenuSerializer, **problems(401, 404)},
    )
    @action(detail=True, methods=["get"])
    def menu(self, request, pk=None):
        return Response(MenuSerializer(restaurant_menu(restaurant_id=pk)).data)

    def _kitchen_response(self, restaurant: Restaurant) -> Response:
        return Response(KitchenStatusSerializer(kitchen_status_payload(restaurant, at=timezone.now())).data)

    @extend_schema(
        summary="The kitchen's status",
        description=(
            "Restaurant staff only. `open`, `closed` (outside the hours), `paused` (no new orders, "
            "`until` an optional end) or `busy` (every quote `busy_minutes` longer). PUT sets it; "
            "the kitchen board and the restaurants' listing hear of it live."
        ),
        parameters=[RESTAURANT_ID],
        request=KitchenStatusInputSerializer,
        responses={200: KitchenStatusSerializer, **problems(400, 401, 404)},
    )
    @action(detail=True, methods=["get", "put"], url_path="kitchen")
    def kitchen(self, request, pk=None):
        if request.method == "GET":
            return self._kitchen_response(restaurant_for_staff(user=request.user, restaurant_id=pk))
        data = validated(KitchenStatusInputSerializer, request.data)
        restaurant = restaurant_status_set(
            user=request.user,
            restaurant_id=pk,
            status=data["status"],
            until=data.get("until"),
            busy_minutes=data.get("busy_minutes"),
        )
        return self._kitchen_response(restaurant)

    @extend_schema(
        summary="The restaurant's opening hours",
        description="Restaurant staff only. PUT replaces the weekly hours and the exceptions.",
        parameters=[RESTAURANT_ID],
        request=HoursSerializer,
        responses={200: HoursSerializer, **problems(400, 401, 404)},
    )
    @action(detail=True, methods=["get", "put"], url_path="hours")
    def hours(self, request, pk=None):
        if request.method == "PUT":
            data = validated(HoursSerializer, request.data)
            restaurant = restaurant_hours_set(user=request.user, restaurant_id=pk, **data)
        else:
            restaurant = restaurant_for_staff(user=request.user, restaurant_id=pk)
        body = {
            "time_zone": restaurant.time_zone,
            "weekly": restaurant.opening_hours.all(),
            "exceptions": restaurant.opening_exceptions.all(),
        }
        return Response(HoursSerializer(body).data)


class RestaurantOrderViewSet(CodeGuessLimitMixin, IdempotentPostMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, IsRestaurantStaff]
    lookup_value_regex = "[^/]+"
    filter_backends = []
    serializer_class = OrderActionResponseSerializer
    code_actions = frozenset({"handover"})

    def _actor(self) -> Actor:
        return Actor.restaurant(cast(User, self.request.user))  # the viewset requires a signed-in user

    @extend_schema(
        summary="The kitchen's queue",
        description=(
            "Your restaurants' orders the kitchen still has to act on (placed, paid, confirmed, preparing, "
            "ready), oldest first, with their items."
        ),
        parameters=[QueueQuerySerializer],
        responses={200: QueueSerializer, **problems(400, 401, 403, 404)},
    )
    @action(detail=False, methods=["get"])
    def queue(self, request):
        query_params_check(request.query_params, {"restaurant"})
        restaurant_id = validated(QueueQuerySerializer, request.query_params).get("restaurant")
        if restaurant_id is not None and restaurant_id not in staff_restaurant_ids(request.user.pk):
            # Someone else's kitchen is missing, not merely empty.
            raise NotFound("No restaurant with this id is yours.", code="restaurant_not_found")
        orders = list(restaurant_queue(actor=self._actor(), restaurant_id=restaurant_id))
        return Response(QueueSerializer({"count": len(orders), "orders": orders}).data)

    @extend_schema(
        summary="Confirm an order",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=PrepTimeSerializer,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        data = validated(PrepTimeSerializer, request.data)
        metadata = {"estimated_prep_time": data["estimated_prep_time"]} if "estimated_prep_time" in data else None
        result = order_transition(
            order_id=pk,
            target=OrderStatus.RESTAURANT_CONFIRMED,
            actor=self._actor(),
            metadata=metadata,
            if_match=request.headers.get("If-Match"),
        )
        return action_response(
            result, "Order confirmed successfully", estimated_ready_time=result.order.estimated_ready_at
        )

    @extend_schema(
        summary="Reject an order",
        description="A paid online order is refunded automatically.",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=ReasonRequiredSerializer,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = validated(ReasonRequiredSerializer, request.data)
        result = order_transition(
            order_id=pk,
            target=OrderStatus.RESTAURANT_REJECTED,
            actor=self._actor(),
            reason=data["reason"],
            if_match=request.headers.get("If-Match"),
        )
        return action_response(result, "Order rejected", refund_status=result.order.refund_status)

    @extend_schema(
        summary="Start preparing",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=None,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], url_path="start-preparing")
    def start_preparing(self, request, pk=None):
        validated(NoBodySerializer, request.data)
        result = order_transition(
            order_id=pk, target=OrderStatus.PREPARING, actor=self._actor(), if_match=request.headers.get("If-Match")
        )
        return action_response(result, "Order preparation started")

    @extend_schema(
        summary="Mark ready",
        description="Issues the pickup code: staff read it for the courier, or the customer for a self-pickup order.",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=None,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], url_path="mark-ready")
    def mark_ready(self, request, pk=None):
        validated(NoBodySerializer, request.data)
        result = order_transition(
            order_id=pk,
            target=OrderStatus.READY_FOR_PICKUP,
            actor=self._actor(),
            if_match=request.headers.get("If-Match"),
        )
        return action_response(result, "Order marked ready for pickup", ready_time=result.order.ready_at)

    @extend_schema(
        summary="Cancel an order (restaurant)",
        description="Until a courier picks it up; a reason is required. A paid online order is refunded automatically.",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=ReasonRequiredSerializer,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = validated(ReasonRequiredSerializer, request.data)
        result = order_cancel(
            order_id=pk, actor=self._actor(), reason=data["reason"], if_match=request.headers.get("If-Match")
        )
        return action_response(result, "Order cancelled successfully", refund_status=result.order.refund_status)

    @extend_schema(
        summary="Hand a self-pickup order to its customer",
        description="With the code the customer shows.",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=OtpEntrySerializer,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS, 410, 423)},
    )
    @action(detail=True, methods=["post"])
    def handover(self, request, pk=None):
        data = validated(OtpEntrySerializer, request.data)
        result = order_transition(
            order_id=pk,
            target=OrderStatus.DELIVERED,
            actor=self._actor(),
            otp=data["otp"],
            if_match=request.headers.get("If-Match"),
        )
        return action_response(
            result,
            "Order handed over",
            actual_delivery_time=result.order.delivered_at,
            payment_status=result.order.payment_status,
        )
