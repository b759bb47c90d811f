"""The courier's endpoints: position reports (rate-limited), going online or offline, answering
offers, claiming, picking up and delivering orders; and the handoff codes and ETA of an order."""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from core.actors import Actor, ActorRole
from core.api import validated
from core.idempotency import IdempotentPostMixin
from core.inputs import NoBodySerializer
from core.pagination import PagePagination
from core.public_ids import user_public_id
from core.query_params import PAGE_PARAMS, query_params_check
from core.schema import ACTION_PROBLEMS, IDEMPOTENCY_KEY, IF_MATCH, READ_PROBLEMS, problems
from core.throttling import CodeGuessLimitMixin
from delivery.handoff import otp_resend, otp_reveal, otp_verify
from delivery.models import CourierOffer
from delivery.permissions import IsCourier
from delivery.selectors import (
    courier_last_position,
    courier_offers_open,
    offer_order_preview,
    order_eta,
)
from delivery.serializers import (
    AvailabilityResponseSerializer,
    AvailabilitySerializer,
    AvailableOrderSerializer,
    CompleteDeliverySerializer,
    EtaSerializer,
    LocationResponseSerializer,
    LocationSerializer,
    OtpResendResponseSerializer,
    OtpSerializer,
    OtpTypeQuerySerializer,
    OtpTypeSerializer,
    OtpVerifiedSerializer,
    OtpVerifySerializer,
)
from delivery.services import (
    courier_offer_accept,
    courier_offer_decline,
    courier_record_location,
    courier_set_availability,
    order_assign_courier,
)
from orders.action_serializers import OrderActionResponseSerializer, OtpEntrySerializer
from orders.api import action_response, version_headers
from orders.models import DeliveryType, HandoffPurpose, Order, OrderStatus
from orders.selectors import (
    courier_preview_unless_delivering,
    order_for_eta,
    order_preview_for_courier,
    orders_available_for_courier,
)
from orders.serializers import (
    DELIVERY_STATUS_WORDS,
    CourierOrderPreviewSerializer,
    SubStatusField,
)
from orders.services.transitions import order_transition
from orders.visibility import OrderAccess, order_access

# Most offers GET /api/delivery/offers/ lists; a courier has at most one open offer at a time.
OFFERS_LIMIT = 200

OFFER_ID = OpenApiParameter("offer_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The offer's id.")


class CourierLocationThrottle(UserRateThrottle):
    """Per courier, counted in the cache (Redis when REDIS_URL is set, shared by every worker)."""

    scope = "courier_location"

    def get_rate(self):
        return settings.ORDERFLOW_COURIER_LOCATION_RATE


