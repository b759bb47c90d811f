"""Shapes of reading the order API: outputs in the order-process API's vocabulary
(`order_number`, `order_status`, `total_amount`, `order_placed_at`, ...) with the customer tracking API's
money and address fields, and the pieces the other shapes share. Placing an order is
`orders.placing_serializers`; the actions on an order are `orders.action_serializers`."""

from typing import Any, cast

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.actors import ActorRole
from core.public_ids import user_public_id
from orders.lifecycle import STATUS_ALIASES, next_statuses_for
from orders.models import (
    DeliveryStatus,
    DeliveryType,
    EventType,
    Order,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
)
from orders.selectors import DETAIL_INCLUDES, courier_position
from orders.services.placing import DEFAULT_ADDRESS_TITLE
from orders.tracking_links import tracking_link_path
from orders.visibility import TRACKING_LINK_OWNER_ROLES, actor_sees_customer, user_sees_customer_in_list

# ---------------------------------------------------------------- shared pieces


class Coordinate(serializers.DecimalField):
    """Latitude or longitude: any precision in, six decimals kept by the services."""

    def __init__(self, limit: int, **kwargs: Any) -> None:
        super().__init__(max_digits=None, decimal_places=None, min_value=-limit, max_value=limit, **kwargs)


# What the sub-status fields write (their schema enums, config/settings/base.py).
PAYMENT_STATUS_WORDS = [(value.lower(), label) for value, label in PaymentStatus.choices]
DELIVERY_STATUS_WORDS = [(value.lower(), label) for value, label in DeliveryStatus.choices]
REFUND_STATUS_WORDS = [(value.lower(), label) for value, label in RefundStatus.choices]
# A status as a client may write it: the lifecycle's own words and the order-process API's aliases.
STATUS_WORDS = [*OrderStatus.values, *STATUS_ALIASES]


def wire_sub_status(value: str | None) -> str | None:
    """A sub-status (payment, delivery, refund) as the order-process document writes it: lower case."""
    return value.lower() if isinstance(value, str) else value


class SubStatusField(serializers.ChoiceField):
    """`payment_status`, `delivery_status`, `refund_status` on the wire: the order-process API's lower case
    (`"pending"`, `"assigned"`); the model keeps its upper-case values."""

    def to_representation(self, value: Any) -> Any:
        return wire_sub_status(super().to_representation(value))


class PositionSerializer(serializers.Serializer[Any]):
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6)


class CourierPositionSerializer(PositionSerializer):
    updated_at = serializers.DateTimeField(allow_null=True)


# ---------------------------------------------------------------- reading orders


class OrderSummarySerializer(serializers.ModelSerializer[Any]):
    """The customer tracking API's OrderSummary in the order-process API's words: what a list row shows."""

    order_number = serializers.CharField(source="number")
    order_status = serializers.ChoiceField(source="status", choices=OrderStatus.choices)
    order_status_name = serializers.CharField(source="get_status_display")
    payment_status = SubStatusField(PAYMENT_STATUS_WORDS)
    delivery_status = SubStatusField(DELIVERY_STATUS_WORDS)
    restaurant = serializers.UUIDField(source="restaurant_id")
    restaurant_name = serializers.CharField(source="restaurant.name")
    customer = serializers.IntegerField(
        source="customer_id", allow_null=True, help_text="Null for a courier once the delivery has ended for them."
    )
    total_amount = serializers.DecimalField(source="total", max_digits=12, decimal_places=2)
    item_count = serializers.IntegerField(source="items_quantity")
    order_placed_at = serializers.DateTimeField(source="placed_at")
    last_update = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Order
        fields = [
            "id",
            "order_number",
            "order_status",
            "order_status_name",
            "payment_status",
            "payment_method",
            "delivery_type",
            "delivery_status",
            "restaurant",
            "restaurant_name",
            "customer",
            "total_amount",
            "currency",
            "item_count",
            "order_placed_at",
            "last_update",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        user = getattr(self.context.get("request"), "user", None)
        user_id = getattr(user, "pk", None)
        if not user_sees_customer_in_list(user_id=user_id, order=instance):
            data["customer"] = None
        return data


class CustomizationSerializer(serializers.Serializer[Any]):
    group_name = serializers.CharField()
    choice_name = serializers.CharField()
    price_adjustment = serializers.DecimalField(max_digits=12, decimal_places=2)


class OrderItemSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    menu_item = serializers.UUIDField(source="menu_item_id", allow_null=True)
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    notes = serializers.CharField()
    customizations = CustomizationSerializer(many=True)


class DeliveryAddressSerializer(serializers.Serializer[Any]):
    """The order-process document's `{id, title, address_line_1}` (the customer's saved address),
    then the lines the order keeps of it."""

    id = serializers.IntegerField(source="delivery_address_id", allow_null=True)
    title = serializers.SerializerMethodField()
    address_line_1 = serializers.CharField(source="delivery_street")
    street = serializers.CharField(source="delivery_street")
    city = serializers.CharField(source="delivery_city")
    state = serializers.CharField(source="delivery_state")
    postal_code = serializers.CharField(source="delivery_postal_code")
    country = serializers.CharField(source="delivery_country")
    latitude = serializers.DecimalField(source="delivery_latitude", max_digits=9, decimal_places=6, allow_null=True)
    longitude = serializers.DecimalField(source="delivery_longitude", max_digits=9, decimal_places=6, allow_null=True)

    def get_title(self, order: Order) -> str:
        return order.delivery_title or DEFAULT_ADDRESS_TITLE


class RefundSerializer(serializers.Serializer[Any]):
    status = serializers.SerializerMethodField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)

    def get_status(self, refund: Any) -> str:
        return cast(str, wire_sub_status(refund.status))  # a refund always has a status


class PaymentSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    provider = serializers.CharField()
    status = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()


_EVENT_DESCRIPTIONS = {
    EventType.PLACED: "Order placed",
    EventType.PAYMENT_SUCCEEDED: "Payment received",
    EventType.PAYMENT_FAILED: "Payment failed",
    EventType.ASSIGNED: "Courier assigned",
    EventType.READY_FOR_PICKUP: "Order ready for pickup",
    EventType.PICKED_UP: "Order picked up",
    EventType.OUT_FOR_DELIVERY: "Out for delivery",
    EventType.DELIVERED: "Order delivered",
    EventType.CANCELLED: "Order cancelled",
    EventType.RELEASED: "Sent to the kitchen",
    EventType.ETA_UPDATED: "New ready time",
    EventType.REFUND_UPDATED: "Refund updated",
}


class HistoryEntrySerializer(serializers.Serializer[Any]):
    """One tracking event as the order-process API's history shows it."""

    id = serializers.UUIDField()
    sequence = serializers.IntegerField()
    event_type = serializers.CharField()
    status = serializers.CharField(source="to_status")
    status_name = serializers.SerializerMethodField()
    previous_status = serializers.CharField(source="from_status", allow_null=True)
    description = serializers.SerializerMethodField()
    reason = serializers.CharField()
    metadata = serializers.DictField()
    created_at = serializers.DateTimeField()
    updated_by = serializers.CharField(source="actor_name")
    actor_role = serializers.CharField()

    def get_status_name(self, event: Any) -> str:
        return OrderStatus(event.to_status).label if event.to_status in OrderStatus.values else event.to_status

    def get_description(self, event: Any) -> str:
        if event.event_type == EventType.STATUS_CHANGED:
            base = self.get_status_name(event)
        else:
            base = _EVENT_DESCRIPTIONS.get(event.event_type, event.event_type)
        return f"{base} by {event.actor_name}" + (f": {event.reason}" if event.reason else "")

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        data["previous_status"] = data["previous_status"] or None
        return data


