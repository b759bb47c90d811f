"""Shapes of placing an order: the checkout request (`POST /api/v1/orders/`) as
`orders.services.placing.order_place` takes it."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from rest_framework import serializers

from core.inputs import InputSerializer
from orders.models import DeliveryType, PaymentMethod
from orders.serializers import Coordinate
from orders.services.placing import DEFAULT_ADDRESS_TITLE, MAX_TIP, DeliveryAddress, OrderLine


class DeliveryAddressInputSerializer(InputSerializer):
    title = serializers.CharField(
        max_length=100, required=False, default=DEFAULT_ADDRESS_TITLE, help_text='The name it is saved under: "Home".'
    )
    street = serializers.CharField(max_length=300)
    city = serializers.CharField(max_length=100)
    state = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    latitude = Coordinate(90)
    longitude = Coordinate(180)


class OrderLineInputSerializer(InputSerializer):
    menu_item = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=settings.ORDERFLOW_MAX_ITEM_QUANTITY)
    customizations = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1), required=False, default=list, max_length=50
    )
    notes = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class OrderPlaceSerializer(InputSerializer):
    restaurant = serializers.UUIDField()
    items = serializers.ListField(
        child=OrderLineInputSerializer(), min_length=1, max_length=settings.ORDERFLOW_MAX_ORDER_LINES
    )
    delivery_type = serializers.ChoiceField(choices=DeliveryType.choices)
    delivery_address = DeliveryAddressInputSerializer(required=False, allow_null=True)
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    tip = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=0, max_value=MAX_TIP, required=False)
    notes = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    fulfill_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Order for later: when to deliver it (or have it ready to collect), within the restaurant's hours.",
    )

    def to_internal_value(self, data: Any) -> Any:
        # The address rule is checked with the fields, not after them, so that one answer names
        # every problem of the request.
        errors: dict[str, Any] = {}
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors, values = dict(cast("dict[str, Any]", exc.detail)), None
        needs_address = isinstance(data, Mapping) and data.get("delivery_type") == DeliveryType.DELIVERY
        if needs_address and not data.get("delivery_address") and "delivery_address" not in errors:
            errors["delivery_address"] = ["A delivery order needs a delivery address."]
        if errors:
            raise serializers.ValidationError(errors)
        return values


def order_place_arguments(data: dict[str, Any]) -> dict[str, Any]:
    """`order_place`'s keyword arguments from `OrderPlaceSerializer`'s validated data."""
    address = data.get("delivery_address")
    return {
        "restaurant_id": data["restaurant"],
        "lines": [
            OrderLine(
                menu_item_id=line["menu_item"],
                quantity=line["quantity"],
                choice_ids=line["customizations"],
                notes=line["notes"],
            )
            for line in data["items"]
        ],
        "delivery_type": data["delivery_type"],
        "payment_method": data["payment_method"],
        "address": DeliveryAddress(**address) if address and data["delivery_type"] == DeliveryType.DELIVERY else None,
        "tip": data.get("tip", Decimal("0.00")),
        "notes": data["notes"],
        "fulfill_at": data.get("fulfill_at"),
    }
