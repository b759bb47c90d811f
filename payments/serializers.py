from rest_framework import serializers

from payments.services import PAYMENT_EVENT_TYPES


class PaymentEventDataSerializer(serializers.Serializer):
    order_id = serializers.UUIDField()
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True, default=None)
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")


class PaymentEventSerializer(serializers.Serializer):
    """The body of a payment webhook delivery (docs/background-work.md)."""

    id = serializers.CharField(max_length=100)
    type = serializers.ChoiceField(choices=sorted(PAYMENT_EVENT_TYPES))
    data = PaymentEventDataSerializer()  # type: ignore[assignment]  # the provider's field name; shadows Serializer.data

    def validate(self, attrs):
        # Without the charge's reference a successful payment could never be refunded.
        if PAYMENT_EVENT_TYPES[attrs["type"]] and not attrs["data"]["reference"]:
            raise serializers.ValidationError({"data": {"reference": ["Required for payment.succeeded."]}})
        return attrs
