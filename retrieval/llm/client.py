"""JSON answers from any OpenAI-compatible chat endpoint (OpenAI, DeepSeek, Qwen, vLLM, Ollama).

``LLMClient.complete_json`` sends one chat request and returns the answer as a dict. Around the
``openai`` client it adds what a batch over thousands of calls needs:

* structured output negotiated per server: ``json_schema`` (strict) first, then
  ``json_object``, then no ``response_format`` and a tolerant parse of the text; the first mode
  the server accepts is remembered so later requests do not probe again;
* retries with tenacity (exponential backoff with jitter, ``Retry-After`` obeyed) on 429, 5xx,
  timeouts and connection errors; the ``openai`` client's own retries are switched off so the
  policy and its waits live in one place and tests can inject the sleep;
* a SQLite response cache keyed by a hash of model, messages and schema, so re-running a
  batch costs nothing;
* thread-safe token and cost counters (``usage()``).

Only ``LLMError`` (and its subclass ``LLMOutputError``) leaves this module.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

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

if TYPE_CHECKING:  # only a type here; openai 3 itself runs on httpx2 and accepts either
    import httpx

Mode = Literal["json_schema", "json_object", "text"]
MODES: tuple[Mode, ...] = ("json_schema", "json_object", "text")


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


_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)
# Reasoning models (DeepSeek-R1, Qwen3) think aloud before answering; braces in there are noise.
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_MAX_OBJECT_STARTS = 64


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a model's text: whole text, a ``` fence, or embedded in prose."""
    text = _THINK.sub("", text).strip()
    for candidate in [text, *(m.group(1).strip() for m in _FENCE.finditer(text))]:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    starts = [i for i, ch in enumerate(text) if ch == "{"][:_MAX_OBJECT_STARTS]
    for start in starts:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


