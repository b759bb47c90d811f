from rest_framework import serializers

from core.geo import haversine_km
from core.inputs import InputSerializer
from orders.models import HandoffPurpose, OrderStatus
from orders.serializers import (
    Coordinate,
    CourierPositionSerializer,
    DeliveryAddressSerializer,
    OrderSummarySerializer,
    OtpEntrySerializer,
    PositionSerializer,
)


class AvailableOrderSerializer(OrderSummarySerializer):
    """An order a courier may claim: where to collect it, where it goes, how far."""

    restaurant_address = serializers.CharField(source="restaurant.address")
    restaurant_latitude = serializers.DecimalField(source="restaurant.latitude", max_digits=9, decimal_places=6)
    restaurant_longitude = serializers.DecimalField(source="restaurant.longitude", max_digits=9, decimal_places=6)
    delivery_address = DeliveryAddressSerializer(source="*")
    tip = serializers.DecimalField(max_digits=12, decimal_places=2)
    estimated_ready_time = serializers.DateTimeField(source="estimated_ready_at", allow_null=True)
    distance_to_restaurant_km = serializers.SerializerMethodField(
        help_text="From the courier's last position; null while it is unknown."
    )
    delivery_distance_km = serializers.SerializerMethodField(help_text="From the restaurant to the customer.")

    class Meta(OrderSummarySerializer.Meta):
        fields = [
            *OrderSummarySerializer.Meta.fields,
            "restaurant_address",
            "restaurant_latitude",
            "restaurant_longitude",
            "delivery_address",
            "tip",
            "estimated_ready_time",
            "distance_to_restaurant_km",
            "delivery_distance_km",
        ]
        read_only_fields = fields

    def get_distance_to_restaurant_km(self, order) -> float | None:
        position = self.context.get("courier_position")
        if position is None:
            return None
        latitude, longitude = position
        return round(haversine_km(latitude, longitude, order.restaurant.latitude, order.restaurant.longitude), 2)

    def get_delivery_distance_km(self, order) -> float | None:
        if order.delivery_latitude is None or order.delivery_longitude is None:
            return None
        restaurant = order.restaurant
        distance = haversine_km(
            restaurant.latitude, restaurant.longitude, order.delivery_latitude, order.delivery_longitude
        )
        return round(distance, 2)


class LocationSerializer(InputSerializer):
    latitude = Coordinate(90)
    longitude = Coordinate(180)


class LocationResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    recorded_at = serializers.DateTimeField()
    order_id = serializers.UUIDField(allow_null=True, help_text="The delivery this position was recorded for.")


class AvailabilitySerializer(InputSerializer):
    online = serializers.BooleanField()


class AvailabilityResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    online = serializers.BooleanField()


# ---------------------------------------------------------------- handoff codes and ETA


class EtaSerializer(serializers.Serializer):
    order_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    estimated_delivery_time = serializers.DateTimeField(allow_null=True)
    current_eta_minutes = serializers.IntegerField(allow_null=True)
    basis = serializers.ChoiceField(
        choices=["courier_position", "preparation", "arrived", "none"],
        help_text="What the estimate rests on.",
    )
    delivery_person_location = CourierPositionSerializer(allow_null=True)
    customer_location = PositionSerializer(allow_null=True)
    restaurant_location = PositionSerializer()


class CompleteDeliverySerializer(OtpEntrySerializer):
    delivery_notes = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class OtpTypeQuerySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=HandoffPurpose.choices, required=False)


class OtpTypeSerializer(InputSerializer):
    type = serializers.ChoiceField(choices=HandoffPurpose.choices, required=False)


class OtpVerifySerializer(OtpEntrySerializer):
    type = serializers.ChoiceField(choices=HandoffPurpose.choices, required=False)


class OtpSerializer(serializers.Serializer):
    otp = serializers.CharField()
    type = serializers.ChoiceField(choices=HandoffPurpose.choices)
    expires_at = serializers.DateTimeField()
    order_id = serializers.UUIDField()
    attempts_left = serializers.IntegerField()


class OtpVerifiedSerializer(serializers.Serializer):
    """The order-process document's `{success, verified, message}`, then which code and what is left of it."""

    success = serializers.BooleanField()
    verified = serializers.BooleanField()
    message = serializers.CharField()
    order_id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=HandoffPurpose.choices)
    attempts_left = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class OtpResendResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    order_id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=HandoffPurpose.choices)
    expires_at = serializers.DateTimeField()
    message = serializers.CharField()
