"""Searching call passages: dense, BM25, or both fused with reciprocal-rank fusion in Qdrant.

Dense vectors find paraphrases ("money back" for "refund"); BM25 finds exact words, order
numbers and, with the Multilingual tokenizer, Chinese words the English MiniLM cannot embed.
Qdrant fuses the two candidate lists (RRF) on the engine side, with the same payload filter on
both. Each hit can bring the chunks just before and after it, so an answer that starts in the
previous exchange is not lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.config import SearchSettings
from app.core.text import has_cjk
from retrieval.index.embedding import Embedder
from retrieval.index.filters import CallFilter
from retrieval.index.sparse import Bm25Encoder
from retrieval.index.store import Hit, SparseVec, VectorStore


@dataclass
class Passage:
    """A retrieved chunk of a call, with what a citation needs."""

    call_id: str
    chunk_index: int
    text: str
    start: float | None
    end: float | None
    speakers: list[str]
    labels: list[str]
    turn_ids: list[int]
    score: float
    date: str | None = None
    #: Neighbouring chunks brought by expansion (chunk_index -> text), not ranked themselves.
    context: dict[int, str] = field(default_factory=dict)
    context_turn_ids: list[int] = field(default_factory=list)
    #: ``turn_ids`` most relevant to the query first (set for the top hits; else turn order).
    focus: list[int] = field(default_factory=list)

    @property
    def ranked_turn_ids(self) -> list[int]:
        return self.focus or self.turn_ids

    @property
    def citation(self) -> str:
        """``call 123 @ 01:02–01:30 (agent, customer)``"""
        when = f" @ {clock(self.start)}–{clock(self.end)}" if self.start is not None else ""
        return f"call {self.call_id}{when} ({', '.join(self.speakers)})"


@dataclass
class SearchResult:
    passages: list[Passage]
    #: Best dense cosine and best BM25 score seen, for the weak-retrieval guard.
    best_dense: float | None
    best_bm25: float | None
    weak: bool


class Searcher:
    """Hybrid search over the chunk collection."""

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        sparse: Bm25Encoder,
        settings: SearchSettings,
    ) -> None:
        self.store = store
        self.embedder = embedder
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
    ) -> SearchResult:
        s = self.settings
        if isinstance(filters, CallFilter):
            filters = filters.spec()
        mode = mode or s.mode
        expand = s.expand if expand is None else expand
        dense = self.embedder.embed([query], query=True)[0] if mode != "sparse" else None
        sparse = self.sparse.encode_query(query) if mode != "dense" else None
        if sparse is not None and sparse.is_empty:
            sparse = None
        if dense is None and sparse is None:
            return SearchResult([], None, None, weak=True)
        hits = self.store.query(
            dense=dense,
            sparse=sparse,
            filter=filters or None,
            limit=k,
            prefetch_limit=max(s.prefetch_limit, k),
            rrf_k=s.rrf_k,
        )
        # The fused scores are ranks, not relevance: probe each side's best raw score once
        # for the "is anything here at all" guard.
        best_dense = best_bm25 = None
        if dense is not None:
            top = hits if sparse is None else self.store.query(dense=dense, filter=filters, limit=1)
            best_dense = top[0].score if top else None
        if sparse is not None:
            top = (
                hits if dense is None else self.store.query(sparse=sparse, filter=filters, limit=1)
            )
            best_bm25 = top[0].score if top else None
        passages = [to_passage(h) for h in hits]
        self._focus(query, dense, sparse, passages[: s.focus_top])
        if expand:
            self._expand(passages)
        # The bundled MiniLM puts any two Chinese texts close together, so for Chinese
        # queries only a BM25 match counts as evidence that something relevant exists.
        dense_ok = best_dense is not None and best_dense >= s.min_dense_score and not has_cjk(query)
        bm25_ok = best_bm25 is not None and best_bm25 >= s.min_bm25_score
        weak = not passages or not (dense_ok or bm25_ok)
        return SearchResult(passages, best_dense, best_bm25, weak)

    def _focus(
        self, query: str, dense: Any, sparse: SparseVec | None, passages: list[Passage]
    ) -> None:
        """Order each top hit's turns by relevance, so the turn that answers comes first.

        A chunk holds several turns; in turn order the greeting would come before the answer.
        Each line (one turn) is scored by dense similarity to the query plus its BM25 term
        overlap with the query, relative to the best line of the chunk."""
        todo = [
            p
            for p in passages
            if len(p.turn_ids) > 1 and len(p.text.splitlines()) == len(p.turn_ids)
        ]
        if not todo:
            return
        lines = [line for p in todo for line in p.text.splitlines()]
        if dense is None:
            dense = self.embedder.embed([query], query=True)[0]
        vectors = self.embedder.embed(lines)
        cos = vectors @ np.asarray(dense, dtype=np.float32)
        lexical = np.zeros(len(lines), dtype=np.float32)
        if sparse is not None:
            weights = dict(zip(sparse.indices, sparse.values, strict=True))
            for i, sv in enumerate(self.sparse.encode_documents(lines)):
                lexical[i] = sum(
                    weights.get(t, 0.0) * v for t, v in zip(sv.indices, sv.values, strict=True)
                )
        n = 0
        for p in todo:
            m = len(p.turn_ids)
            lex = lexical[n : n + m]
            score = cos[n : n + m] + (lex / lex.max() if lex.max() > 0 else 0.0) * 0.3
            p.focus = [p.turn_ids[i] for i in np.argsort(-score, kind="stable")]
            n += m

    def _expand(self, passages: list[Passage]) -> None:
        """Attach each hit's neighbouring chunks (one before, one after) from the same call."""
        wanted: dict[str, set[int]] = {}
        for p in passages:
            wanted.setdefault(p.call_id, set()).update({p.chunk_index - 1, p.chunk_index + 1})
        chunks: dict[tuple[str, int], Any] = {}
        for call_id, indexes in wanted.items():
            for point in self.store.scroll({"call_id": call_id}):
                if point.payload.get("chunk_index") in indexes:
                    chunks[(call_id, point.payload["chunk_index"])] = point.payload
        for p in passages:
            for i in (p.chunk_index - 1, p.chunk_index + 1):
                payload = chunks.get((p.call_id, i))
                if payload:
                    p.context[i] = payload["text"]
                    p.context_turn_ids.extend(
                        t for t in payload.get("turn_ids", []) if t not in p.turn_ids
                    )


def to_passage(hit: Hit) -> Passage:
    p = hit.payload
    return Passage(
        call_id=p["call_id"],
        chunk_index=int(p.get("chunk_index", 0)),
        text=p.get("text", ""),
        start=p.get("start"),
        end=p.get("end"),
        speakers=list(p.get("speakers") or []),
        labels=list(p.get("labels") or []),
        turn_ids=list(p.get("turn_ids") or []),
        score=hit.score,
        date=p.get("date"),
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
