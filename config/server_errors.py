"""The ASGI server's own refusals, in the API's error shape.

daphne parses HTTP with Twisted, which answers what it cannot parse (a malformed multipart body,
a broken header line, an unreadable chunked body) with a bare `400 Bad Request` and no body,
before the application sees the request. Twisted has no hook for that answer, so its one method
that writes it is replaced, when daphne has loaded Twisted, by one that writes the same 400 as a
problem+json body with a stable code.
"""

import json
import sys

from core.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE

BODY = json.dumps(
    {
        "type": PROBLEM_TYPE_BASE + "bad-request",
        "title": "The request could not be understood",
        "status": 400,
        "detail": "The server could not parse this HTTP request.",
        "code": "bad_request",
    }
).encode()
RESPONSE = (
    b"HTTP/1.1 400 Bad Request\r\n"
    + f"Content-Type: {PROBLEM_CONTENT_TYPE}\r\nContent-Length: {len(BODY)}\r\nConnection: close\r\n\r\n".encode()
    + BODY
)


def _respond_to_bad_request_and_disconnect(channel) -> None:
    channel.transport.write(RESPONSE)
    channel.loseConnection()


def install() -> bool:
    """Whether Twisted's HTTP server (daphne's) now answers its 400s as problem+json."""
    http = sys.modules.get("twisted.web.http")
    channel = getattr(http, "HTTPChannel", None)
    if channel is None or not hasattr(channel, "_respondToBadRequestAndDisconnect"):
        return False
    channel._respondToBadRequestAndDisconnect = _respond_to_bad_request_and_disconnect
    return True
