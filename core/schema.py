"""OpenAPI pieces shared by the API's views: problem responses and the Idempotency-Key header,
and the schema class that keeps the document true to the server.

`ProblemAutoSchema` adds to each operation the refusals that come from the plumbing rather than
the view's own `@extend_schema` (derived from the same objects that enforce them: permissions,
throttles, pagination, the body), and declares every 4xx body as `application/problem+json`.
`InputSerializerExtension` declares request bodies closed (`additionalProperties: false`), which is
what `core.inputs.RejectUnknownFields` enforces.
"""

import re
from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from core.errors import PROBLEM_CONTENT_TYPE


class ProblemSerializer(serializers.Serializer[Any]):
    """RFC 7807 problem details, as every error is answered."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. order_not_found.")
    # A field of the documented body, named as the body names it (it shadows `Serializer.errors`,
    # which this schema-only serializer never uses).
    errors = serializers.DictField(  # type: ignore[assignment]
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
    pattern=r"^[\x21-\x7e][\x20-\x7e]{0,254}$",
    description=(
        "Any unique string (a UUID is best). Repeating the request with the same key and body within "
        "24 hours replays the first answer (header `Idempotent-Replayed: true`) without acting again; "
        "the same key with another body or another `If-Match` is a 422, and a repeat while the first is running a 409."
    ),
)

# One or a few of the order's ETags (orders.versions), W/ and quotes optional, or `*`.
_IF_MATCH_TAG = r'(W/)?"?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:)?[0-9]{1,18}"?'
IF_MATCH = OpenApiParameter(
    name="If-Match",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    pattern=rf"^(\*|{_IF_MATCH_TAG}( ?, ?{_IF_MATCH_TAG}){{0,9}})$",
    description=(
        "The order's `ETag` from its detail, status or last action answer (or its `sequence`): the write "
        "happens only if the order has not changed since, else 412 `precondition_failed` with the current "
        "`etag`, `sequence` and statuses."
    ),
)

_PROBLEMS = {
    400: "Invalid input (`validation_error` with `errors` per field, `malformed_request`), a wrong code "
    "(`otp_invalid`), a status change the table does not allow from the current status "
    "(`invalid_transition` with `current_status` and `allowed_statuses`).",
    401: "Not signed in (`not_authenticated`, `authentication_failed`).",
    403: "This role may not do this (`transition_forbidden`, `not_restaurant_staff`, `not_a_courier`, ...).",
    404: "No such order visible to you (`order_not_found`): another user's order answers exactly like a missing one.",
    409: "The order is not in a state that allows this (`already_assigned`, `otp_not_issued`, ...), "
    "`idempotency_in_progress`.",
    412: "`If-Match` names an older version of the order (`precondition_failed`, with the current `etag`, "
    "`sequence` and `status`).",
    410: "The code has expired (`otp_expired`).",
    422: "The Idempotency-Key was used for a different request (`idempotency_key_reused`).",
    423: "Too many wrong codes (`otp_locked`).",
    429: "Too many requests (`rate_limited`, `otp_resend_too_soon`).",
}


def problems(*statuses: int) -> dict[int, OpenApiResponse]:
    return {status: OpenApiResponse(ProblemSerializer, description=_PROBLEMS[status]) for status in statuses}


READ_PROBLEMS = (401, 404)
ACTION_PROBLEMS = (400, 401, 403, 404, 409, 412, 422)


NO_NUL = "^[^\\u0000]*$"
_PY_SPACE = (
    "\\t\\n\\u000b\\u000c\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
NOT_BLANK = f"^[^\\u0000]*[^\\u0000{_PY_SPACE}][^\\u0000]*$"
ANY_DECIMAL = r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$"

IMPLIED_PROBLEMS = {
    400: "Invalid input (`validation_error` with `errors` per field, `malformed_request`, `invalid_characters`).",
    401: "Not signed in (`not_authenticated`, `authentication_failed`).",
    404: "A page past the end of the list (`not_found`).",
    413: "The body is larger than the server accepts (`request_too_large`).",
    415: "The body is not JSON (`unsupported_media_type`).",
    429: "Too many requests or failed attempts (`rate_limited`), with `Retry-After`.",
}


class ProblemAutoSchema(AutoSchema):
    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        if self.method == "GET":
            # Filters, pagination and query serializers (`orders.api.validated`) read an empty
            # value (`?tab=`) as no value.
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    parameter["allowEmptyValue"] = True
        responses = operation.setdefault("responses", {})
        problem = None
        for status in self._implied_statuses():
            if str(status) not in responses:
                problem = problem or self._problem_content()
                responses[str(status)] = {"description": IMPLIED_PROBLEMS[status], "content": problem}
        for status, response in responses.items():
            content = response.get("content") or {}
            if int(status) >= 400 and "application/json" in content:
                content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        return operation

    def _problem_content(self) -> dict[str, Any]:
        return {PROBLEM_CONTENT_TYPE: {"schema": self.resolve_serializer(ProblemSerializer, "response").ref}}

    def _implied_statuses(self) -> list[int]:
        statuses = [400]
        if not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            statuses.append(401)
        if self.method == "GET" and getattr(self.view, "pagination_class", None) and self._is_list_view():
            statuses.append(404)
        if self.method in ("POST", "PUT", "PATCH"):
            statuses += [413, 415]
        if self.view.get_throttles():
            statuses.append(429)
        return statuses


def _decimal_pattern(generated: str | None) -> str:
    """drf-spectacular's decimal pattern (`^-?\\d{0,5}(?:\\.\\d{0,2})?$`) also matches "", which is no
    number; the same digit limits with at least one digit. Without limits, what Decimal() reads."""
    limits = re.fullmatch(r"\^-\?\\d\{0,(\d+)\}\(\?:\\\.\\d\{0,(\d+)\}\)\?\$", generated or "")
    if limits is None:
        return ANY_DECIMAL
    whole, fraction = limits.groups()
    return rf"^-?(?:\d{{1,{whole}}}(?:\.\d{{0,{fraction}}})?|\.\d{{1,{fraction}}})$"


class InputSerializerExtension(OpenApiSerializerExtension):
    target_class = "core.inputs.RejectUnknownFields"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        for prop in schema.get("properties", {}).values():
            if prop.get("type") == "string" and not ({"pattern", "format", "enum"} & set(prop)):
                # core.parsers.StrictJSONParser refuses NUL in any string; a required text is
                # refused when nothing but whitespace (Python's, which str.strip removes) is left.
                prop["pattern"] = NOT_BLANK if prop.get("minLength", 0) >= 1 else NO_NUL
            elif prop.get("format") == "decimal":
                prop["pattern"] = _decimal_pattern(prop.get("pattern"))
        return schema


class CredentialsJWTScheme(SimpleJWTScheme):
    """The API's bearer JWT (core.auth_tokens.CredentialsJWTAuthentication), documented as simplejwt's."""

    target_class = "core.auth_tokens.CredentialsJWTAuthentication"
