"""The payment webhook's signature: HMAC-SHA256 over "{timestamp}.{raw body}".

The provider sends two headers:

    X-Orderflow-Timestamp: 1767225600            (Unix seconds when it signed)
    X-Orderflow-Signature: v1=<hex digest>       (one or more, comma-separated)

with digest = HMAC-SHA256(ORDERFLOW_PAYMENT_WEBHOOK_SECRET, f"{timestamp}.".encode() + raw_body).
A delivery whose signature does not match is refused (401); one whose timestamp is more
than ORDERFLOW_PAYMENT_WEBHOOK_TOLERANCE_SECONDS (5 minutes) away from now is refused
(400), so a captured delivery cannot be replayed later.
"""

import hashlib
import hmac

from rest_framework import status as http

from core.errors import ApplicationError

TIMESTAMP_HEADER = "X-Orderflow-Timestamp"
SIGNATURE_HEADER = "X-Orderflow-Signature"
SIGNATURE_SCHEME = "v1"
# Unix seconds stay within 11 digits for the next 3,000 years.
MAX_TIMESTAMP_DIGITS = 11


class WebhookSignatureInvalid(ApplicationError):
    status_code = http.HTTP_401_UNAUTHORIZED
    code = "webhook_signature_invalid"
    title = "The webhook signature is missing or wrong"


class WebhookTimestampInvalid(ApplicationError):
    code = "webhook_timestamp_invalid"
    title = "The webhook timestamp is missing, malformed or too far from now"


def webhook_signature(*, secret: str, timestamp: int | str, body: bytes) -> str:
    """The header value a provider sends for `body` signed at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_SCHEME}={digest}"


def webhook_verify(
    *, secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float, tolerance: int
) -> None:
    """Raise unless `signature` signs `body` at `timestamp`, and `timestamp` is recent."""
    if not timestamp or not signature:
        raise WebhookSignatureInvalid(f"Send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}.")
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    offered = [part.strip() for part in signature.split(",")]
    if not any(hmac.compare_digest(expected.encode(), part.encode()) for part in offered if part.isascii()):
        raise WebhookSignatureInvalid("The signature does not match the body and timestamp.")
    # Plain digits of a sane length: int() would also take "+1_0 ", and a 300-digit number
    # overflows the float arithmetic below.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
        raise WebhookTimestampInvalid(f"{TIMESTAMP_HEADER} must be Unix seconds.")
    signed_at = int(timestamp)
    if abs(now - signed_at) > tolerance:
        raise WebhookTimestampInvalid(
            f"The delivery was signed {int(now - signed_at)} seconds from now; at most {tolerance} is accepted."
        )
