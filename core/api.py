"""Input handling shared by every API view."""

from django.http import QueryDict

from core.errors import ValidationFailed


def validated(serializer_class, data) -> dict:
    if isinstance(data, QueryDict):
        # A serializer reads the last of repeated values; the ones before must not pass unseen.
        repeated = {name: ["Give one value only."] for name, values in data.lists() if len(values) > 1}
        if repeated:
            raise ValidationFailed(repeated)
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
