"""How fast the endpoint answers, learned from its answers, and the timeout that follows.

One fixed timeout cannot fit every endpoint: a hosted model answers a classification prompt in
a second or two, the bundled 1.5B model on two CPU cores reads ~39 prompt tokens and writes
~6.5 tokens a second (docs/benchmarks.md), so a long call's prompt takes it a minute and a
summary two. The client therefore gives each request the larger of ``LLM__TIMEOUT`` and a few
times what the endpoint's measured pace says the request needs (its prompt's tokens and the
tokens it may write), and a request that timed out is retried with twice the time: a slow
model is waited for, a dead one still fails (at most ``CEILING`` times the setting).
"""

from __future__ import annotations

import threading

#: A written token costs about as much as this many prompt tokens (llama.cpp on CPU: 39 read
#: and 6.5 written a second for the 1.5B, 45 and 10 for the 0.5B).
WRITTEN = 6
#: A request may take this many times the time its pace predicts.
MARGIN = 3.0
#: The longest a request is given, as a multiple of the configured timeout.
CEILING = 10.0
#: The weight of the newest answer in the running pace.
_NEWEST = 0.3


class Pace:
    """Seconds per token of an endpoint (prompt tokens plus :data:`WRITTEN` per written
    token), a running mean of its answers; thread-safe."""

    def __init__(self, timeout: float) -> None:
        self.floor = timeout
        self.seconds_per_token: float | None = None
        self._lock = threading.Lock()

    def observe(self, seconds: float, prompt_tokens: int, written_tokens: int) -> None:
        """One answered request: how long it took and its tokens (from the server's usage)."""
        units = prompt_tokens + WRITTEN * written_tokens
        if units <= 0 or seconds <= 0:
            return
        rate = seconds / units
        with self._lock:
            known = self.seconds_per_token
            self.seconds_per_token = rate if known is None else known + _NEWEST * (rate - known)

    def timeout(self, prompt_tokens: int, max_tokens: int, attempt: int = 1) -> float:
        """Seconds to give a request of ``prompt_tokens`` that may write ``max_tokens``, on its
        ``attempt``-th try (each retry after a timeout gets twice the time)."""
        rate = self.seconds_per_token
        expected = 0.0 if rate is None else rate * (prompt_tokens + WRITTEN * max_tokens)
        seconds = max(self.floor, MARGIN * expected) * 2 ** max(0, attempt - 1)
        return min(seconds, CEILING * self.floor)
