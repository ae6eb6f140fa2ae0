"""Request limits as plain ASGI middleware: the body size, and failed authentication per client.

Starlette parses a multipart body completely (spooling it to disk) before a route sees the
files, so a per-file check in the route comes after a 10 GB upload has been received. This
middleware refuses the request from its ``Content-Length`` before reading a byte of the body,
and counts a body sent without one (chunked) as it arrives, stopping it as soon as it passes the
limit.
"""

from __future__ import annotations

import json

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


class WatchedSend:
    """A ``send`` that passes every message on and remembers the response's status (None until
    the response has started: an error can then still be answered in full)."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status: int | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)


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
        watched = WatchedSend(send)

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, limited_receive, watched)
        except _TooLarge:
            if watched.status is None:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        # The rest of the body is not read: the client must not reuse the connection.
        await _send_json(send, 413, _TooLarge(self.max_bytes).detail, {"connection": "close"})


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


class AuthFailureLimit:
    """Counts failed authentication per client address — a 401 from the API, a refused login
    (400/401) at the web UI's ``/ui/login`` — and answers 429 with ``Retry-After`` once a
    client has ``max_failures`` within ``window`` seconds, until the oldest failure ages out.
    Successful requests are not counted; other clients are not affected."""

    def __init__(self, app: ASGIApp, max_failures: int, window: float) -> None:
        import threading
        from collections import defaultdict, deque

        self.app = app
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        login = path.rstrip("/").endswith("/ui/login")
        if not (path.startswith("/api/") or login):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self._retry_after(client)
        if wait:
            await _send_json(
                send,
                429,
                {
                    "code": "too_many_failures",
                    "message": f"too many failed API keys or logins from {client}: retry in "
                    f"{wait} s (api.max_auth_failures)",
                },
                {"retry-after": str(wait)},
            )
            return
        watched = WatchedSend(send)
        await self.app(scope, receive, watched)
        code = watched.status
        if code == 401 or (login and code in (400, 401)):
            self._fail(client)

    def _retry_after(self, client: str) -> int:
        import math
        import time

        now = time.monotonic()
        with self._lock:
            times = self._failures.get(client)
            if not times:
                return 0
            while times and now - times[0] > self.window:
                times.popleft()
            if not times:
                del self._failures[client]
                return 0
            if len(times) < self.max_failures:
                return 0
            return max(1, math.ceil(self.window - (now - times[0])))

    def _fail(self, client: str) -> None:
        import time

        with self._lock:
            self._failures[client].append(time.monotonic())
            if len(self._failures) > 10_000:  # many addresses: forget the quietest
                for key in [k for k, v in self._failures.items() if len(v) < 2][:5_000]:
                    del self._failures[key]


async def _send_json(send: Send, status: int, error: dict, headers: dict[str, str]) -> None:
    body = json.dumps({"error": error}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
