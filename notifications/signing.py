"""How outbound webhooks are signed: the same recipe as the inbound payment webhook.

Each delivery carries

    X-Orderflow-Event-Id: <uuid>            (the same on every attempt: dedupe on it)
    X-Orderflow-Timestamp: <Unix seconds>   (when this attempt was signed)
    X-Orderflow-Signature: v1=<hex>[,v1=<hex>]

where each hex digest is HMAC-SHA256(secret, f"{timestamp}.".encode() + raw_body). While a
secret is being rotated the endpoint's previous secret signs too, so a receiver holding
either one finds a match. Receivers should compare in constant time and refuse a timestamp
more than a few minutes from their clock.
"""

from payments.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_signature

EVENT_ID_HEADER = "X-Orderflow-Event-Id"
EVENT_TYPE_HEADER = "X-Orderflow-Event-Type"
ATTEMPT_HEADER = "X-Orderflow-Delivery-Attempt"

__all__ = [
    "ATTEMPT_HEADER",
    "EVENT_ID_HEADER",
    "EVENT_TYPE_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "signature_header",
]


def signature_header(*, secrets: list[str], timestamp: int, body: bytes) -> str:
    return ",".join(webhook_signature(secret=secret, timestamp=timestamp, body=body) for secret in secrets if secret)
