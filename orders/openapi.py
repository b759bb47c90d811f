"""The OpenAPI document says what the server does: every error it can answer, in the shape and
media type it answers it.

`ProblemAutoSchema` adds to each operation the refusals that come from the plumbing rather than
the view's own `@extend_schema` (derived from the same objects that enforce them: permissions,
throttles, pagination, the body), and declares every 4xx body as `application/problem+json`.
`InputSerializerExtension` declares request bodies closed (`additionalProperties: false`), which is
what `orders.inputs.RejectUnknownFields` enforces.
"""

import re

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny

from orders.errors import PROBLEM_CONTENT_TYPE

NO_NUL = "^[^\\u0000]*$"
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
    def get_operation(self, path, path_regex, path_prefix, method, registry):
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

    def _problem_content(self) -> dict:
        from orders.serializers import ProblemSerializer  # the serializers import this module's app

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
    target_class = "orders.inputs.RejectUnknownFields"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        for prop in schema.get("properties", {}).values():
            if prop.get("type") == "string" and not ({"pattern", "format", "enum"} & set(prop)):
                prop["pattern"] = NO_NUL  # config.errors.StrictJSONParser refuses NUL in any string
            elif prop.get("format") == "decimal":
                prop["pattern"] = _decimal_pattern(prop.get("pattern"))
        return schema
