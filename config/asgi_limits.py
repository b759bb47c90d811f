"""The ASGI edge: a request body larger than the limit is refused before Django reads it.

Django itself refuses a body over `DATA_UPLOAD_MAX_MEMORY_SIZE` only once a view reads it, after
the whole body has been spooled; here a declared `Content-Length` over the limit is answered 413
at once, and a body that turns out longer than declared (or chunked) is cut off at the limit.
"""

import json

from django.conf import settings

from core.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE


def _too_large_body(limit: int) -> bytes:
    return json.dumps(
        {
            "type": PROBLEM_TYPE_BASE + "request-too-large",
            "title": "The request is too large",
            "status": 413,
            "detail": f"Request bodies are limited to {limit} bytes.",
            "code": "request_too_large",
        }
    ).encode()


class BodySizeLimit:
    def __init__(self, app, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit or settings.ORDERFLOW_MAX_REQUEST_BYTES
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._refuse(send, limit)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await self._refuse(send, limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, send, limit: int) -> None:
        body = _too_large_body(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
