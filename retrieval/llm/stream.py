"""A streamed chat answer as ``LLMClient.stream_text`` hands it out, and the chunk helpers.

The caller iterates text chunks as the model writes them (the UI and the API pass them on at
once) and reads what is known only afterwards from the same object: the whole text and the
tokens it cost. What was redacted is known before the first chunk. A cached answer is replayed
as word-sized chunks, so a caller cannot tell it from a live one except by ``cached``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from typing import Any

# A word with the space after it, long runs (CJK text has no spaces) cut every 24 characters.
_REPLAY = re.compile(r"\S{1,24}\s*|\s+")


class ChatStream:
    """One streamed answer: iterate it for text chunks.

    ``prompt_hash`` and ``redactions`` (placeholders put into the prompt, by kind) are known at
    once; ``text``, ``usage`` (prompt, completion tokens) and ``complete`` once the iteration
    has ended. Closing it early (or an error) still counts the tokens spent so far, but only a
    complete answer is cached.
    """

    def __init__(
        self,
        prompt_hash: str,
        redactions: dict[str, int],
        *,
        cached: bool,
        source: Callable[[ChatStream], Generator[str, None, None]],
    ) -> None:
        self.prompt_hash = prompt_hash
        self.redactions = dict(redactions)
        self.cached = cached
        self.text = ""
        self.usage: tuple[int, int] = (0, 0)
        #: True once the server said the answer was finished (or the cache had it).
        self.complete = False
        self._chunks = source(self)

    @classmethod
    def replay(cls, text: str, prompt_hash: str, redactions: dict[str, int]) -> ChatStream:
        """A cached answer, handed out again in chunks; it cost no tokens."""

        def source(stream: ChatStream) -> Generator[str, None, None]:
            stream.text = text
            yield from replay_chunks(text)
            stream.complete = True

        return cls(prompt_hash, redactions, cached=True, source=source)

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> str:
        return next(self._chunks)

    def close(self) -> None:
        """Stop early: the HTTP response is closed and the tokens so far are counted."""
        self._chunks.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def replay_chunks(text: str) -> list[str]:
    """``text`` cut into word-sized pieces that join back to exactly ``text``."""
    return _REPLAY.findall(text)


def event_text(event: Any) -> tuple[str, str | None]:
    """The text delta of one streamed chunk and its finish reason (None until the last)."""
    if not getattr(event, "choices", None):
        return "", None  # the usage-only chunk that ``include_usage`` adds at the end
    choice = event.choices[0]
    delta = choice.delta.content if choice.delta is not None else None
    return delta or "", choice.finish_reason


def event_usage(event: Any) -> tuple[int, int] | None:
    """(prompt, completion) tokens when this chunk reports usage, else None."""
    usage = getattr(event, "usage", None)
    if usage is None:
        return None
    return usage.prompt_tokens or 0, usage.completion_tokens or 0


def read_to_first_text(stream: Any) -> list[Any]:
    """The chunks of an open stream up to the first that carries text (all, if none does).

    Reading this far is what a retry can still repeat unseen; the stream is closed when it
    fails, so a retried attempt never leaves a connection behind.
    """
    head: list[Any] = []
    try:
        while (event := next(stream, None)) is not None:
            head.append(event)
            if event_text(event)[0]:
                break
    except BaseException:
        stream.close()
        raise
    return head


def chain_events(head: list[Any], stream: Any) -> Generator[Any, None, None]:
    """The chunks ``read_to_first_text`` read, then the rest of the stream."""
    yield from head
    while (event := next(stream, None)) is not None:
        yield event
