from rest_framework import serializers

from core.actors import ActorRole
from orders.lifecycle import next_statuses_for
from orders.serializers import OrderItemSerializer, OrderSummarySerializer
from restaurants.models import CustomizationChoice, CustomizationGroup, MenuItem, Restaurant


class RestaurantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Restaurant
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
        ]
        read_only_fields = fields


class CustomizationChoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomizationChoice
        fields = ["id", "name", "price_adjustment"]
        read_only_fields = fields


class CustomizationGroupSerializer(serializers.ModelSerializer):
    choices = CustomizationChoiceSerializer(many=True)

    class Meta:
        model = CustomizationGroup
        fields = ["id", "name", "min_choices", "max_choices", "choices"]
        read_only_fields = fields


class MenuItemSerializer(serializers.ModelSerializer):
    customization_groups = CustomizationGroupSerializer(many=True)

    class Meta:
        model = MenuItem
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

    class Meta(OrderSummarySerializer.Meta):
        fields = [
            *OrderSummarySerializer.Meta.fields,
            "notes",
            "estimated_ready_time",
            "deadline_at",
            "deadline_kind",
            "items",
            "next_statuses",
        ]
        read_only_fields = fields

    def get_next_statuses(self, order) -> list[str]:
        return [*next_statuses_for(order=order, role=ActorRole.RESTAURANT)]


class QueueSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    orders = QueueOrderSerializer(many=True)


class QueueQuerySerializer(serializers.Serializer):
    restaurant = serializers.UUIDField(required=False, help_text="One of your restaurants, when you staff several.")


class RestaurantSearchSerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=100)
