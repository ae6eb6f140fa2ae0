"""Few-shot classification of calls from their nearest labeled calls (no LLM needed).

A call is seen the same way whether it is stored or new (``ingest.turns``): its turns'
``Speaker: text`` vectors summed by length into one call vector (``call_vector``), BM25 of its
opening (``opening_line``: the first thing the customer says) and BM25 of the whole call. Its k
nearest labeled calls by the call vector and by the opening each vote for their primary label
with a weight that falls off with distance (softmax over similarity); the two votes are mixed
(``classify.dense_weight``: dense carries English meaning, BM25 exact words and, offline, all
of Chinese). A logistic-regression :class:`~retrieval.classify.label_model.LabelModel` fitted
on every labeled call (call vector, BM25, Chinese characters) is blended in
(``classify.model_weight``); its per-label models add secondary labels when the labeled calls
have several. The answer's confidence is calibrated on the labeled calls themselves, and below a
threshold learned with it the answer is ``unknown`` (``retrieval.classify.unknown``). The
neighbours used are returned, so a person (or the LLM path) can see why.

A stored call is classified from the vectors the index already holds (nothing embedded again);
a new call's turns are embedded once.
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

from app.core.config import ClassifySettings, IndexSettings
from app.core.errors import InputError
from app.core.models import Transcript
from app.core.text import call_text, has_cjk
from ingest.sources import parse_text_turns
from ingest.turns import CALL_TEXT_CHARS, call_vector, opening_line, turn_units
from retrieval.classify.label_model import LabeledVector, LabelModel, fingerprint, item_key
from retrieval.classify.unknown import (
    UNKNOWN,
    Calibration,
    calibration_folds,
    evidence,
    fit_calibration,
)
from retrieval.index.embedding import Embedder
from retrieval.index.sparse import Bm25Encoder
from retrieval.index.store import SPARSE_OPENING, Hit, SparseVec, VectorStore

log = logging.getLogger(__name__)

__all__ = ["UNKNOWN", "CallView", "Classification", "KnnClassifier", "Neighbour"]

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


@dataclass(frozen=True)
class CallView:
    """A call as the classifier sees it: what a stored call point holds."""

    dense: np.ndarray
    sparse: SparseVec
    opening: SparseVec
    #: ``Speaker: text`` lines (cut at ``ingest.turns.CALL_TEXT_CHARS``).
    text: str
    chinese: bool


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
    #: Best labels with their calibrated confidence (also when the answer is ``unknown``).
    candidates: list[tuple[str, float]] = field(default_factory=list)
    #: The evidence the confidence was computed from (``unknown.EVIDENCE``).
    evidence: np.ndarray | None = field(default=None, repr=False)


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
        index: IndexSettings | None = None,
    ) -> None:
        self.calls = calls
        self.embedder = embedder
        self.sparse = sparse
        self.settings = settings
        #: How stored calls were cut into turn units at ingest: new calls the same.
        self.index = index or IndexSettings()
        self._model: LabelModel | None = None
        self._calibration: Calibration | None = None
        self._vote_only = False  # the cached calibration is of the vote alone (no model fitted)
        # When the labels were last checked: the store's write count and the clock.
        self._checked: tuple[int, float] | None = None
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------------------
    def classify_texts(
        self, texts: Sequence[str], *, exclude: Sequence[str | None] | None = None
    ) -> list[Classification]:
        """Classify call transcripts (``Speaker: text`` lines or plain text); ``exclude[i]``
        is a call id that must not vote for text i (a stored call classified again).

        A new call goes through the same functions as a stored call at ingest (its turn units
        embedded once, ``call_vector``, ``opening_line``), so the two are comparable."""
        calls = self.call_views(texts)
        return self.classify_views(calls, exclude=exclude)

    def classify_stored(self, call_ids: Sequence[str]) -> list[Classification]:
        """Classify calls already in the store from the vectors it holds (nothing is embedded);
        a call never votes for itself. Unknown ids are an ``InputError``."""
        found = {
            point.payload["call_id"]: _stored_view(point)
            for point in self.calls.scroll({"call_id": list(call_ids)}, with_vectors=True)
            if point.dense is not None
        }
        missing = [c for c in call_ids if c not in found]
        if missing:
            raise InputError(f"no call point for {', '.join(map(repr, missing[:5]))}")
        return self.classify_views([found[c] for c in call_ids], exclude=list(call_ids))

    def call_view(self, text: str) -> CallView:
        """A new call as the classifier sees it (one embedding pass over its turns)."""
        return self.call_views([text])[0]

    def call_views(self, texts: Sequence[str]) -> list[CallView]:
        """New calls as the classifier sees them; all their turns embedded in one pass."""
        transcripts = [Transcript(parse_text_turns(t)) for t in texts]
        units = [turn_units(tr, self.index) for tr in transcripts]
        lines = [u.line for us in units for u in us]
        vectors = self.embedder.embed(lines) if lines else np.zeros((0, self.embedder.dim))
        calls = [call_text(tr)[:CALL_TEXT_CHARS] for tr in transcripts]
        sparse = self.sparse.encode_documents(calls)
        openings = self.sparse.encode_documents([opening_line(us) for us in units])
        out, n = [], 0
        for us, text, sv, opening in zip(units, calls, sparse, openings, strict=True):
            if us:
                dense = call_vector(us, vectors[n : n + len(us)])
            else:  # no words at all: a zero vector matches nothing and votes for nothing
                dense = np.zeros(self.embedder.dim, dtype=np.float32)
            n += len(us)
            out.append(CallView(dense, sv, opening, text, has_cjk(text)))
        return out

    def classify_views(
        self, calls: Sequence[CallView], *, exclude: Sequence[str | None] | None = None
    ) -> list[Classification]:
        """Classify calls given their vectors; ``exclude[i]`` is a call id that must not vote
        for item i (leave-one-out)."""
        model, calibration = self._fitted() if self.settings.model_weight > 0 else (None, None)
        if model is None:
            calibration = self._calibration_only()
        return self._classify(calls, model, calibration, exclude=exclude)

    def _classify(
        self,
        calls: Sequence[CallView],
        model: LabelModel | None,
        calibration: Calibration | None,
        *,
        exclude: Sequence[str | None] | None = None,
        only: frozenset[str] | None = None,
    ) -> list[Classification]:
        """``only``: the calls that may vote (calibration folds); None = every labeled call."""
        probs = None
        x = None
        if model is not None and model.fitted and calls:
            x = model.features(
                [c.dense for c in calls], [c.sparse for c in calls], [c.text for c in calls]
            )
            probs = model.probabilities(x)
        results = []
        for i, call in enumerate(calls):
            skip = exclude[i] if exclude else None
            neighbours = self.neighbours(call.dense, call.opening, skip=skip, only=only)
            results.append(
                self._decide(
                    neighbours,
                    model,
                    probs[i] if probs is not None else None,
                    call.chinese,
                    calibration,
                )
            )
        if model is not None and model.multi_label and probs is not None:
            extra = model.secondary(x, [r.label for r in results])
            for result, more in zip(results, extra, strict=True):
                if result.label != UNKNOWN:
                    result.labels = [result.label, *more]
        return results

    def neighbours(
        self,
        dense: np.ndarray,
        opening: SparseVec,
        *,
        skip: str | None = None,
        only: frozenset[str] | None = None,
    ) -> list[Neighbour]:
        """The k nearest labeled calls by the call vector and by BM25 of the opening, each list
        best first (``only``: among these calls)."""
        k = self.settings.k
        # Over-fetch: unlabeled, held-back and skipped calls are dropped after the query (and,
        # in calibration folds, calls outside ``only``: a filter on thousands of ids would make
        # each query several times slower than reading a few more hits).
        fetch = k * 2 + 2 if only is None else k * 4 + 2
        found = []
        if float(np.abs(dense).sum()) > 0:
            found += [("dense", h) for h in self.calls.query(dense=dense, limit=fetch)]
        if not opening.is_empty:
            hits = self.calls.query_fused([(SPARSE_OPENING, opening)], limit=fetch)
            found += [("bm25", h) for h in hits]
        out: list[Neighbour] = []
        taken: dict[str, int] = defaultdict(int)
        for via, hit in found:
            if taken[via] >= k or not _usable(hit, skip):
                continue
            if only is not None and hit.payload["call_id"] not in only:
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
        """The light model, refitted only when the labeled calls changed (see ``_fitted``)."""
        return self._fitted()[0]

    def calibration(self) -> Calibration | None:
        """How confidence is calibrated and where ``unknown`` starts (None: too few labels)."""
        if self.settings.model_weight > 0:
            return self._fitted()[1]
        return self._calibration_only()

    def _fitted(self) -> tuple[LabelModel, Calibration | None]:
        """The light model and the calibration, refitted only when the labeled calls changed.

        The labels are checked again only after a write through the store (or, on a store other
        processes share, every ``RECHECK_SECONDS``), so an API answering one classify request
        after another does not scroll every payload each time. The check reads payloads only;
        vectors are read just when a refit is due."""
        with self._lock:  # threads of one server share this classifier: one refit at a time
            model = self._current_model()
            return model, self._calibration

    def _calibration_only(self) -> Calibration | None:
        """With the light model off (``model_weight`` 0): the calibration of the vote alone."""
        with self._lock:
            self._current_model(fit_model=False)
            return self._calibration

    def _current_model(self, *, fit_model: bool = True) -> LabelModel:
        now = time.monotonic()
        writes = self.calls.writes
        if self._model is not None and self._checked is not None:
            seen, at = self._checked
            if seen == writes and (not self.calls.shared or now - at < RECHECK_SECONDS):
                return self._model
        current = fingerprint(
            (p.payload["call_id"], item_key(p.payload["labels"], str(p.payload.get("text", ""))))
            for p in self.calls.scroll()
            if _trainable(p.payload)
        )
        if (
            self._model is None
            or self._model.fingerprint != current
            or self._vote_only != (not fit_model)
        ):
            items, views = self._labeled_vectors()
            started = time.perf_counter()
            model = LabelModel().fit(items) if fit_model else LabelModel()
            model.fingerprint = current
            self._model, self._vote_only = model, not fit_model
            self._calibration = self._calibrate(items, views, fit_model=fit_model)
            log.info(
                "fitted label model and calibration on %d calls in %.1fs",
                len(items),
                time.perf_counter() - started,
            )
        # Only after a successful check: a failed scroll is retried at the next call.
        self._checked = (writes, now)
        return self._model

    # -- internals ---------------------------------------------------------------------
    def _labeled_vectors(self) -> tuple[list[LabeledVector], list[CallView]]:
        """Every trainable call, as the light model and as the classifier see it, in call-id
        order: the store's scroll order varies with how segments were built, and the
        calibration folds (and the fits) must not."""
        items, views = [], []
        points = sorted(self.calls.scroll(with_vectors=True), key=lambda p: p.payload["call_id"])
        for point in points:
            if _trainable(point.payload) and point.dense is not None:
                view = _stored_view(point)
                items.append(
                    LabeledVector(
                        call_id=point.payload["call_id"],
                        label=point.payload["labels"][0],
                        dense=view.dense,
                        sparse=point.sparse,
                        text=view.text,
                        labels=tuple(point.payload["labels"]),
                    )
                )
                views.append(view)
        return items, views

    def _calibrate(
        self, items: Sequence[LabeledVector], views: Sequence[CallView], *, fit_model: bool
    ) -> Calibration | None:
        """Classify every labeled call out of sample and learn P(right) from the answers.

        The folds (``unknown.calibration_folds``) hold out a fifth of each label's calls *and*
        a fifth of the labels: a held-out label's calls are classified by a model (and
        neighbours) that never saw the label, so they stand in for calls of a new reason."""
        rows, right, outside = [], [], []
        for train, held, new_reason in calibration_folds([i.label for i in items]):
            model = LabelModel().fit([items[i] for i in train]) if fit_model else None
            found = self._classify(
                [views[i] for i in held],
                model,
                None,
                only=frozenset(items[i].call_id for i in train),
            )
            for i, stand_in, answer in zip(held, new_reason, found, strict=True):
                if answer.evidence is None:
                    continue
                rows.append(answer.evidence)
                right.append(answer.label == items[i].label)
                outside.append(stand_in)
        if not rows:
            return None
        return fit_calibration(np.vstack(rows), np.array(right), np.array(outside))

    def _decide(
        self,
        neighbours: list[Neighbour],
        model: LabelModel | None,
        probs: np.ndarray | None,
        chinese: bool = False,
        calibration: Calibration | None = None,
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
        found = evidence(ranked, probs, vote, neighbours)
        best, top = ranked[0]
        if calibration is not None:
            confidence = float(calibration.confidence(found)[0])
            threshold = (
                calibration.threshold_for(s.false_unknown_rate)
                if s.min_confidence is None
                else s.min_confidence
            )
        else:  # too few labels to calibrate: the blended score, and only a fixed threshold
            confidence, threshold = float(top), s.min_confidence or 0.0
        label, decided_by, flags = best, "knn", []
        if confidence < threshold:
            label, decided_by, flags = UNKNOWN, "abstain", ["low_confidence"]
        # Other labels' confidences: the best one's, scaled by their blended score.
        candidates = [
            (lab, round(confidence * v / top, 4) if top else 0.0) for lab, v in ranked[:3]
        ]
        return Classification(
            label=label,
            confidence=round(confidence, 4),
            labels=[label] if label != UNKNOWN else [],
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
                "calibrated": calibration is not None,
                "unknown_below": round(float(threshold), 4),
                "timestamp": time.time(),
            },
            candidates=candidates,
            evidence=found,
        )


def _stored_view(point: Any) -> CallView:
    """A stored call point as the classifier sees it."""
    text = str(point.payload.get("text", ""))
    return CallView(
        dense=np.asarray(point.dense, dtype=np.float32),
        sparse=point.sparse or SparseVec([], []),
        opening=point.more.get(SPARSE_OPENING) or SparseVec([], []),
        text=text,
        chinese=has_cjk(text),
    )


def _trainable(payload: dict[str, Any]) -> bool:
    """A labeled call that is not held back: it may vote and train the light model."""
    return bool(payload.get("labels")) and payload.get("split") != _HELD_BACK


def _usable(hit: Hit, skip: str | None) -> bool:
    return _trainable(hit.payload) and (skip is None or hit.payload.get("call_id") != skip)


def neighbour_vote(
    neighbours: list[Neighbour], temperature: float, dense_weight: float
) -> dict[str, float]:
    """Primary-label distribution: a softmax-weighted vote per source, mixed by
    ``dense_weight``."""
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
            # A neighbour votes for its primary label only (measured: splitting its vote over
            # all its labels blurs the first reason; secondary labels have their own models).
            if n.labels:
                mixed[n.labels[0]] += share * float(w)
    present = {n.via for n in neighbours}
    total = sum(mixed.values())
    if total and present != {"dense", "bm25"}:
        mixed = defaultdict(float, {k: v / total for k, v in mixed.items()})
    return dict(mixed)
