"""A scripted OpenAI-compatible chat server on 127.0.0.1, for tests of the LLM path.

Tests enqueue what the next requests get (an answer, an HTTP error with headers, or a delay
that outlasts the client's timeout) and read back every request the server received. The
answers are shaped like OpenAI's, so the real ``openai`` client parses them; a streamed answer
ends with OpenAI's usage chunk when the request asks for it (``stream_options``).

    with FakeLLMServer() as server:
        server.enqueue(Reply.answer('{"label": "refund"}'), Reply.error(429, retry_after=3))
        ...  # point LLMSettings(base_url=server.base_url) at it
        server.requests[0].body["response_format"]
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the server does with one request."""

    content: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds to wait before answering (longer than the client timeout = a timeout).
    delay: float = 0.0
    usage: tuple[int, int] = (50, 10)
    message: str = "scripted error"
    #: The error body's ``code`` (OpenAI sends e.g. ``insufficient_quota`` with a 429).
    code: str | None = None
    finish_reason: str = "stop"
    #: Whether a streamed answer honours ``stream_options.include_usage`` (some servers ignore it).
    stream_usage: bool = True
    #: A streamed answer that stops after its text, without a finish reason or ``[DONE]``
    #: (a connection that dropped mid-answer).
    truncated: bool = False

    @classmethod
    def answer(
        cls, content: str, *, usage: tuple[int, int] = (50, 10), stream_usage: bool = True
    ) -> Reply:
        return cls(content=content, usage=usage, stream_usage=stream_usage)

    @classmethod
    def json(cls, data: dict[str, Any], *, usage: tuple[int, int] = (50, 10)) -> Reply:
        return cls(content=json.dumps(data), usage=usage)

    @classmethod
    def error(
        cls,
        status: int,
        *,
        retry_after: str | float | None = None,
        message: str = "",
        code: str | None = None,
    ) -> Reply:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return cls(
            status=status, headers=headers, message=message or f"scripted HTTP {status}", code=code
        )

    @classmethod
    def slow(cls, seconds: float, content: str = "{}") -> Reply:
        return cls(content=content, delay=seconds)


@dataclass
class Received:
    """One request as the server saw it."""

    path: str
    #: Header names lower-cased.
    headers: dict[str, str]
    body: dict[str, Any]
    at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def response_format(self) -> dict[str, Any] | None:
        return self.body.get("response_format")


class FakeLLMServer:
    """The server: ``base_url`` ends in ``/v1`` like the real thing.

    ``reject_json_schema`` / ``reject_json_object`` answer 400 to requests asking for that
    response_format (without using up a scripted reply), like servers without structured
    output; ``reject_stream_options`` answers 400 to a request with ``stream_options``, like
    servers that predate it. ``like_llama_cpp`` answers a ``json_schema`` format the way
    llama-cpp-python's server does: HTTP 500 with pydantic's message (a retry gets the same).
    With nothing enqueued the server answers ``default`` or, if none,
    409 so a test that sends more requests than it scripted fails loudly instead of retrying.
    """

    def __init__(
        self,
        *,
        reject_json_schema: bool = False,
        reject_json_object: bool = False,
        reject_stream_options: bool = False,
        like_llama_cpp: bool = False,
        default: Reply | None = None,
        model: str = "fake-model",
    ) -> None:
        self.reject_json_schema = reject_json_schema
        self.reject_json_object = reject_json_object
        self.reject_stream_options = reject_stream_options
        self.like_llama_cpp = like_llama_cpp
        self.default = default
        self.model = model
        self.requests: list[Received] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, body: dict[str, Any]) -> Reply:
        kind = (body.get("response_format") or {}).get("type")
        if (kind == "json_schema" and self.reject_json_schema) or (
            kind == "json_object" and self.reject_json_object
        ):
            return Reply.error(400, message=f"response_format type {kind} is not supported")
        if kind == "json_schema" and self.like_llama_cpp:
            return Reply.error(
                500,
                message="[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
                "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}]",
            )
        if "stream_options" in body and self.reject_stream_options:
            return Reply.error(400, message="unknown field stream_options")
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.default or Reply.error(409, message="llm test server: no scripted reply left")

    def _completion(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        prompt, completion = reply.usage
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


def _handler_for(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"_unparsed": raw.decode("utf-8", "replace")}
            with server._lock:
                server.requests.append(
                    Received(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        time.monotonic(),
                    )
                )
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
                return
            reply = server._next(body)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.status == 200 and body.get("stream"):
                self._stream(reply, body)
            elif reply.status == 200:
                self._send(200, server._completion(reply, body), reply.headers)
            else:
                error = {
                    "message": reply.message,
                    "type": "scripted_error",
                    "param": None,
                    "code": reply.code,
                }
                self._send(reply.status, {"error": error}, reply.headers)

        def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
            """Server-sent events the way OpenAI streams: a chunk per few characters."""
            content = reply.content or ""
            pieces = [content[i : i + 7] for i in range(0, len(content), 7)]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            chunks = []
            for i, piece in enumerate(pieces if reply.truncated else [*pieces, None]):
                choice = {
                    "index": 0,
                    "delta": {"content": piece} if piece else {},
                    "finish_reason": None if piece else "stop",
                    "logprobs": None,
                }
                if i == 0:
                    choice["delta"]["role"] = "assistant"
                chunks.append({"choices": [choice]})
            asks_usage = (body.get("stream_options") or {}).get("include_usage")
            if reply.stream_usage and asks_usage and not reply.truncated:
                # OpenAI's last chunk: no choices, the usage of the whole answer.
                usage = server._completion(reply, body)["usage"]
                chunks.append({"choices": [], "usage": usage})
            for chunk in chunks:
                chunk.update(
                    id="chatcmpl-stream",
                    object="chat.completion.chunk",
                    created=int(time.time()),
                    model=body.get("model", server.model),
                )
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            if not reply.truncated:
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
            self.close_connection = True

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(payload).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing left to tell it

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep test output clean

    return Handler
