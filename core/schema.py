"""OpenAPI pieces shared by the API's views: problem responses and the Idempotency-Key header."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ProblemSerializer(serializers.Serializer):
    """RFC 7807 problem details, as every error is answered."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. order_not_found.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="validation_error: messages per field.",
    )
    current_status = serializers.CharField(required=False, help_text="invalid_transition: the order's status now.")
    allowed_statuses = serializers.ListField(child=serializers.CharField(), required=False)
    attempts_left = serializers.IntegerField(required=False, help_text="otp_invalid: attempts left.")


IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID is best). Repeating the request with the same key and body within "
        "24 hours replays the first answer (header `Idempotent-Replayed: true`) without acting again; "
        "the same key with another body is a 422, and a repeat while the first is running a 409."
    ),
)

_PROBLEMS = {
    400: "Invalid input (`validation_error` with `errors` per field, `malformed_request`), a wrong code "
    "(`otp_invalid`).",
    401: "Not signed in (`not_authenticated`, `authentication_failed`).",
    403: "This role may not do this (`transition_forbidden`, `not_restaurant_staff`, `not_a_courier`, ...).",
    404: "No such order visible to you (`order_not_found`): another user's order answers exactly like a missing one.",
    409: "Not allowed in the order's current state (`invalid_transition` with `current_status`), "
    "`idempotency_in_progress`.",
    410: "The code has expired (`otp_expired`).",
    422: "The Idempotency-Key was used for a different request (`idempotency_key_reused`).",
    423: "Too many wrong codes (`otp_locked`).",
    429: "Too many requests (`rate_limited`, `otp_resend_too_soon`).",
}


def problems(*statuses: int) -> dict[int, OpenApiResponse]:
    return {status: OpenApiResponse(ProblemSerializer, description=_PROBLEMS[status]) for status in statuses}


READ_PROBLEMS = (401, 404)
ACTION_PROBLEMS = (400, 401, 403, 404, 409, 422)
