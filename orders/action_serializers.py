"""Shapes of the actions on an order (status changes, prep time, handoff codes): their inputs,
and the order-process API's answer to every one of them."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.inputs import InputSerializer
from orders.models import OrderStatus
from orders.serializers import (
    DELIVERY_STATUS_WORDS,
    PAYMENT_STATUS_WORDS,
    REFUND_STATUS_WORDS,
    STATUS_WORDS,
    SubStatusField,
)
from orders.services.transitions import MAX_PREP_MINUTES, MAX_REASON_LENGTH


class OtpField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(r"^\d{6}$", error_messages={"invalid": "Must be the 6-digit code."}, **kwargs)


class OrderActionResponseSerializer(serializers.Serializer[Any]):
    """The order-process API's answer to every action; the optional fields appear where the action sets them."""

    success = serializers.BooleanField()
    order_id = serializers.UUIDField()
    order_number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    previous_status = serializers.ChoiceField(choices=OrderStatus.choices, allow_null=True)
    message = serializers.CharField()
    new_status = serializers.ChoiceField(
        choices=STATUS_WORDS, required=False, help_text="The status word the client sent."
    )
    status_name = serializers.CharField(required=False)
    tracking_id = serializers.UUIDField(required=False)
    verified = serializers.BooleanField(required=False)
    delivery_status = SubStatusField(DELIVERY_STATUS_WORDS, required=False)
    delivery_person = serializers.UUIDField(required=False)
    estimated_ready_time = serializers.DateTimeField(required=False, allow_null=True)
    estimated_delivery_time = serializers.DateTimeField(required=False, allow_null=True)
    ready_time = serializers.DateTimeField(required=False, allow_null=True)
    actual_delivery_time = serializers.DateTimeField(required=False, allow_null=True)
    payment_status = SubStatusField(PAYMENT_STATUS_WORDS, required=False)
    refund_status = SubStatusField(REFUND_STATUS_WORDS, required=False)

    def to_representation(self, instance: dict[str, Any]) -> Any:
        # An optional field appears only when the action set it (its value may be null).
        return {key: value for key, value in super().to_representation(instance).items() if key in instance}


class ReasonOptionalSerializer(InputSerializer):
    reason = serializers.CharField(max_length=MAX_REASON_LENGTH, required=False, allow_blank=True, default="")


class ReasonRequiredSerializer(InputSerializer):
    reason = serializers.CharField(max_length=MAX_REASON_LENGTH)


@extend_schema_field({"type": "string", "enum": STATUS_WORDS})
class StatusCodeField(serializers.CharField):
    """A status or an alias (case and surrounding spaces aside); the service names a wrong one."""


class StatusChangeSerializer(InputSerializer):
    status_code = StatusCodeField(max_length=40)
    reason = serializers.CharField(max_length=MAX_REASON_LENGTH, required=False, allow_blank=True, default="")
    metadata = serializers.DictField(required=False, default=dict)
    otp = OtpField(required=False, help_text="The handoff code, for the changes that need one.")


class PrepTimeSerializer(InputSerializer):
    estimated_prep_time = serializers.IntegerField(
        min_value=1, max_value=MAX_PREP_MINUTES, required=False, help_text="Minutes until the order is ready."
    )


class OtpEntrySerializer(InputSerializer):
    otp = OtpField()