class OrderDetailSerializer(OrderSummarySerializer):
    """Everything about one order. `history` and `payments` only when asked for (`?include=`)."""

    order_status_code = serializers.CharField(source="status")
    cancelled_by = serializers.ChoiceField(choices=ActorRole.choices, allow_blank=True, read_only=True)
    user = serializers.SerializerMethodField()
    user_name = serializers.SerializerMethodField()
    vendor = serializers.UUIDField(source="restaurant_id")
    vendor_name = serializers.CharField(source="restaurant.name")
    customer_name = serializers.SerializerMethodField()
    delivery_person = serializers.SerializerMethodField()
    delivery_person_name = serializers.SerializerMethodField()
    delivery_person_location = serializers.SerializerMethodField()
    delivery_address = serializers.SerializerMethodField()
    tax_amount = serializers.DecimalField(source="tax", max_digits=12, decimal_places=2)
    refund_status = SubStatusField(REFUND_STATUS_WORDS)
    refund = serializers.SerializerMethodField()
    estimated_ready_time = serializers.DateTimeField(source="estimated_ready_at", allow_null=True)
    estimated_delivery_time = serializers.DateTimeField(source="estimated_delivery_at", allow_null=True)
    actual_delivery_time = serializers.DateTimeField(source="delivered_at", allow_null=True)
    customer_latitude = serializers.DecimalField(
        source="delivery_latitude", max_digits=9, decimal_places=6, allow_null=True
    )
    customer_longitude = serializers.DecimalField(
        source="delivery_longitude", max_digits=9, decimal_places=6, allow_null=True
    )
    restaurant_latitude = serializers.DecimalField(source="restaurant.latitude", max_digits=9, decimal_places=6)
    restaurant_longitude = serializers.DecimalField(source="restaurant.longitude", max_digits=9, decimal_places=6)
    restaurant_address = serializers.CharField(source="restaurant.address")
    next_statuses = serializers.SerializerMethodField()
    tracking_url = serializers.SerializerMethodField()
    items = OrderItemSerializer(many=True)
    history = HistoryEntrySerializer(source="events", many=True, required=False)
    payments = PaymentSerializer(many=True, required=False)

    class Meta(OrderSummarySerializer.Meta):
        fields = [
            *OrderSummarySerializer.Meta.fields,
            "order_status_code",
            "user",
            "user_name",
            "vendor",
            "vendor_name",
            "customer_name",
            "delivery_person",
            "delivery_person_name",
            "delivery_person_location",
            "delivery_address",
            "subtotal",
            "discount",
            "delivery_fee",
            "tip",
            "tax_amount",
            "paid_at",
            "refund_status",
            "refund",
            "notes",
            "confirmed_at",
            "preparing_at",
            "ready_at",
            "picked_up_at",
            "out_for_delivery_at",
            "cancelled_at",
            "cancelled_by",
            "cancellation_reason",
            "estimated_prep_minutes",
            "estimated_ready_time",
            "estimated_delivery_time",
            "actual_delivery_time",
            "fulfill_at",
            "customer_latitude",
            "customer_longitude",
            "restaurant_latitude",
            "restaurant_longitude",
            "restaurant_address",
            "sequence",
            "next_statuses",
            "tracking_url",
            "items",
            "history",
            "payments",
        ]
        read_only_fields = fields

    def get_fields(self) -> Any:
        fields = super().get_fields()
        if "include" in self.context:  # absent only when the schema is generated
            for optional in DETAIL_INCLUDES:
                if optional not in self.context["include"]:
                    fields.pop(optional)
        return fields

    @extend_schema_field(serializers.UUIDField())
    def get_user(self, order: Order) -> Any:
        return user_public_id(order.customer_id)

    def get_user_name(self, order: Order) -> str:
        return self.get_customer_name(order)

    def get_customer_name(self, order: Order) -> str:
        return order.customer.get_full_name() or order.customer.get_username()

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_delivery_person(self, order: Order) -> Any:
        return user_public_id(order.courier_id)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_tracking_url(self, order: Order) -> str | None:
        """The public tracking link, for the customer (and admins) to share; null once revoked."""
        if self.context.get("role") not in TRACKING_LINK_OWNER_ROLES:
            return None
        path = tracking_link_path(order.tracking_token)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if (path and request is not None) else path

    def get_delivery_person_name(self, order: Order) -> str | None:
        if order.courier is None:
            return None
        return order.courier.get_full_name() or order.courier.get_username()

    @extend_schema_field(CourierPositionSerializer(allow_null=True))
    def get_delivery_person_location(self, order: Order) -> Any:
        position = courier_position(order)
        return CourierPositionSerializer(position).data if position else None

    @extend_schema_field(DeliveryAddressSerializer(allow_null=True))
    def get_delivery_address(self, order: Order) -> Any:
        if order.delivery_type != DeliveryType.DELIVERY:
            return None
        return DeliveryAddressSerializer(order).data

    @extend_schema_field(RefundSerializer(allow_null=True))
    def get_refund(self, order: Order) -> Any:
        refund = getattr(order, "refund", None)
        return RefundSerializer(refund).data if refund else None

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=OrderStatus.choices)))
    def get_next_statuses(self, order: Order) -> Any:
        return next_statuses_for(order=order, role=self.context.get("role"))


