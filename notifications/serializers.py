from rest_framework import serializers

from core.inputs import InputSerializer
from notifications.models import Milestone

PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"


class StrictBooleanField(serializers.BooleanField):
    """true or false, as JSON writes them: not 0, 1, "yes" or "true"."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class NotificationPreferenceSerializer(InputSerializer):
    email_enabled = StrictBooleanField(required=False)
    sms_enabled = StrictBooleanField(required=False)
    phone = serializers.RegexField(
        PHONE_PATTERN,
        required=False,
        allow_blank=True,
        max_length=16,
        error_messages={"invalid": "An international number: +, country code, number (E.164)."},
    )
    milestones = serializers.ListField(
        child=serializers.ChoiceField(choices=Milestone.choices), required=False, allow_empty=True, max_length=20
    )


class NotificationPreferenceResponseSerializer(NotificationPreferenceSerializer):
    email = serializers.EmailField(read_only=True, help_text="Where email goes: the account's address.")
    phone_verified = serializers.BooleanField(
        read_only=True, help_text="Text messages go to `phone` only once it is verified with a code sent to it."
    )


class PhoneCodeSentSerializer(serializers.Serializer):
    phone = serializers.CharField()
    expires_at = serializers.DateTimeField()


class PhoneCodeSerializer(InputSerializer):
    code = serializers.RegexField(r"^\d{6}$", error_messages={"invalid": "Must be the 6-digit code."})


class WebhookReplaySerializer(InputSerializer):
    since = serializers.DateTimeField(help_text="The first moment of the range (inclusive).")
    until = serializers.DateTimeField(help_text="The end of the range (exclusive).")


class WebhookReplayQueuedSerializer(serializers.Serializer):
    endpoint_id = serializers.IntegerField()
    queued = serializers.IntegerField(help_text="Events queued for the endpoint again, each under its own event id.")
