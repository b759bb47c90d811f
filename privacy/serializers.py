from rest_framework import serializers

from core.inputs import InputSerializer

ERASE_CONFIRMATION = "erase my data"


class EraseConfirmationSerializer(InputSerializer):
    confirm = serializers.ChoiceField(
        choices=[ERASE_CONFIRMATION],
        help_text=f'Exactly "{ERASE_CONFIRMATION}": erasure cannot be undone.',
        error_messages={"invalid_choice": f'Send "confirm": "{ERASE_CONFIRMATION}" to erase your data.'},
    )


class ErasedSerializer(serializers.Serializer):
    erased = serializers.BooleanField()
    audit_id = serializers.IntegerField(help_text="The audit record of this erasure.")
    summary = serializers.DictField(child=serializers.IntegerField(), help_text="What was changed, in counts.")


class ExportSerializer(serializers.Serializer):
    """Schema only: the document is built by privacy.selectors.customer_data."""

    exported_at = serializers.DateTimeField()
    account = serializers.DictField()
    notification_preferences = serializers.DictField(allow_null=True)
    orders = serializers.ListField(child=serializers.DictField())
    notifications = serializers.ListField(child=serializers.DictField())
