"""Searching the turn index: dense, BM25, or both fused with reciprocal-rank fusion in Qdrant.

Every turn of every call is a point whose vectors were computed once at ingest (the turn in its
context for the dense vector, its words for BM25: ``ingest/turns.py``), so a search costs one
embedding of the query and engine queries, whatever the length of the calls. Dense vectors find
paraphrases ("money back" for "refund"); BM25 finds exact words, order numbers and, with the
Multilingual tokenizer, Chinese words the English MiniLM cannot embed. Qdrant fuses the two
candidate lists (RRF) on the engine side, with the same payload filter on both. A hit can bring
the turns around it (expansion: a lookup by call and turn number, no embedding).

Turns with no content (filler such as "好的，麻烦你了。", the greeting and closing script, lines
that recur in most calls: ``app/core/filler.py``) are ranked after the turns with content: twice
``k`` candidates are fused, the content-free ones move to the end, ``k`` are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.config import SearchSettings
from app.core.dates import DateSpan
from app.core.filler import is_filler
from app.core.filters import CallFilter
from app.core.text import has_cjk
from retrieval.index.embedding import Embedder, profile_of
from retrieval.index.sparse import Bm25Encoder
from retrieval.index.store import (
    DENSE,
    DENSE_CONTEXT,
    DENSE_PREVIOUS,
    SPARSE,
    SPARSE_CONTEXT,
    SPARSE_PREVIOUS,
    Hit,
    VectorStore,
)
from retrieval.index.turn_points import TurnPoint


@dataclass
class Passage:
    """A retrieved turn of a call (or a piece of a long turn), with what a citation needs."""

    call_id: str
    #: The turn's position in the call's transcript.
    turn: int
    #: ``Speaker: words``.
    text: str
    start: float | None
    end: float | None
    speakers: list[str]
    labels: list[str]
    score: float
    date: str | None = None
    #: Piece of a long turn (0 for a whole turn).
    part: int = 0
    session: int = 0
    #: The turns around it brought by expansion (turn -> ``Speaker: words``), not ranked.
    context: dict[int, str] = field(default_factory=dict)
    #: Filler or boilerplate: ranked after the passages with content, never cited by Ask when
    #: anything else was found.
    content_free: bool = False

    @property
    def words(self) -> str:
        """The turn's words without the ``Speaker:`` in front (the speaker is shown apart)."""
        if len(self.speakers) == 1:
            head = f"{self.speakers[0]}:"
            if self.text[: len(head)].lower() == head.lower():
                return self.text[len(head) :].strip()
        return self.text

    @property
    def turn_ids(self) -> list[int]:
        return [self.turn]

    @property
    def ranked_turn_ids(self) -> list[int]:
        return [self.turn]

    @property
    def context_turn_ids(self) -> list[int]:
        return sorted(t for t in self.context if t != self.turn)

    @property
    def citation(self) -> str:
        """``call 123 @ 01:02–01:30 (agent)``"""
        when = f" @ {clock(self.start)}–{clock(self.end)}" if self.start is not None else ""
        return f"call {self.call_id}{when} ({', '.join(self.speakers)})"


@dataclass
class SearchResult:
    passages: list[Passage]
    #: Best dense cosine and best BM25 score seen, for the weak-retrieval guard.
    best_dense: float | None
    best_bm25: float | None
    weak: bool
    #: The date range the query itself named and that was applied as a filter, with the words
    #: that named it (``services.search``), or None.
    dates: DateSpan | None = None


