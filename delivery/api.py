"""Courier state: position reports (rate-limited) and going online or offline."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
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
from delivery.services import courier_record_location, courier_set_availability
from orders.api import validated
from orders.idempotency import IdempotentPostMixin
from orders.permissions import IsCourier
from orders.schema import IDEMPOTENCY_KEY, problems


class CourierLocationThrottle(UserRateThrottle):
    """Per courier, counted in the cache (Redis when REDIS_URL is set, shared by every worker)."""

    scope = "courier_location"

    def get_rate(self):
        return settings.ORDERFLOW_COURIER_LOCATION_RATE


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
