from rest_framework import serializers

from core.inputs import InputSerializer
from orders.action_serializers import OtpEntrySerializer
from orders.models import HandoffPurpose, OrderStatus
from orders.serializers import (
    Coordinate,
    CourierOrderPreviewSerializer,
    CourierPositionSerializer,
    PositionSerializer,
)


class AvailableOrderSerializer(CourierOrderPreviewSerializer):
    """An order a courier may claim, as couriers see it before they have it."""


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
