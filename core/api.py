"""Input handling shared by every API view."""

from typing import Any

from django.contrib.auth.models import User
from django.http import QueryDict
from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer

from core.errors import ValidationFailed


class SignedInRequest(Request):
    """A request to a view behind `IsAuthenticated`, as the type checker sees it: its user is a
    user row, never the anonymous one. (Only an annotation: the request is DRF's own.)"""

    user: User


def validated(serializer_class: type[BaseSerializer[Any]], data: Any) -> dict[str, Any]:
    if isinstance(data, QueryDict):
        # A serializer reads the last of repeated values; the ones before must not pass unseen.
        repeated = {name: ["Give one value only."] for name, values in data.lists() if len(values) > 1}
        if repeated:
            raise ValidationFailed(repeated)
        # As for the list filters, an empty parameter (`?restaurant=`) is no parameter.
        data = {name: value for name, value in data.items() if value != ""}
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    validated_data: dict[str, Any] = serializer.validated_data
    return validated_data
