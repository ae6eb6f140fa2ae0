"""Few-shot classification of calls from their nearest labeled calls (no LLM needed).

A new call is embedded (dense) and BM25-encoded, its k nearest labeled calls are fetched from
the call-level collection by each, and every neighbour votes for its labels with a weight that
falls off with distance (softmax over similarity). The dense and BM25 votes are mixed
(``classify.dense_weight``): dense carries English meaning, BM25 carries exact words and all of
Chinese offline. A logistic-regression
:class:`~retrieval.classify.label_model.LabelModel` fitted on every labeled call is blended in
(``classify.model_weight``). Below ``classify.min_confidence`` the answer is ``unknown``. The
neighbours used are returned, so a person (or the LLM path) can see why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.config import ChunkingSettings, ClassifySettings
from app.core.models import Transcript
from app.core.text import has_cjk
from ingest.sources import parse_text_turns
from ingest.turns import call_vector, call_windows
from retrieval.classify.label_model import LabeledVector, LabelModel, fingerprint
from retrieval.index.embedding import Embedder
from retrieval.index.sparse import Bm25Encoder
from retrieval.index.store import Hit, SparseVec, VectorStore

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
#: Calls held back for evaluation never serve as neighbours or training examples.
_HELD_BACK = "test"


@dataclass(frozen=True)
class Neighbour:
    """A labeled call that voted, and how close it was."""

    call_id: str
    labels: list[str]
    score: float
    via: str  # "dense" or "bm25"
    text: str = ""


@dataclass
class Classification:
    """The answer for one call, with everything needed to audit it later."""

    label: str
    confidence: float
    labels: list[str]
    scores: dict[str, float]
    neighbours: list[Neighbour]
    decided_by: str  # "knn", "llm", "abstain"
    flags: list[str] = field(default_factory=list)
    #: The neighbours' vote alone (before the light model is blended in).
    vote: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)


#: How often the labels of a shared (server) collection are checked for changes made by other
#: processes; writes through this process are seen at once.
RECHECK_SECONDS = 30.0


class KnnClassifier:
    """Classifies calls against the labeled calls in the call-level collection."""

    def __init__(
        self,
        calls: VectorStore,
        embedder: Embedder,
        sparse: Bm25Encoder,
        settings: ClassifySettings,
        chunking: ChunkingSettings | None = None,
    ) -> None:
        self.calls = calls
        self.embedder = embedder
        self.sparse = sparse
        self.settings = settings
        #: How stored calls' vectors were made (``ingest.turns.call_windows``): new calls the same.
        self.chunking = chunking or ChunkingSettings()
        self._model: LabelModel | None = None
        # When the labels were last checked: the store's write count and the clock.
        self._checked: tuple[int, float] | None = None
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------------------
    def classify_texts(
        self, texts: Sequence[str], *, exclude: Sequence[str | None] | None = None
    ) -> list[Classification]:
        """Classify call transcripts (``Speaker: text`` lines or plain text); ``exclude[i]``
        is a call id that must not vote for text i (a stored call classified again).

        A new call's vector is built exactly as a stored call's was at ingest: its windows
        embedded and combined by ``ingest.turns.call_vector`` (a whole long call embedded as one
        text would be cut at the model's length and compare unlike with unlike)."""
        dense = self.call_vectors(list(texts))
        sparse = self.sparse.encode_documents(list(texts))
        chinese = [has_cjk(t) for t in texts]
        return self.classify_vectors(dense, sparse, exclude=exclude, chinese=chinese)

    def call_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Dense call vectors of call texts, through the same units and function as ingest."""
        windows = [call_windows(Transcript(parse_text_turns(t)), self.chunking) for t in texts]
        vectors = self.embedder.embed([w for ws in windows for w in ws])
        out, n = [], 0
        for ws in windows:
            out.append(call_vector(vectors[n : n + len(ws)]))
            n += len(ws)
        return np.vstack(out).astype(np.float32)

    def classify_vectors(
        self,
        dense: np.ndarray,
        sparse: Sequence[SparseVec],
        *,
        exclude: Sequence[str | None] | None = None,
        chinese: Sequence[bool] | None = None,
    ) -> list[Classification]:
        """Classify calls given their vectors; ``exclude[i]`` is a call id that must not vote
        for item i (leave-one-out); ``chinese[i]`` switches item i to the Chinese dense weight."""
        model = self.label_model() if self.settings.model_weight > 0 else None
        probs = model.predict(list(dense), list(sparse)) if model and model.fitted else None
        results = []
        for i in range(len(dense)):
            skip = exclude[i] if exclude else None
            neighbours = self.neighbours(dense[i], sparse[i], skip=skip)
            zh = bool(chinese[i]) if chinese else False
            results.append(
                self._decide(neighbours, model, probs[i] if probs is not None else None, zh)
            )
        return results

    def neighbours(
        self, dense: np.ndarray, sparse: SparseVec, *, skip: str | None = None
    ) -> list[Neighbour]:
        """The k nearest labeled calls by dense similarity and by BM25, each list best first."""
        k = self.settings.k
        # Over-fetch: unlabeled, held-back and skipped calls are dropped after the query.
        fetch = k * 2 + 2
        found = [("dense", h) for h in self.calls.query(dense=dense, limit=fetch)]
        if not sparse.is_empty:
            found += [("bm25", h) for h in self.calls.query(sparse=sparse, limit=fetch)]
        out: list[Neighbour] = []
        taken: dict[str, int] = defaultdict(int)
        for via, hit in found:
            if taken[via] >= k or not _usable(hit, skip):
                continue
            taken[via] += 1
            out.append(
                Neighbour(
                    call_id=hit.payload["call_id"],
                    labels=list(hit.payload["labels"]),
                    score=hit.score,
                    via=via,
                    text=str(hit.payload.get("text", "")),
                )
            )
        return out

    def label_model(self) -> LabelModel:
        """The light model, refitted only when the labeled calls changed.

        The labels are checked again only after a write through the store (or, on a store other
        processes share, every ``RECHECK_SECONDS``), so an API answering one classify request
        after another does not scroll every payload each time. The check reads payloads only;
        vectors are read just when a refit is due."""
        with self._lock:  # threads of one server share this classifier: one refit at a time
            return self._current_model()

    def _current_model(self) -> LabelModel:
        now = time.monotonic()
        writes = self.calls.writes
        if self._model is not None and self._checked is not None:
            seen, at = self._checked
            if seen == writes and (not self.calls.shared or now - at < RECHECK_SECONDS):
                return self._model
        current = fingerprint(
            (p.payload["call_id"], p.payload["labels"][0])
            for p in self.calls.scroll()
            if _trainable(p.payload)
        )
        if self._model is None or self._model.fingerprint != current:
            items = self._labeled_vectors()
            started = time.perf_counter()
            self._model = LabelModel().fit(items)
            log.info(
                "fitted label model on %d calls in %.1fs", len(items), time.perf_counter() - started
            )
        # Only after a successful check: a failed scroll is retried at the next call.
        self._checked = (writes, now)
        return self._model

    # -- internals ---------------------------------------------------------------------
    def _labeled_vectors(self) -> list[LabeledVector]:
        items = []
        for point in self.calls.scroll(with_vectors=True):
            if _trainable(point.payload) and point.dense is not None:
                items.append(
                    LabeledVector(
                        call_id=point.payload["call_id"],
                        label=point.payload["labels"][0],
                        dense=np.asarray(point.dense, dtype=np.float32),
                        sparse=point.sparse,
                    )
                )
        return items

    def _decide(
        self,
        neighbours: list[Neighbour],
        model: LabelModel | None,
        probs: np.ndarray | None,
        chinese: bool = False,
    ) -> Classification:
        s = self.settings
        dense_weight = s.dense_weight_chinese if chinese else s.dense_weight
        vote = neighbour_vote(neighbours, s.temperature, dense_weight)
        scores = dict(vote)
        if probs is not None and model is not None:
            w = s.model_weight
            scores = defaultdict(float, {label: (1 - w) * v for label, v in vote.items()})
            for label, p in zip(model.labels, probs, strict=True):
                scores[label] += w * float(p)
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if not ranked:
            return Classification(UNKNOWN, 0.0, [], {}, neighbours, "abstain", ["no_labeled_calls"])
        label, confidence = ranked[0]
        secondary = [lab for lab, v in ranked[1:] if v >= s.multi_label_threshold]
        decided_by = "knn"
        flags: list[str] = []
        if confidence < s.min_confidence:
            label, decided_by, flags = UNKNOWN, "abstain", ["low_confidence"]
        return Classification(
            label=label,
            confidence=round(float(confidence), 4),
            labels=[label, *secondary] if label != UNKNOWN else [],
            scores={lab: round(float(v), 4) for lab, v in ranked[:10]},
            neighbours=neighbours,
            decided_by=decided_by,
            flags=flags,
            vote={lab: round(float(v), 4) for lab, v in vote.items()},
            provenance={
                "embedding_model": self.embedder.model_id,
                "sparse_model": self.sparse.model_id,
                "label_model": model.fingerprint if model and model.fitted else None,
                "k": s.k,
                "timestamp": time.time(),
            },
        )


def _trainable(payload: dict[str, Any]) -> bool:
    """A labeled call that is not held back: it may vote and train the light model."""
    return bool(payload.get("labels")) and payload.get("split") != _HELD_BACK


def _usable(hit: Hit, skip: str | None) -> bool:
    return _trainable(hit.payload) and (skip is None or hit.payload.get("call_id") != skip)


def neighbour_vote(
    neighbours: list[Neighbour], temperature: float, dense_weight: float
) -> dict[str, float]:
    """Label distribution: a softmax-weighted vote per source, mixed by ``dense_weight``."""
    mixed: dict[str, float] = defaultdict(float)
    for via, share in (("dense", dense_weight), ("bm25", 1 - dense_weight)):
        group = [n for n in neighbours if n.via == via]
        if not group or share == 0:
            continue
        scores = np.array([n.score for n in group], dtype=np.float64)
        if via == "bm25":
            # BM25 scores have no fixed scale: compare them relative to the best match.
            scores = scores / (scores.max() or 1.0)
        weights = np.exp((scores - scores.max()) / temperature)
        weights /= weights.sum()
        for n, w in zip(group, weights, strict=True):
            for label in n.labels:
                mixed[label] += share * float(w) / len(n.labels)
    present = {n.via for n in neighbours}
    total = sum(mixed.values())
    if total and present != {"dense", "bm25"}:
        mixed = defaultdict(float, {k: v / total for k, v in mixed.items()})
    return dict(mixed)