class Searcher:
    """Hybrid search over the turn index."""

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        sparse: Bm25Encoder,
        settings: SearchSettings,
    ) -> None:
        self.store = store
        self.embedder = embedder
        #: How to read its similarities (its range; whether its vectors carry Chinese).
        self.profile = profile_of(embedder.model_id)
        self.sparse = sparse
        self.settings = settings

    def search(
        self,
        query: str,
        *,
        filters: CallFilter | Mapping[str, Any] | None = None,
        k: int = 10,
        mode: str | None = None,
        expand: bool | None = None,
        first: CallFilter | Mapping[str, Any] | None = None,
        demote: Callable[[str], bool] | None = is_filler,
    ) -> SearchResult:
        """The ``k`` best turns matching ``filters``; those also matching ``first`` (the days a
        question names) come first, the rest fill the list (nothing is lost to a date the
        question meant as the time of an event rather than of the call). Turns whose text
        ``demote`` calls content-free come after the others (None: no such ranking)."""
        s = self.settings
        if isinstance(filters, CallFilter):
            filters = filters.spec()
        if isinstance(first, CallFilter):
            first = first.spec()
        mode = mode or s.mode
        expand = s.expand if expand is None else expand
        dense = self.embedder.embed([query], query=True)[0] if mode != "sparse" else None
        sparse = self.sparse.encode_query(query) if mode != "dense" else None
        if sparse is not None and sparse.is_empty:
            sparse = None
        if dense is None and sparse is None:
            return SearchResult([], None, None, weak=True)
        searches: list[tuple[str, Any]] = []
        if dense is not None:
            searches += [(DENSE, dense), (DENSE_CONTEXT, dense)]
            previous = s.dense_previous
            if previous == "always" or (previous == "chinese" and has_cjk(query)):
                searches.append((DENSE_PREVIOUS, dense))
        if sparse is not None:
            searches += [(SPARSE, sparse), (SPARSE_PREVIOUS, sparse), (SPARSE_CONTEXT, sparse)]
        meaning: list[tuple[str, Any]] = []
        if dense is not None and sparse is not None and self._meaning_first(query):
            if isinstance((filters or {}).get("call_id"), str):
                # One call: its names are in every turn, what was asked is not; the context
                # vector blurs a call's neighbouring turns together (measured: it costs here).
                searches = [(DENSE, dense), (DENSE_PREVIOUS, dense)]
            else:
                # The turn's own meaning counts twice, what it answers once: a question about
                # what the customer said must not rank the agent's reply (whose previous turn
                # it is) level with it (measured on both kinds of question).
                meaning = [(DENSE, dense)] * 2 + [(DENSE_CONTEXT, dense), (DENSE_PREVIOUS, dense)]

        # Spare candidates to take the places of the content-free turns moved down.
        depth = 2 * k if demote is not None else k

        def fused(spec: Mapping[str, Any] | None, lists: list[tuple[str, Any]]) -> list[Hit]:
            hits = self.store.query_fused(
                lists,
                filter=spec or None,
                limit=depth,
                prefetch_limit=max(s.prefetch_limit, depth),
                rrf_k=s.rrf_k,
            )
            # RRF scores tie whenever two turns swap ranks between lists, and the engine
            # orders ties arbitrarily: a fixed order keeps the same question's answer the same.
            return sorted(hits, key=_rank_key)

        def ranked(spec: Mapping[str, Any] | None) -> list[Hit]:
            hits = fused(spec, searches)
            if not meaning or not hits:
                return hits
            # Across calls the words (place and product names) find the call, the meaning
            # finds the reply in it: the best calls' turns by meaning come first.
            calls = list(dict.fromkeys(TurnPoint.of(h.payload).call_id for h in hits))
            best = fused({**(spec or {}), "call_id": calls[: s.meaning_first_calls]}, meaning)
            seen = {h.id for h in best}
            return (best + [h for h in hits if h.id not in seen])[:depth]

        hits = ranked(filters)
        if first:
            preferred = ranked({**(filters or {}), **first})
            seen = {h.id for h in preferred}
            hits = (preferred + [h for h in hits if h.id not in seen])[:depth]
        # The fused scores are ranks, not relevance: probe each side's best raw score once
        # for the "is anything here at all" guard.
        best_dense = best_bm25 = None
        if dense is not None:
            top = self.store.query(dense=dense, filter=filters, limit=1)
            best_dense = top[0].score if top else None
        if sparse is not None:
            top = self.store.query(sparse=sparse, filter=filters, limit=1)
            best_bm25 = top[0].score if top else None
        passages = [to_passage(h) for h in hits]
        if demote is not None:
            passages = content_first(passages, demote)[:k]
        if expand:
            self._expand(passages)
        # Read on the model's similarity range. An English-only model (MiniLM) puts any two
        # Chinese texts close together: for Chinese queries only a BM25 match counts then.
        profile = self.profile
        dense_ok = (
            best_dense is not None
            and profile.relative(best_dense) >= s.min_dense_score
            and (profile.multilingual or not has_cjk(query))
        )
        bm25_ok = best_bm25 is not None and best_bm25 >= s.min_bm25_score
        weak = not passages or not (dense_ok or bm25_ok)
        return SearchResult(passages, best_dense, best_bm25, weak)

    def _meaning_first(self, query: str) -> bool:
        """Whether this question's turns are ranked by meaning first (``meaning_first``)."""
        wanted = self.settings.meaning_first
        if wanted == "chinese":
            return self.profile.multilingual and has_cjk(query)
        return wanted == "always"

    def _expand(self, passages: list[Passage]) -> None:
        """Attach the turns around each hit (``search.expand_turns`` before and after) from the
        same call: a payload lookup in the engine, nothing embedded."""
        around = self.settings.expand_turns
        wanted: dict[str, set[int]] = {}
        for p in passages:
            near = range(p.turn - around, p.turn + around + 1)
            wanted.setdefault(p.call_id, set()).update(t for t in near if t >= 0 and t != p.turn)
        found: dict[tuple[str, int], list[tuple[int, str]]] = {}
        for call_id, turns in wanted.items():
            spec = {"call_id": call_id, "turn": sorted(turns)}
            for point in self.store.scroll(spec):
                t = TurnPoint.of(point.payload)
                found.setdefault((call_id, t.turn), []).append((t.part, t.text))
        for p in passages:
            for t in range(p.turn - around, p.turn + around + 1):
                pieces = found.get((p.call_id, t))
                if pieces and t != p.turn:
                    p.context[t] = " ".join(text for _, text in sorted(pieces))


def content_first(passages: list[Passage], demote: Callable[[str], bool]) -> list[Passage]:
    """The passages with content in their order, then the content-free ones (marked)."""
    for p in passages:
        p.content_free = demote(p.text)
    return [p for p in passages if not p.content_free] + [p for p in passages if p.content_free]


def _rank_key(hit: Hit) -> tuple[float, str, int, int]:
    t = TurnPoint.of(hit.payload)
    return (-hit.score, t.call_id, t.turn, t.part)


def to_passage(hit: Hit) -> Passage:
    t = TurnPoint.of(hit.payload)
    return Passage(
        call_id=t.call_id,
        turn=t.turn,
        part=t.part,
        session=t.session,
        text=t.text,
        start=t.start,
        end=t.end,
        speakers=t.speakers,
        labels=t.labels,
        score=hit.score,
        date=t.date,
    )


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60:02d}:{rest % 60:02d}"


def span(start: float | None, end: float | None) -> str:
    """``mm:ss–mm:ss``, or empty for a passage without times (a call imported as plain text)."""
    if start is None and end is None:
        return ""
    return f"{clock(start)}–{clock(end)}"
