"""The one client for chat models on any OpenAI-compatible endpoint (OpenAI, DeepSeek, Qwen,
vLLM, Ollama): JSON answers for classification and label review, streamed text for Q&A.

``LLMClient.complete_json`` sends one chat request and returns the answer as a dict;
``LLMClient.stream_text`` streams a text answer. Around the ``openai`` client both add what a
batch over thousands of calls, or a busy Q&A service, needs:

* structured output negotiated per server (JSON path): ``json_schema`` (strict: OpenAI, vLLM)
  first, then the schema inside ``json_object`` (llama.cpp's server turns it into a grammar,
  so an enum of labels holds), then plain ``json_object``, then no ``response_format`` and a
  tolerant parse of the text. An error about the format moves to the next form at once (no
  retries); the form the server accepted is remembered for the endpoint, in the response
  cache, so later requests and later runs do not probe again;
* retries with tenacity (exponential backoff with jitter, ``Retry-After`` obeyed) on 429, 5xx,
  timeouts and connection errors (``retrieval.llm.retry``); a stream is retried only until its
  first text reaches the caller, since a retry after that would repeat what was shown;
* a SQLite response cache keyed by a hash of model, messages and schema, so re-running a
  batch, or asking the same question over the same passages, costs nothing;
* PII redaction of every outgoing prompt by the injected ``redactor`` (set when the endpoint
  is external), before the cache key, so the cache never holds personal data either;
* thread-safe request, token and cost counters (``usage()``) over both paths.

Only ``LLMError`` (and its subclass ``LLMOutputError``) leaves this module.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import openai
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from app.core.config import LLMSettings
from app.core.errors import ConfigError, LLMError
from retrieval.llm.cache import ResponseCache
from retrieval.llm.formats import Mode, modes_to_try, response_format
from retrieval.llm.pace import Pace
from retrieval.llm.parse import parse_json_object
from retrieval.llm.prompts import count_prompt_tokens, count_text_tokens
from retrieval.llm.retry import (
    describe,
    is_rejection,
    is_transient,
    one_line,
    refuses_format,
    retry_after,
)
from retrieval.llm.stream import (
    ChatStream,
    chain_events,
    event_text,
    event_usage,
    read_to_first_text,
)

if TYPE_CHECKING:  # only a type here; openai 3 itself runs on httpx2 and accepts either
    import httpx

#: The schema name a streamed text answer is hashed under: not a valid json_schema name, so no
#: JSON request can share its cache key.
TEXT_ANSWER = "<text answer>"
_T = TypeVar("_T")


@dataclass(frozen=True)
class LLMReply:
    """One answer: the parsed JSON object and how it was obtained."""

    data: dict[str, Any]
    raw: str
    prompt_hash: str
    cached: bool
    #: (prompt_tokens, completion_tokens) spent on this reply; (0, 0) for a cache hit.
    usage: tuple[int, int]
    mode: Mode
    #: Personal data replaced in the prompt before it left, by kind (empty when not redacted).
    redactions: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LLMUsage:
    """Cumulative counters of one client, as a snapshot."""

    #: HTTP requests sent, including retries and response-format probes.
    requests: int
    #: Of those, the ones that failed (status error, timeout, connection error).
    failed_requests: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int
    #: Estimated from the settings' prices per 1000 tokens (0 when no prices are set).
    cost: float


class LLMOutputError(LLMError):
    """The endpoint answered, but the answer holds no JSON object."""

    def __init__(self, message: str, *, raw: str, prompt_hash: str) -> None:
        super().__init__(message)
        self.raw = raw
        self.prompt_hash = prompt_hash


def prompt_hash(model: str, messages: list[dict], schema: dict, schema_name: str) -> str:
    """The cache key and audit id of a request: sha256 over model, messages and schema."""
    payload = json.dumps(
        {"model": model, "messages": messages, "schema_name": schema_name, "schema": schema},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class LLMClient:
    """A thread-safe client for one OpenAI-compatible endpoint and model.

    ``cache_path=None`` turns the response cache off. ``http_client`` (``httpx.Client``) lets
    tests and proxies replace the transport; ``sleep`` is what waits between retries.
    """

    def __init__(
        self,
        settings: LLMSettings,
        *,
        cache_path: Path | None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        redactor: Any = None,
    ) -> None:
        if not settings.enabled:
            raise ConfigError("the LLM is not configured: set LLM__BASE_URL and LLM__MODEL")
        self._settings = settings
        #: A ``retrieval.llm.pii.Redactor`` applied to every outgoing prompt, or None.
        self.redactor = redactor
        self._model = cast(str, settings.model)
        self._sleep = sleep
        api_key = settings.api_key.get_secret_value() if settings.api_key else ""
        self._openai = openai.OpenAI(
            base_url=settings.base_url,
            # Self-hosted servers need no key, but the client refuses to start without one.
            api_key=api_key or "not-needed",
            timeout=settings.timeout,
            max_retries=0,
            http_client=http_client,
        )
        # openai's close() closes whatever client it holds; one passed in is the caller's.
        self._owns_http = http_client is None
        self._cache = ResponseCache(cache_path) if cache_path is not None else None
        self._lock = threading.Lock()
        #: The mode set in the settings (only that one is ever sent), else None: probe.
        self._fixed: Mode | None = (
            None if settings.response_mode == "auto" else settings.response_mode
        )
        remembered = self._cache.endpoint_mode(self._endpoint) if self._cache is not None else None
        self._mode: Mode | None = self._fixed or cast(Mode | None, remembered)
        #: Whether the server takes ``stream_options`` (None until a stream has been tried).
        self._stream_usage: bool | None = None
        self._requests = self._failed = self._cache_hits = 0
        self._prompt_tokens = self._completion_tokens = 0
        #: The endpoint's measured pace: each request's timeout follows it (``pace``).
        self._pace = Pace(settings.timeout)
        #: Per thread: the attempt being made, the prompt's tokens, the timeout it was given.
        self._attempt = threading.local()
        self._backoff = wait_exponential_jitter(
            initial=settings.backoff_initial,
            max=settings.backoff_max,
            jitter=settings.backoff_initial,
        )

    @property
    def model(self) -> str:
        return self._model

    @property
    def _endpoint(self) -> str:
        return str(self._settings.base_url)

    @property
    def mode(self) -> Mode | None:
        """The response-format mode this server accepted, once known."""
        return self._mode

    def prompt_hash(self, messages: list[dict], *, schema: dict, schema_name: str) -> str:
        """The hash ``complete_json`` would key these messages by."""
        return prompt_hash(self._model, messages, schema, schema_name)

    def complete_json(
        self,
        messages: list[dict],
        *,
        schema: dict,
        schema_name: str,
        max_tokens: int | None = None,
    ) -> LLMReply:
        """Ask for a JSON object matching ``schema``; from the cache when asked before.

        Raises ``LLMError`` when the endpoint fails (after retries) and ``LLMOutputError``
        when it answers without a JSON object. The prompt itself must describe the JSON
        wanted: in the json_object and text modes the schema never reaches the server.
        ``max_tokens`` overrides ``llm.max_output_tokens`` for answers longer than a verdict
        (a call summary). ``LLMReply.redactions`` says what was redacted before sending.
        """
        messages, redactions = self._redacted(messages)
        key = self.prompt_hash(messages, schema=schema, schema_name=schema_name)
        if self._cache is not None and (hit := self._cache.get(key)) is not None:
            with self._lock:
                self._cache_hits += 1
            raw, data, mode = hit
            return LLMReply(
                data,
                raw,
                key,
                cached=True,
                usage=(0, 0),
                mode=cast(Mode, mode),
                redactions=redactions,
            )

        completion, mode = self._negotiate(messages, schema, schema_name, max_tokens)
        usage = completion.usage
        tokens = (usage.prompt_tokens or 0, usage.completion_tokens or 0) if usage else (0, 0)
        self._count(tokens)
        if not completion.choices:
            raise LLMOutputError("the LLM answer has no choices", raw="", prompt_hash=key)
        choice = completion.choices[0]
        raw = choice.message.content or ""
        data = parse_json_object(raw)
        if data is None:
            cut = " (cut at llm.max_output_tokens)" if choice.finish_reason == "length" else ""
            message = f"the LLM answer holds no JSON object{cut}: {one_line(raw, 120)!r}"
            raise LLMOutputError(message, raw=raw, prompt_hash=key)
        reply = LLMReply(
            data, raw, key, cached=False, usage=tokens, mode=mode, redactions=redactions
        )
        # Only usable answers are cached: a garbled one is worth asking again next run.
        if self._cache is not None:
            self._cache.put(key, self._model, mode=mode, raw=raw, data=data, usage=tokens)
        return reply

    def stream_text(self, messages: list[dict], *, max_tokens: int | None = None) -> ChatStream:
        """Stream a plain-text answer (Q&A); from the cache when asked before.

        The messages are redacted first (``ChatStream.redactions`` says what was replaced).
        Nothing is sent until the stream is iterated. Failures before the first chunk are
        retried like ``complete_json``'s; any failure that is left raises ``LLMError`` from
        the iteration. Tokens count into ``usage()``: the server's own count when it sends
        one (asked for with ``stream_options``), else a tiktoken estimate of prompt and text.
        """
        messages, redactions = self._redacted(messages)
        key = prompt_hash(self._model, messages, {}, TEXT_ANSWER)
        if self._cache is not None and (text := self._cache.get_text(key)) is not None:
            with self._lock:
                self._cache_hits += 1
            return ChatStream.replay(text, key, redactions)
        limit = max_tokens or self._settings.max_output_tokens

        def source(out: ChatStream) -> Generator[str, None, None]:
            return self._stream(out, messages, limit)

        return ChatStream(key, redactions, cached=False, source=source)

    def usage(self) -> LLMUsage:
        """A snapshot of the counters since this client was made."""
        s = self._settings
        with self._lock:
            p, c = self._prompt_tokens, self._completion_tokens
            cost = (p * s.price_per_1k_input + c * s.price_per_1k_output) / 1000.0
            return LLMUsage(self._requests, self._failed, self._cache_hits, p, c, cost)

    def usage_line(self) -> str:
        """One line of request/token/cost accounting, for summaries."""
        u = self.usage()
        return (
            f"LLM {self.model}: {u.requests} requests ({u.cache_hits} cached, "
            f"{u.failed_requests} failed), {u.prompt_tokens} prompt + "
            f"{u.completion_tokens} completion tokens, est. cost {u.cost:.4f}"
        )

    def close(self) -> None:
        """Close the HTTP client (when we made it) and the cache."""
        if self._owns_http:
            self._openai.close()
        if self._cache is not None:
            self._cache.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _redacted(self, messages: list[dict]) -> tuple[list[dict], dict[str, int]]:
        if self.redactor is None:
            return messages, {}
        return self.redactor.redact_messages_counted(messages)

    def _count(self, tokens: tuple[int, int]) -> None:
        with self._lock:
            self._prompt_tokens += tokens[0]
            self._completion_tokens += tokens[1]

    def _negotiate(
        self, messages: list[dict], schema: dict, schema_name: str, max_tokens: int | None = None
    ) -> tuple[Any, Mode]:
        """Send in the known mode, or probe the modes in order until the server accepts one.

        A mode set in the settings is the only one sent. A remembered one is tried first; if
        the server refuses it now (another server behind the same address), the others are
        probed after it.
        """
        known = self._mode
        modes = modes_to_try(self._fixed, known)
        for i, mode in enumerate(modes):
            extra = response_format(mode, schema, schema_name)
            try:
                completion = self._call(
                    lambda extra=extra: self._create(messages, max_tokens=max_tokens, **extra)
                )
            except LLMError as exc:
                # A 400/422, or an error naming the response format (llama.cpp's 500), means
                # "this form is not supported"; any other failure is not about the format.
                if refuses_format(exc.__cause__) and i + 1 < len(modes):
                    continue
                raise
            if mode != known:
                with self._lock:
                    self._mode = mode
                if self._cache is not None and self._fixed is None:
                    self._cache.set_endpoint_mode(self._endpoint, mode)
            return completion, mode
        raise AssertionError("unreachable: the last mode either returns or raises")

    def _create(self, messages: list[dict], *, max_tokens: int | None = None, **extra: Any) -> Any:
        s = self._settings
        most = max_tokens or s.max_output_tokens
        prompt = count_prompt_tokens(messages)
        timeout = self._pace.timeout(prompt, most, getattr(self._attempt, "number", 1))
        self._attempt.prompt, self._attempt.timeout = prompt, timeout
        return self._openai.chat.completions.create(
            model=self._model,
            messages=cast(Any, messages),
            temperature=s.temperature,
            # max_tokens, not max_completion_tokens: the one every OpenAI-compatible server
            # understands.
            max_tokens=most,
            timeout=timeout,
            **extra,
        )

    def _call(self, request: Callable[[], _T]) -> _T:
        """``request()`` with retries; counts each attempt; openai errors become LLMErrors."""
        retrying = Retrying(
            stop=stop_after_attempt(self._settings.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(is_transient),
            sleep=self._sleep,
            reraise=True,
        )
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    self._attempt.number = attempts
                    with self._lock:
                        self._requests += 1
                    started = time.monotonic()
                    try:
                        result = request()
                    except openai.OpenAIError:
                        with self._lock:
                            self._failed += 1
                        raise
                    usage = getattr(result, "usage", None)
                    if usage is not None:  # an answer (a stream is measured as it ends)
                        self._pace.observe(time.monotonic() - started, usage.prompt_tokens or 0,
                                           usage.completion_tokens or 0)  # fmt: skip
                    return result
        except openai.OpenAIError as exc:
            raise LLMError(self._describe(exc, attempts)) from exc
        finally:
            self._attempt.number = 1
        raise AssertionError("unreachable: tenacity returns or reraises")

    def _open_stream(self, messages: list[dict], max_tokens: int) -> tuple[Any, list[Any]]:
        """A streaming request read up to its first text (or its end), with retries: until
        text reaches the caller a failed attempt can be repeated without anyone seeing it.

        ``stream_options.include_usage`` asks for the token count in a last chunk; a server
        that refuses the option (400/422) is asked again without it, and then never again.
        """

        def attempt(ask_usage: bool) -> tuple[Any, list[Any]]:
            extra = {"stream_options": {"include_usage": True}} if ask_usage else {}
            stream = self._create(messages, max_tokens=max_tokens, stream=True, **extra)
            return stream, read_to_first_text(stream)

        ask_usage = self._stream_usage is not False
        try:
            opened = self._call(lambda: attempt(ask_usage))
        except LLMError as exc:
            if not (ask_usage and self._stream_usage is None and is_rejection(exc.__cause__)):
                raise
            ask_usage = False
            opened = self._call(lambda: attempt(False))
        self._stream_usage = ask_usage
        return opened

    def _stream(
        self, out: ChatStream, messages: list[dict], max_tokens: int
    ) -> Generator[str, None, None]:
        """The chunks of one live answer; fills in ``out`` and the counters as it ends."""
        started = time.monotonic()
        stream, head = self._open_stream(messages, max_tokens)
        parts: list[str] = []
        reported: tuple[int, int] | None = None
        finished = False
        try:
            for event in chain_events(head, stream):
                reported = event_usage(event) or reported
                text, finish = event_text(event)
                finished = finished or finish is not None
                if text:
                    parts.append(text)
                    yield text
        except openai.OpenAIError as exc:
            with self._lock:
                self._failed += 1
            raise LLMError(f"{self._describe(exc, 1)}, after the answer had started") from exc
        finally:
            stream.close()
            out.text = "".join(parts)
            # Tokens were spent even when the caller stopped early or the stream broke.
            out.usage = reported or (count_prompt_tokens(messages), count_text_tokens(out.text))
            self._count(out.usage)
            if finished:
                self._pace.observe(time.monotonic() - started, *out.usage)
        out.complete = finished
        if finished and out.text.strip() and self._cache is not None:
            self._cache.put_text(out.prompt_hash, self._model, out.text, out.usage)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        asked = retry_after(exc)
        if asked is not None:
            return min(asked, self._settings.retry_after_max)
        return float(self._backoff(state))

    def _describe(self, exc: openai.OpenAIError, attempts: int) -> str:
        s = self._settings
        used = getattr(self._attempt, "timeout", s.timeout)
        return describe(exc, attempts, base_url=s.base_url, timeout=used)
