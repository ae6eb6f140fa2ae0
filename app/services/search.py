"""Search and ask: the one place that turns a query, a :class:`CallFilter` and a depth into
passages or a cited answer. The CLI, the API, the UI and the retrieval eval call these.

A question that names a time ("what happened with this customer in May?", "上周的退款电话") has
the turns of those days ranked first, or only those (``search.dates_from_question``), unless the
filters already give dates: the range and the words that named it come back in
``SearchResult.dates``.

Turns with no content are ranked after the others and not cited: filler and the greeting and
closing script by their words, and the collection's own boilerplate (lines most calls share,
``app.core.filler.Boilerplate``) learned from a sample of its calls, again when the number of
calls has changed by a tenth."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date

from app.core.dates import DateSpan, question_dates
from app.core.filler import Boilerplate, is_content_free
from app.core.filters import CallFilter
from app.runtime import Runtime
from retrieval.qa.engine import GENERATION_OFF, Answer, Citation, QAEngine, answer_dict
from retrieval.search import Passage, SearchResult, clock, span

# The faces (CLI, API, UI) take these types and formatters from here, never from retrieval.
__all__ = [
    "GENERATION_OFF",
    "Answer",
    "CallFilter",
    "Citation",
    "Passage",
    "SearchResult",
    "answer_dict",
    "ask",
    "ask_stream",
    "boilerplate",
    "clock",
    "search",
    "span",
]

#: Calls read to learn the collection's boilerplate (by id order, so a spread of them).
BOILERPLATE_SAMPLE = 500
_learned: weakref.WeakKeyDictionary[Runtime, tuple[int, Boilerplate]] = weakref.WeakKeyDictionary()
_learning = threading.Lock()


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
        query,
        filters=filters,
        k=k,
        mode=mode,
        expand=expand,
        first=first,
        demote=_content_free(runtime),
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
    yield from _qa(runtime, k, filters, first).stream(question, history)


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
    return _qa(runtime, k, filters, first).ask(question, history)


def boilerplate(runtime: Runtime) -> Boilerplate:
    """The lines most calls of a language in the collection share, learned from up to
    :data:`BOILERPLATE_SAMPLE` calls and learned again once the number of calls has changed
    by a tenth (what most calls say changes slowly; learning takes a fraction of a second)."""
    calls = runtime.calls
    count = calls.count()
    with _learning:
        known = _learned.get(runtime)
        if known is not None and abs(count - known[0]) <= known[0] // 10:
            return known[1]
        learned = Boilerplate.learn_by_language(
            (point.payload.get("language"), str(point.payload.get("text") or "").splitlines())
            for point in calls.scroll(limit=BOILERPLATE_SAMPLE)
        )
        _learned[runtime] = (count, learned)
        return learned


def _content_free(runtime: Runtime) -> Callable[[str], bool]:
    learned = boilerplate(runtime)
    return lambda text: is_content_free(text, learned)


def _qa(runtime: Runtime, k: int, filters: CallFilter | None, first: CallFilter | None) -> QAEngine:
    engine = runtime.qa(k=k, filters=filters, first=first)
    # The retriever is built for this question alone: it takes the collection's boilerplate.
    engine.retriever.demote = _content_free(runtime)
    return engine


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
