"""Search and ask: the one place that turns a query, a :class:`CallFilter` and a depth into
passages or a cited answer. The CLI, the API, the UI and the retrieval eval call these.

A question that names a time ("what happened with this customer in May?", "上周的退款电话") has
the turns of those days ranked first, or only those (``search.dates_from_question``), unless the
filters already give dates: the range and the words that named it come back in
``SearchResult.dates``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date

from app.core.dates import DateSpan, question_dates
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
    """Hybrid (dense + BM25) search over the turns of the calls, best first."""
    filters, first, span = _with_question_dates(runtime, query, filters)
    result = runtime.searcher().search(
        query, filters=filters, k=k, mode=mode, expand=expand, first=first
    )
    result.dates = span
    return result


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
    filters, first, _ = _with_question_dates(runtime, question, filters)
    yield from runtime.qa(k=k, filters=filters, first=first).stream(question, history)


def ask(
    runtime: Runtime,
    question: str,
    *,
    filters: CallFilter | None = None,
    k: int = 8,
    history: list[tuple[str, str]] | None = None,
) -> Answer:
    """The whole cited answer at once."""
    filters, first, _ = _with_question_dates(runtime, question, filters)
    return runtime.qa(k=k, filters=filters, first=first).ask(question, history)


def _with_question_dates(
    runtime: Runtime, question: str, filters: CallFilter | None
) -> tuple[CallFilter | None, CallFilter | None, DateSpan | None]:
    """(filters, turns to rank first, the days the question named)."""
    how = runtime.settings.search.dates_from_question
    if how == "off" or (filters is not None and (filters.date_from or filters.date_to)):
        return filters, None, None  # off, or the caller's dates win
    span = question_dates(question, date.today())
    if span is None:
        return filters, None, None
    if how == "filter":
        return replace(filters or CallFilter(), date_from=span.start, date_to=span.end), None, span
    return filters, CallFilter(date_from=span.start, date_to=span.end), span
