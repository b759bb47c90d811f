from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.actors import ActorRole
from orders.lifecycle import next_statuses_for, order_awaits_release
from orders.serializers import OrderItemSerializer, OrderSummarySerializer
from restaurants import models
from restaurants.hours import kitchen_status_payload


class KitchenStatusSerializer(serializers.Serializer):
    """The kitchen's intake now: `closed` follows from the hours; `reopens_at` when paused or closed."""

    restaurant_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["open", "closed", "paused", "busy"])
    busy_minutes = serializers.IntegerField()
    until = serializers.DateTimeField(allow_null=True)
    reopens_at = serializers.DateTimeField(allow_null=True)
    time_zone = serializers.CharField()


class KitchenStatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=models.KitchenStatus.choices)
    until = serializers.DateTimeField(required=False, allow_null=True, help_text="When a pause or busy spell ends.")
    busy_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=240)


@extend_schema_field({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", "example": "09:00"})
class WallClockTimeField(serializers.TimeField):
    """A time on the restaurant's own clock (its `time_zone`), `HH:MM` or `HH:MM:SS`: no offset,
    which OpenAPI's `time` format would require."""


class OpeningHoursSerializer(serializers.ModelSerializer):
    opens = WallClockTimeField()
    closes = WallClockTimeField()

    class Meta:
        model = models.OpeningHours
        fields = ["weekday", "opens", "closes"]


class OpeningExceptionSerializer(serializers.ModelSerializer):
    opens = WallClockTimeField(required=False, allow_null=True)
    closes = WallClockTimeField(required=False, allow_null=True)

    class Meta:
        model = models.OpeningException
        fields = ["date", "opens", "closes", "note"]


class HoursSerializer(serializers.Serializer):
    """Weekly hours (weekday 0 is Monday; `closes` at or before `opens` runs past midnight) in
    `time_zone`, and dated exceptions (no times: closed all day)."""

    time_zone = serializers.CharField(max_length=64)
    weekly = OpeningHoursSerializer(many=True)
    exceptions = OpeningExceptionSerializer(many=True)


class RestaurantSerializer(serializers.ModelSerializer):
    kitchen = serializers.SerializerMethodField()

    @extend_schema_field(KitchenStatusSerializer)
    def get_kitchen(self, restaurant: models.Restaurant) -> dict:
        return kitchen_status_payload(restaurant, at=timezone.now())

    class Meta:
        model = models.Restaurant
        fields = [
            "id",
            "name",
            "address",
            "latitude",
            "longitude",
            "currency",
            "is_open",
            "delivery_fee",
            "tax_rate",
            "average_prep_minutes",
            "kitchen",
        ]
        read_only_fields = fields


class CustomizationChoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = models.CustomizationChoice
        fields = ["id", "name", "price_adjustment"]
        read_only_fields = fields


class CustomizationGroupSerializer(serializers.ModelSerializer):
    choices = CustomizationChoiceSerializer(many=True)

    class Meta:
        model = models.CustomizationGroup
        fields = ["id", "name", "min_choices", "max_choices", "choices"]
        read_only_fields = fields


class MenuItemSerializer(serializers.ModelSerializer):
    customization_groups = CustomizationGroupSerializer(many=True)

    class Meta:
        model = models.MenuItem
        fields = ["id", "name", "description", "price", "customization_groups"]
        read_only_fields = fields


class MenuSerializer(RestaurantSerializer):
    """A restaurant's menu: pass the chosen choice ids as an order line's `customizations`."""

    items = MenuItemSerializer(source="menu_items", many=True)

    class Meta(RestaurantSerializer.Meta):
        fields = [*RestaurantSerializer.Meta.fields, "items"]
        read_only_fields = fields


class QueueOrderSerializer(OrderSummarySerializer):
    """An order in the kitchen's queue, with what to cook and what can be done next."""

    notes = serializers.CharField()
    estimated_ready_time = serializers.DateTimeField(source="estimated_ready_at", allow_null=True)
    deadline_at = serializers.DateTimeField(allow_null=True)
    deadline_kind = serializers.CharField()
    items = OrderItemSerializer(many=True)
    next_statuses = serializers.SerializerMethodField()
    scheduled = serializers.SerializerMethodField(help_text="An order for later not released to the kitchen yet.")
    fulfill_at = serializers.DateTimeField(allow_null=True, help_text="An order for later: the time promised.")
    release_at = serializers.DateTimeField(allow_null=True, help_text="When an order for later reaches the kitchen.")
    slot_at = serializers.DateTimeField(allow_null=True, help_text="The 15-minute kitchen slot it is quoted in.")

    class Meta(OrderSummarySerializer.Meta):
        fields = [
            *OrderSummarySerializer.Meta.fields,
            "notes",
            "estimated_ready_time",
            "deadline_at",
            "deadline_kind",
            "scheduled",
            "fulfill_at",
            "release_at",
            "slot_at",
            "items",
            "next_statuses",
        ]
        read_only_fields = fields

    def get_next_statuses(self, order) -> list[str]:
        return [*next_statuses_for(order=order, role=ActorRole.RESTAURANT)]

    def get_scheduled(self, order) -> bool:
        return order_awaits_release(order)


class QueueSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    orders = QueueOrderSerializer(many=True)


class QueueQuerySerializer(serializers.Serializer):
    restaurant = serializers.UUIDField(required=False, help_text="One of your restaurants, when you staff several.")


class RestaurantSearchSerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=100)
