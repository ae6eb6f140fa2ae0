"""A request-body size limit as plain ASGI middleware.

Starlette parses a multipart body completely (spooling it to disk) before a route sees the
files, so a per-file check in the route comes after a 10 GB upload has been received. This
middleware refuses the request from its ``Content-Length`` before reading a byte of the body,
and counts a body sent without one (chunked) as it arrives, stopping it as soon as it passes the
limit.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body parsing passes it on (it turns any other
    exception into a 400) and the API's handler answers it in the error shape."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413,
            detail={
                "code": "payload_too_large",
                "message": f"the request body is over {_mb(max_bytes)} MB (api.max_request_mb)",
            },
            headers={"Connection": "close"},
        )


class BodySizeLimit:
    """413 for request bodies over ``max_bytes``, in the API's error shape."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"error": _TooLarge(self.max_bytes).detail}).encode()
        headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # The rest of the body is not read: the client must not reuse the connection.
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _mb(n: int) -> str:
    return f"{n / 2**20:g}"
