"""Search and ask: the one place that turns a query, a :class:`CallFilter` and a depth into
passages or a cited answer. The CLI, the API, the UI and the retrieval eval call these."""

from __future__ import annotations

from collections.abc import Iterator

from app.runtime import Runtime
from retrieval.index.filters import CallFilter
from retrieval.qa.engine import Answer
from retrieval.search import SearchResult

__all__ = ["Answer", "CallFilter", "SearchResult", "ask", "ask_stream", "search"]


def search(
    runtime: Runtime,
    query: str,
    *,
    filters: CallFilter | None = None,
    k: int = 10,
    mode: str | None = None,
    expand: bool | None = None,
) -> SearchResult:
    """Hybrid (dense + BM25) search over call passages, best first."""
    return runtime.searcher().search(query, filters=filters, k=k, mode=mode, expand=expand)


def ask_stream(
    runtime: Runtime,
    question: str,
    *,
    filters: CallFilter | None = None,
    k: int = 8,
    history: list[tuple[str, str]] | None = None,
) -> Iterator[str | Answer]:
    """Answer text as the LLM writes it (nothing without an LLM), then the cited
    :class:`Answer`. ``history`` = earlier (question, answer) pairs of a conversation."""
    yield from runtime.qa(k=k, filters=filters).stream(question, history)


def ask(
    runtime: Runtime,
    question: str,
    *,
    filters: CallFilter | None = None,
    k: int = 8,
    history: list[tuple[str, str]] | None = None,
) -> Answer:
    """The whole cited answer at once."""
    return runtime.qa(k=k, filters=filters).ask(question, history)
