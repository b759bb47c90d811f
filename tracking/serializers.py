"""The shapes of what a public tracking link answers (tracking.public builds them), for the
OpenAPI schema."""

from rest_framework import serializers

from orders.models import DeliveryType, OrderStatus, RefundStatus


class PublicStatusSerializer(serializers.Serializer):
    order_number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    status_name = serializers.CharField()
    refund_status = serializers.ChoiceField(choices=RefundStatus.choices)
    final = serializers.BooleanField(help_text="No more changes are expected: stop polling.")
    estimated_delivery_time = serializers.DateTimeField(allow_null=True)
    last_update = serializers.DateTimeField()
    sequence = serializers.IntegerField(help_text="The sequence of the order's last event.")


class PublicRestaurantSerializer(serializers.Serializer):
    name = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()


class PublicCourierSerializer(serializers.Serializer):
    first_name = serializers.CharField()


class PublicLocationSerializer(serializers.Serializer):
    event_type = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    recorded_at = serializers.DateTimeField(allow_null=True)
    estimated_delivery_time = serializers.DateTimeField(allow_null=True)


class PublicViewSerializer(PublicStatusSerializer):
    delivery_type = serializers.ChoiceField(choices=DeliveryType.choices)
    restaurant = PublicRestaurantSerializer()
    courier = PublicCourierSerializer(allow_null=True)
    courier_location = PublicLocationSerializer(
        allow_null=True, help_text="Only while the order is on the road (picked up, out for delivery)."
    )


class PublicEventSerializer(serializers.Serializer):
    event_type = serializers.CharField()
    sequence = serializers.IntegerField()
    order_number = serializers.CharField()
    previous_status = serializers.CharField(allow_null=True)
    new_status = serializers.CharField()
    status_name = serializers.CharField()
    refund_status = serializers.ChoiceField(choices=RefundStatus.choices)
    timestamp = serializers.DateTimeField()
    estimated_delivery_time = serializers.DateTimeField(allow_null=True)
    actual_delivery_time = serializers.DateTimeField(allow_null=True)
    courier = PublicCourierSerializer(allow_null=True)


class PublicEventsSerializer(serializers.Serializer):
    events = PublicEventSerializer(many=True)
