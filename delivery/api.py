"""Courier state: position reports (rate-limited), going online or offline, and answering offers."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from delivery.serializers import (
    AvailabilityResponseSerializer,
    AvailabilitySerializer,
    LocationResponseSerializer,
    LocationSerializer,
)
from delivery.models import CourierOffer
from delivery.selectors import courier_offers_open
from delivery.services import (
    courier_offer_accept,
    courier_offer_decline,
    courier_record_location,
    courier_set_availability,
)
from orders.actors import Actor
from orders.api import validated
from orders.idempotency import IdempotentPostMixin
from orders.permissions import IsCourier
from orders.query_params import query_params_check
from orders.schema import ACTION_PROBLEMS, IDEMPOTENCY_KEY, problems

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
        ]
        read_only_fields = fields


class OfferAcceptedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    offer_id = serializers.IntegerField()
    order_id = serializers.UUIDField()
    order_number = serializers.CharField()
    status = serializers.CharField()
    delivery_status = serializers.CharField()
    delivery_person = serializers.IntegerField()


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
            "delivery_person": order.courier_id,
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
