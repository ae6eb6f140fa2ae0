"""Which endpoint failures are worth another try, how long to wait, and how to say what failed.

Shared by the JSON and the streaming paths of ``LLMClient`` so a 429 is handled the same way
whether a batch classification or a Q&A answer hit it. The ``openai`` client's own retries are
off: the policy and its waits live here, and tests inject the sleep.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import openai


def is_transient(exc: BaseException) -> bool:
    """429 (except an exhausted quota), 5xx that is not about the request's response format,
    timeouts and connection errors."""
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        if refuses_format(exc):
            return False
        if exc.status_code == 429:
            # OpenAI answers 429 for an exhausted quota too; waiting does not refill it.
            body = exc.body if isinstance(exc.body, dict) else {}
            return body.get("code") != "insufficient_quota"
        return exc.status_code >= 500
    return False


def is_rejection(exc: BaseException) -> bool:
    """A 400/422: on every server we know, "this request option is not supported"."""
    return isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError)


#: Words of an error that is about the ``response_format`` we sent, whatever its status:
#: llama.cpp's Python server answers a ``json_schema`` format with HTTP 500 and pydantic's
#: "Input should be 'text' or 'json_object'".
_FORMAT_WORDS = ("response_format", "json_schema", "'json_object'", "json_object")


def refuses_format(exc: BaseException | None) -> bool:
    """A 400/422, or any status whose message names the response format: ask in the next form
    at once (retrying the same form would only get the same answer)."""
    if exc is None:
        return False
    if is_rejection(exc):
        return True
    if not isinstance(exc, openai.APIStatusError):
        return False
    body = exc.body if isinstance(exc.body, dict) else {}
    text = f"{exc.message} {body.get('message', '')} {body.get('detail', '')}".lower()
    return any(word in text for word in _FORMAT_WORDS)


def retry_after(exc: BaseException | None) -> float | None:
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


def describe(
    exc: openai.OpenAIError, attempts: int, *, base_url: str | None, timeout: float
) -> str:
    """One line for an ``LLMError``: where, what, and after how many attempts."""
    where = f"LLM endpoint {base_url}"
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    if isinstance(exc, openai.APITimeoutError):
        return f"{where} timed out after {timeout:g}s{tries}"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return f"cannot reach {where}: {one_line(cause) or type(cause).__name__}{tries}"
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        detail = one_line(body.get("message") or exc.message)
        return f"{where} answered HTTP {exc.status_code}: {detail}{tries}"
    return f"{where} failed: {one_line(exc)}"


def one_line(value: object, limit: int = 200) -> str:
    return " ".join(str(value).split())[:limit]
