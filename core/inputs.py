"""The one rule for request bodies: a field the endpoint does not know is a 400 naming it, and so is
a text field given anything but a JSON string (DRF would turn `{"reason": 2733}` into "2733",
where the schema says string).

Every serializer that reads a body derives from `InputSerializer` (nested ones included, so
`items[0].colour` is named as precisely as `colour`). A silently ignored field hides a
client's typo (`reasn`) and let arbitrary payloads ride along; query-string serializers stay
lenient, since proxies and the browsable API add parameters of their own (`format`).
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rest_framework import serializers

UNKNOWN_FIELD = "Unknown field."
NOT_A_STRING = "Not a valid string."


if TYPE_CHECKING:
    _SerializerBase = serializers.Serializer[Any]
else:
    _SerializerBase = object


class RejectUnknownFields(_SerializerBase):
    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(str(name) for name in data if name not in self.fields) if isinstance(data, Mapping) else []
        errors = {name[:100]: [UNKNOWN_FIELD] for name in unknown[:20]}
        if isinstance(data, Mapping):
            for name, field in self.fields.items():
                text_field = isinstance(field, serializers.CharField) and not field.read_only
                if text_field and name in data and data[name] is not None and not isinstance(data[name], str):
                    errors[name] = [NOT_A_STRING]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            # The known fields' own errors (nested unknown fields among them) are reported too.
            if not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError({**exc.detail, **errors}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value


class InputSerializer(RejectUnknownFields, serializers.Serializer[Any]):
    pass


class NoBodySerializer(InputSerializer):
    """For actions that take no fields: any field sent is unknown."""