class DropOffAreaSerializer(serializers.Serializer[Any]):
    city = serializers.CharField()
    latitude = serializers.DecimalField(
        max_digits=7, decimal_places=3, allow_null=True, help_text="Snapped to a grid of about 500 m."
    )
    longitude = serializers.DecimalField(max_digits=7, decimal_places=3, allow_null=True)


class CourierPaySerializer(serializers.Serializer[Any]):
    delivery_fee = serializers.DecimalField(max_digits=12, decimal_places=2)
    tip = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="What the courier earns.")


class CourierOrderPreviewSerializer(serializers.Serializer[Any]):
    """What a courier sees of an order that is not (or no longer) theirs to deliver: the
    restaurant, the drop-off area, distances and pay (`orders.selectors.order_preview_for_courier`).
    The customer and the exact drop-off appear once the courier has the order."""

    id = serializers.UUIDField()
    order_number = serializers.CharField()
    order_status = serializers.ChoiceField(choices=OrderStatus.choices)
    delivery_status = serializers.CharField()
    delivery_type = serializers.CharField()
    payment_method = serializers.CharField()
    restaurant = serializers.UUIDField()
    restaurant_name = serializers.CharField()
    restaurant_address = serializers.CharField()
    drop_off_area = DropOffAreaSerializer()
    distance_to_restaurant_km = serializers.FloatField(
        allow_null=True, help_text="From the courier's last position; null while it is unknown."
    )
    delivery_distance_km = serializers.FloatField(
        allow_null=True, help_text="From the restaurant to the drop-off area, to 0.1 km."
    )
    currency = serializers.CharField()
    pay = CourierPaySerializer()
    total_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The order's total (collected in cash for `cod`)."
    )
    estimated_ready_time = serializers.DateTimeField(allow_null=True)
    order_placed_at = serializers.DateTimeField()


# What DetailQuerySerializer accepts, for the schema: the known names, comma-separated.
INCLUDE_PATTERN = r"^(?=.{0,100}$) *(?:history|payments)? *(?:, *(?:history|payments)? *)*$"


class DetailQuerySerializer(serializers.Serializer[Any]):
    include = serializers.CharField(required=False, allow_blank=True, max_length=100, trim_whitespace=False)

    def validate_include(self, value: Any) -> Any:
        parts = [part.strip(" ") for part in value.split(",") if part.strip(" ")]
        unknown = [part for part in parts if part not in DETAIL_INCLUDES]
        if unknown:
            raise serializers.ValidationError(f"Unknown: {', '.join(unknown)}. Known: {', '.join(DETAIL_INCLUDES)}.")
        return tuple(parts)


class StatusSnapshotSerializer(serializers.Serializer[Any]):
    """The lean polling answer (schema only: the view writes the dict itself)."""

    order_id = serializers.UUIDField()
    order_number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    payment_status = SubStatusField(PAYMENT_STATUS_WORDS)
    delivery_status = SubStatusField(DELIVERY_STATUS_WORDS)
    last_update = serializers.DateTimeField()
    estimated_delivery_time = serializers.DateTimeField(allow_null=True)
    sequence = serializers.IntegerField()


class HistorySerializer(serializers.Serializer[Any]):
    order_id = serializers.UUIDField(source="id")
    order_number = serializers.CharField(source="number")
    history = HistoryEntrySerializer(source="events", many=True)

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        actor = self.context.get("actor")
        if actor is not None and not actor_sees_customer(actor=actor, order=instance):
            # A courier who does not (or no longer) deliver the order is not told who ordered it.
            for entry, event in zip(data["history"], instance.events.all(), strict=True):
                if event.actor_role == ActorRole.CUSTOMER:
                    entry["description"] = entry["description"].replace(event.actor_name, "the customer")
                    entry.update(updated_by="Customer", reason="", metadata={})
        return data
