"""What every contract's HTTP views share: the native errors, re-enveloped the contract's way.

Errors are still raised as the one `ApplicationError` family and mapped once to a problem by
`core.errors.problem_exception_handler`; a contract only re-shapes that problem into the
body its document shows (`error_body`), keeping the status code and headers.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import problem_exception_handler
from core.timestamps import iso

PASSED_HEADERS = ("WWW-Authenticate", "Retry-After", "Allow")


class ContractView(APIView):
    permission_classes = [IsAuthenticated]
    # Each contract's reference is its own document (and docs/contracts/); the OpenAPI schema
    # describes the native API.
    schema = None
    error_content_type = "application/json"

    def error_body(self, problem: dict) -> dict:
        raise NotImplementedError

    def error_status(self, problem: dict, status: int) -> int:
        """The status this contract's document gives the problem (the native one unless it says otherwise)."""
        return status

    def get_exception_handler(self):
        def handler(exc, context):
            response = problem_exception_handler(exc, context)
            if response is None:
                return None
            reshaped = Response(
                self.error_body(response.data),
                status=self.error_status(response.data, response.status_code),
                content_type=self.error_content_type,
            )
            # The native problem, for what decides by its code (core.idempotency keeps no key a
            # validation error answered).
            reshaped.problem = response.data  # type: ignore[attr-defined]  # read by core.idempotency
            for header in PASSED_HEADERS:
                if response.has_header(header):
                    reshaped[header] = response[header]
            return reshaped

        return handler


def number(amount: Decimal | None) -> float | None:
    """A decimal amount as a JSON number, as the documents show money (28.50, not "28.50")."""
    return None if amount is None else float(amount)


def minor_units(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


# The order's fields behind the promised times every contract shows as our own addition
# (docs/contracts/): the time asked for an order for later, the quoted ready time, and the
# delivery estimate (for a self-pickup order: when it is ready at the counter).
PROMISED_TIME_SOURCES = ("fulfill_at", "estimated_ready_at", "estimated_delivery_at")


def promised_times(order: Any, names: tuple[str, str, str], *, timespec: str = "seconds") -> dict:
    """The order's (or order row's) promised times under the contract's own names, null when
    unknown; an order for later's promised time is its `fulfill_at`."""
    values = (
        order if isinstance(order, Mapping) else {source: getattr(order, source) for source in PROMISED_TIME_SOURCES}
    )
    return {
        name: iso(values[source], timespec=timespec) for name, source in zip(names, PROMISED_TIME_SOURCES, strict=True)
    }