# Kept next to the views: these answers exist only for the offer endpoints below.
class CourierOfferSerializer(serializers.ModelSerializer):
    """An order offered to the courier (the `offer` message of `ws/courier/` has the same fields)."""

    offer_id = serializers.IntegerField(source="pk", read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    restaurant_name = serializers.CharField(source="order.restaurant.name", read_only=True)
    distance_km = serializers.FloatField(read_only=True)
    order = serializers.SerializerMethodField(help_text="The order as couriers see it before they have it.")

    class Meta:
        model = CourierOffer
        fields = [
            "offer_id",
            "order_id",
            "order_number",
            "restaurant_name",
            "state",
            "distance_km",
            "offered_at",
            "expires_at",
            "order",
        ]
        read_only_fields = fields

    @extend_schema_field(CourierOrderPreviewSerializer)
    def get_order(self, offer) -> dict:
        return CourierOrderPreviewSerializer(offer_order_preview(offer)).data


class OfferAcceptedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    offer_id = serializers.IntegerField()
    order_id = serializers.UUIDField()
    order_number = serializers.CharField()
    status = serializers.CharField()
    delivery_status = SubStatusField(DELIVERY_STATUS_WORDS)
    delivery_person = serializers.UUIDField()


class OfferDeclinedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    offer_id = serializers.IntegerField()
    order_id = serializers.UUIDField()
    state = serializers.CharField()


class DeliveryViewSet(IdempotentPostMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, IsCourier]
    filter_backends = []
    serializer_class = LocationSerializer

    @extend_schema(
        summary="Report your position (couriers)",
        description=(
            "Kept as your latest position (ETA, nearest orders) and added to the track of the delivery "
            f"you are on. Rate-limited ({settings.ORDERFLOW_COURIER_LOCATION_RATE} by default): a 429 "
            "says when to try again (`Retry-After`)."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=LocationSerializer,
        responses={200: LocationResponseSerializer, **problems(400, 401, 403, 422, 429)},
    )
    @action(detail=False, methods=["post"], throttle_classes=[CourierLocationThrottle])
    def location(self, request):
        data = validated(LocationSerializer, request.data)
        sample = courier_record_location(courier=request.user, latitude=data["latitude"], longitude=data["longitude"])
        body = {
            "success": True,
            "latitude": sample.latitude,
            "longitude": sample.longitude,
            "recorded_at": sample.recorded_at,
            "order_id": sample.order_id,
        }
        return Response(LocationResponseSerializer(body).data)

    @extend_schema(
        summary="Go online or offline (couriers)",
        description="Only online couriers may accept orders.",
        parameters=[IDEMPOTENCY_KEY],
        request=AvailabilitySerializer,
        responses={200: AvailabilityResponseSerializer, **problems(400, 401, 403, 422)},
    )
    @action(detail=False, methods=["post"])
    def availability(self, request):
        data = validated(AvailabilitySerializer, request.data)
        profile = courier_set_availability(courier=request.user, online=data["online"])
        return Response(AvailabilityResponseSerializer({"success": True, "online": profile.is_online}).data)

    @extend_schema(
        summary="Your open offers (couriers)",
        description=(
            "Orders offered to you that you may still accept, soonest to expire first. `ws/courier/` "
            "announces each new offer and each that closes."
        ),
        responses={200: CourierOfferSerializer(many=True), **problems(401, 403)},
    )
    @action(detail=False, methods=["get"], url_path="offers")
    def offers(self, request):
        query_params_check(request.query_params, ())
        offers = courier_offers_open(courier=request.user)[:OFFERS_LIMIT]
        return Response(CourierOfferSerializer(offers, many=True).data)

    @extend_schema(
        summary="Accept an offer (couriers)",
        description=(
            "Assigns the order to you, like claiming it. 409 `offer_closed` once the offer expired, was "
            "answered or withdrawn; 404 `offer_not_found` for an offer made to someone else."
        ),
        parameters=[OFFER_ID, IDEMPOTENCY_KEY],
        request=None,
        responses={200: OfferAcceptedSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=False, methods=["post"], url_path=r"offers/(?P<offer_id>[^/.]+)/accept")
    def accept_offer(self, request, offer_id=None):
        order = courier_offer_accept(offer_id=offer_id, actor=Actor.courier(request.user))
        body = {
            "success": True,
            "offer_id": offer_id,
            "order_id": order.pk,
            "order_number": order.number,
            "status": order.status,
            "delivery_status": order.delivery_status,
            "delivery_person": user_public_id(order.courier_id),
        }
        return Response(OfferAcceptedSerializer(body).data)

    @extend_schema(
        summary="Decline an offer (couriers)",
        description="The order is offered to the next nearest courier at once.",
        parameters=[OFFER_ID, IDEMPOTENCY_KEY],
        request=None,
        responses={200: OfferDeclinedSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=False, methods=["post"], url_path=r"offers/(?P<offer_id>[^/.]+)/decline")
    def decline_offer(self, request, offer_id=None):
        offer = courier_offer_decline(offer_id=offer_id, actor=Actor.courier(request.user))
        body = {"success": True, "offer_id": offer.pk, "order_id": offer.order_id, "state": offer.state}
        return Response(OfferDeclinedSerializer(body).data)


ORDER_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The order's id.")


def default_purpose(access: OrderAccess) -> HandoffPurpose:
    """The code the order is waiting for, or else the one this viewer reads."""
    if access.status == OrderStatus.OUT_FOR_DELIVERY:
        return HandoffPurpose.DELIVERY
    if access.status == OrderStatus.READY_FOR_PICKUP or access.delivery_type == DeliveryType.PICKUP:
        return HandoffPurpose.PICKUP
    if access.actor.role in (ActorRole.RESTAURANT, ActorRole.ADMIN):
        return HandoffPurpose.PICKUP
    return HandoffPurpose.DELIVERY


class CourierOrderViewSet(CodeGuessLimitMixin, IdempotentPostMixin, viewsets.GenericViewSet):
    """The courier's side of an order and its handoff codes, under `/api/orders/`.

    Mounted on the same prefix as `orders.api.OrderViewSet` (and before it, so that
    `orders/available/` is not read as an order id): clients see one resource.
    """

    permission_classes = [IsAuthenticated]
    filter_backends = []
    pagination_class = PagePagination
    lookup_value_regex = "[^/]+"
    queryset = Order.objects.none()
    code_actions = frozenset({"otp_verify", "pickup", "complete_delivery"})

    def initial(self, request, *args, **kwargs):
        self.asked_at = timezone.now()  # before anything reads the database: see order_assign_courier
        super().initial(request, *args, **kwargs)

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
        purpose = validated(OtpTypeQuerySerializer, request.query_params).get("type")
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
        summary="Check a handoff code",
        description=(
            "Answers whether the code is the one the order waits for (`verified`), without making the "
            "handoff: the courier then picks up or completes the delivery with the same code (restaurant "
            "staff hand a self-pickup order over with the generic status change). Only whoever types the "
            "code in may check it; a wrong code uses up one of its attempts, as at the handoff."
        ),
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=OtpVerifySerializer,
        responses={200: OtpVerifiedSerializer, **problems(*ACTION_PROBLEMS, 410, 423)},
    )
    @action(detail=True, methods=["post"], url_path="otp/verify")
    def otp_verify(self, request, pk=None):
        data = validated(OtpVerifySerializer, request.data)
        access = order_access(user=request.user, order_id=pk)
        check = otp_verify(
            order_id=access.order_id,
            purpose=data.get("type") or default_purpose(access),
            otp=data["otp"],
            actor=access.actor,
            if_match=request.headers.get("If-Match"),
        )
        if not check.verified:
            self.record_wrong_code()
        body = {
            "success": True,
            "verified": check.verified,
            "message": "OTP verified successfully" if check.verified else "The code is not correct",
            "order_id": access.order_id,
            "type": check.purpose,
            "attempts_left": check.attempts_left,
            "expires_at": check.expires_at,
        }
        return Response(OtpVerifiedSerializer(body).data)

    @extend_schema(
        summary="Send a handoff code again",
        description="Replaces the code (the old one stops working) and sends it to whoever reads it.",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=OtpTypeSerializer,
        responses={200: OtpResendResponseSerializer, **problems(*ACTION_PROBLEMS, 429)},
    )
    @action(detail=True, methods=["post"], url_path="otp/resend")
    def otp_resend(self, request, pk=None):
        purpose = validated(OtpTypeSerializer, request.data).get("type")
        access = order_access(user=request.user, order_id=pk)
        purpose = purpose or default_purpose(access)
        handoff = otp_resend(
            order_id=access.order_id, purpose=purpose, actor=access.actor, if_match=request.headers.get("If-Match")
        )
        body = {
            "success": True,
            "order_id": access.order_id,
            "type": purpose,
            "expires_at": handoff.expires_at,
            "message": "A new code has been sent",
        }
        return Response(OtpResendResponseSerializer(body).data)

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
        customer_position = eta.customer_position
        if courier_preview_unless_delivering(actor=access.actor, order=order) is not None:
            customer_position = None  # the drop-off is the delivering courier's to know
        body = {
            "order_id": order.pk,
            "status": order.status,
            "estimated_delivery_time": eta.estimated_delivery_at,
            "current_eta_minutes": eta.minutes,
            "basis": eta.basis,
            "delivery_person_location": eta.courier_position,
            "customer_location": customer_position,
            "restaurant_location": eta.restaurant_position,
        }
        return Response(EtaSerializer(body).data)

    @extend_schema(
        summary="Orders you could deliver (couriers)",
        description=(
            "Confirmed or ready delivery orders with no courier whose restaurant is within the dispatch "
            "radius of your last position, nearest first: the restaurant, the drop-off area (about 500 m), "
            "distances and pay. The customer and the exact drop-off are shown once you have the order. "
            "Empty while you are offline or your position is unknown. Pages by number only."
        ),
        responses={200: AvailableOrderSerializer(many=True), **problems(400, 401, 403)},
    )
    @action(
        detail=False,
        methods=["get"],
        permission_classes=[IsAuthenticated, IsCourier],
    )
    def available(self, request):
        query_params_check(request.query_params, PAGE_PARAMS)
        position = courier_last_position(courier=request.user)
        page = self.paginate_queryset(orders_available_for_courier(position=position, courier=request.user))
        previews = [order_preview_for_courier(order=order, position=position) for order in page or []]
        return self.get_paginated_response(AvailableOrderSerializer(previews, many=True).data)

    @extend_schema(
        summary="Claim an order (couriers)",
        description=(
            "Two couriers racing for one order get one 200 and one 409 `already_assigned`. Only within the claim "
            "radius of your last position (409 `courier_too_far`, `courier_position_unknown`) and up to "
            "`ORDERFLOW_COURIER_MAX_ACTIVE_ORDERS` orders at once (409 `courier_at_capacity`)."
        ),
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=None,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, IsCourier])
    def accept(self, request, pk=None):
        validated(NoBodySerializer, request.data)
        order = order_assign_courier(
            order_id=pk,
            courier=request.user,
            actor=Actor.courier(request.user),
            asked_at=self.asked_at,
            if_match=request.headers.get("If-Match"),
        )
        body = {
            "success": True,
            "order_id": order.pk,
            "order_number": order.number,
            "status": order.status,
            "previous_status": order.status,
            "message": "Order accepted",
            "delivery_status": order.delivery_status,
            "delivery_person": user_public_id(order.courier_id),
            "estimated_ready_time": order.estimated_ready_at,
        }
        return Response(OrderActionResponseSerializer(body).data, headers=version_headers(order))

    @extend_schema(
        summary="Pick up at the restaurant (couriers)",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=OtpEntrySerializer,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS, 410, 423)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, IsCourier])
    def pickup(self, request, pk=None):
        data = validated(OtpEntrySerializer, request.data)
        result = order_transition(
            order_id=pk,
            target=OrderStatus.ORDER_PICKED_UP,
            actor=Actor.courier(request.user),
            otp=data["otp"],
            if_match=request.headers.get("If-Match"),
        )
        return action_response(result, "Order picked up successfully")

    @extend_schema(
        summary="Start the delivery (couriers)",
        description="Sends the delivery code to the customer.",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=None,
        responses={200: OrderActionResponseSerializer, **problems(*ACTION_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], url_path="start-delivery", permission_classes=[IsAuthenticated, IsCourier])
    def start_delivery(self, request, pk=None):
        validated(NoBodySerializer, request.data)
        result = order_transition(
            order_id=pk,
            target=OrderStatus.OUT_FOR_DELIVERY,
            actor=Actor.courier(request.user),
            if_match=request.headers.get("If-Match"),
        )
        return action_response(result, "Delivery started", estimated_delivery_time=result.order.estimated_delivery_at)

    @extend_schema(
        summary="Complete the delivery (couriers)",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
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
            if_match=request.headers.get("If-Match"),
        )
        return action_response(
            result,
            "Order delivered successfully",
            actual_delivery_time=result.order.delivered_at,
            payment_status=result.order.payment_status,
        )