class _ResponseCache:
    """Parsed answers by prompt hash in SQLite; one connection shared under a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # check_same_thread=False is safe because every use holds self._lock.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS llm_responses ("
            " prompt_hash TEXT PRIMARY KEY, model TEXT NOT NULL, mode TEXT NOT NULL,"
            " raw TEXT NOT NULL, data TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,"
            " completion_tokens INTEGER NOT NULL, created REAL NOT NULL)"
        )

    def get(self, key: str) -> tuple[str, dict[str, Any], Mode] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT raw, data, mode FROM llm_responses WHERE prompt_hash = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        return row[0], json.loads(row[1]), cast(Mode, row[2])

    def put(self, key: str, model: str, reply: LLMReply) -> None:
        data = json.dumps(reply.data, ensure_ascii=False)
        row = (key, model, reply.mode, reply.raw, data, *reply.usage, time.time())
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO llm_responses VALUES (?,?,?,?,?,?,?,?)", row)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429:
            # OpenAI answers 429 for an exhausted quota too; waiting does not refill it.
            body = exc.body if isinstance(exc.body, dict) else {}
            return body.get("code") != "insufficient_quota"
        return exc.status_code >= 500
    return False


def _retry_after(exc: BaseException | None) -> float | None:
    """Seconds a 429/503 asks us to wait (``retry-after-ms`` or ``Retry-After``), if it says."""
    if not isinstance(exc, openai.APIStatusError) or exc.status_code not in (429, 503):
        return None
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        if (value := headers.get(name)) is None:
            continue
        try:
            return max(float(value) * scale, 0.0)
        except ValueError:
            pass
        try:  # Retry-After may also be an HTTP date.
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        return max((when - datetime.now(UTC)).total_seconds(), 0.0)
    return None


class LLMClient:
    """A thread-safe JSON-answering client for one OpenAI-compatible endpoint and model.

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
        self._cache = _ResponseCache(cache_path) if cache_path is not None else None
        self._lock = threading.Lock()
        self._mode: Mode | None = (
            None if settings.response_mode == "auto" else settings.response_mode
        )
        self._requests = self._failed = self._cache_hits = 0
        self._prompt_tokens = self._completion_tokens = 0
        self._backoff = wait_exponential_jitter(
            initial=settings.backoff_initial,
            max=settings.backoff_max,
            jitter=settings.backoff_initial,
        )

    @property
    def model(self) -> str:
        return self._model

    @property
    def mode(self) -> Mode | None:
        """The response-format mode this server accepted, once known."""
        return self._mode

    def prompt_hash(self, messages: list[dict], *, schema: dict, schema_name: str) -> str:
        """The hash ``complete_json`` would key these messages by."""
        return prompt_hash(self._model, messages, schema, schema_name)

    def complete_json(self, messages: list[dict], *, schema: dict, schema_name: str) -> LLMReply:
        """Ask for a JSON object matching ``schema``; from the cache when asked before.

        Raises ``LLMError`` when the endpoint fails (after retries) and ``LLMOutputError``
        when it answers without a JSON object. The prompt itself must describe the JSON
        wanted: in the json_object and text modes the schema never reaches the server.
        """
        if self.redactor is not None:
            # Before the cache key, so the cache never holds personal data either.
            messages = self.redactor.redact_messages(messages)
        key = self.prompt_hash(messages, schema=schema, schema_name=schema_name)
        if self._cache is not None and (hit := self._cache.get(key)) is not None:
            with self._lock:
                self._cache_hits += 1
            raw, data, mode = hit
            return LLMReply(data, raw, key, cached=True, usage=(0, 0), mode=mode)

        completion, mode = self._negotiate(messages, schema, schema_name)
        usage = completion.usage
        tokens = (usage.prompt_tokens or 0, usage.completion_tokens or 0) if usage else (0, 0)
        with self._lock:
            self._prompt_tokens += tokens[0]
            self._completion_tokens += tokens[1]
        if not completion.choices:
            raise LLMOutputError("the LLM answer has no choices", raw="", prompt_hash=key)
        choice = completion.choices[0]
        raw = choice.message.content or ""
        data = parse_json_object(raw)
        if data is None:
            cut = " (cut at llm.max_output_tokens)" if choice.finish_reason == "length" else ""
            message = f"the LLM answer holds no JSON object{cut}: {_one_line(raw, 120)!r}"
            raise LLMOutputError(message, raw=raw, prompt_hash=key)
        reply = LLMReply(data, raw, key, cached=False, usage=tokens, mode=mode)
        # Only usable answers are cached: a garbled one is worth asking again next run.
        if self._cache is not None:
            self._cache.put(key, self._model, reply)
        return reply

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

    def _negotiate(self, messages: list[dict], schema: dict, schema_name: str) -> tuple[Any, Mode]:
        """Send in the known mode, or probe the modes in order until the server accepts one."""
        known = self._mode
        modes = (known,) if known is not None else MODES
        for i, mode in enumerate(modes):
            try:
                completion = self._send(messages, _response_format(mode, schema, schema_name))
            except LLMError as exc:
                # A 400/422 while probing means "this response_format is not supported" on
                # every server we know; any other failure is not about the format.
                rejected = isinstance(
                    exc.__cause__, openai.BadRequestError | openai.UnprocessableEntityError
                )
                if rejected and i + 1 < len(modes):
                    continue
                raise
            if known is None:
                with self._lock:
                    self._mode = mode
            return completion, mode
        raise AssertionError("unreachable: the last mode either returns or raises")

    def _send(self, messages: list[dict], response_format: dict | None) -> Any:
        """One chat completion with retries; openai errors become one-line LLMErrors."""
        s = self._settings
        retrying = Retrying(
            stop=stop_after_attempt(s.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(_is_transient),
            sleep=self._sleep,
            reraise=True,
        )
        extra: dict[str, Any] = {"response_format": response_format} if response_format else {}
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    with self._lock:
                        self._requests += 1
                    try:
                        return self._openai.chat.completions.create(
                            model=self._model,
                            messages=cast(Any, messages),
                            temperature=s.temperature,
                            # max_tokens, not max_completion_tokens: the one every
                            # OpenAI-compatible server understands.
                            max_tokens=s.max_output_tokens,
                            **extra,
                        )
                    except openai.OpenAIError:
                        with self._lock:
                            self._failed += 1
                        raise
        except openai.OpenAIError as exc:
            raise LLMError(self._describe(exc, attempts)) from exc
        raise AssertionError("unreachable: tenacity returns or reraises")

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        asked = _retry_after(exc)
        if asked is not None:
            return min(asked, self._settings.retry_after_max)
        return float(self._backoff(state))

    def _describe(self, exc: openai.OpenAIError, attempts: int) -> str:
        where = f"LLM endpoint {self._settings.base_url}"
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        if isinstance(exc, openai.APITimeoutError):
            return f"{where} timed out after {self._settings.timeout:g}s{tries}"
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return f"cannot reach {where}: {_one_line(cause) or type(cause).__name__}{tries}"
        if isinstance(exc, openai.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            detail = _one_line(body.get("message") or exc.message)
            return f"{where} answered HTTP {exc.status_code}: {detail}{tries}"
        return f"{where} failed: {_one_line(exc)}"


def _one_line(value: object, limit: int = 200) -> str:
    return " ".join(str(value).split())[:limit]


def _response_format(mode: Mode, schema: dict, schema_name: str) -> dict | None:
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": schema_name, "schema": schema, "strict": True},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None
