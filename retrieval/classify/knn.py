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
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from app.core.config import ClassifySettings, IndexSettings
from app.core.errors import InputError
from app.core.models import Transcript
from app.core.text import call_text, has_cjk
from ingest.sources import parse_text_turns
from ingest.turns import CALL_TEXT_CHARS, call_vector, opening_line, turn_units
from retrieval.classify.answer import Classification, decide
from retrieval.classify.label_model import LabeledVector, LabelModel, fingerprint, item_key
from retrieval.classify.unknown import UNKNOWN, Calibration, calibration_folds, fit_calibration
from retrieval.classify.views import CallView, stored_view, trainable
from retrieval.classify.vote import Neighbour, content_key, for_embedder, neighbour_vote
from retrieval.index.embedding import Embedder, profile_of
from retrieval.index.sparse import Bm25Encoder
from retrieval.index.store import SPARSE_OPENING, SparseVec, VectorStore

log = logging.getLogger(__name__)

__all__ = [
    "UNKNOWN",
    "CallView",
    "Classification",
    "KnnClassifier",
    "Neighbour",
    "content_key",
    "neighbour_vote",
]

#: How often the labels of a shared (server) collection are checked for changes made by other
#: processes; writes through this process are seen at once.
RECHECK_SECONDS = 30.0
#: Labeled calls classified together are scored by models that each leave out at most this
#: fraction (1/n) of the labeled calls: 10-fold cross-validation when all of them are.
LEAVE_OUT = 10


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
        #: Read for this embedder's similarities (its range, whether it understands Chinese).
        self.settings = for_embedder(settings, profile_of(embedder.model_id))
        #: How stored calls were cut into turn units at ingest: new calls the same.
        self.index = index or IndexSettings()
        self._model: LabelModel | None = None
        self._calibration: Calibration | None = None
        self._vote_only = False  # the cached calibration is of the vote alone (no model fitted)
        # The labeled calls the model was fitted on, their ids, and their ids by content
        # (``content_key``): what tells that a call being classified is one of them.
        self._items: tuple[LabeledVector, ...] = ()
        self._trained_ids: frozenset[str] = frozenset()
        self._by_content: dict[str, tuple[str, ...]] = {}
        # The last model fitted without some labeled calls: ((fingerprint, left out), model).
        self._left_out: tuple[tuple[str, frozenset[str]], LabelModel] | None = None
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

    def classify_stored(
        self, call_ids: Sequence[str], texts: Sequence[str] | None = None
    ) -> list[Classification]:
        """Classify calls already in the store from the vectors it holds (nothing is embedded);
        a call never votes for itself. A call whose point is missing (an interrupted ingest)
        is embedded from ``texts[i]`` when given, else it is an ``InputError``."""
        found = self.stored_views(call_ids)
        missing = [i for i, c in enumerate(call_ids) if c not in found]
        if missing and texts is None:
            names = ", ".join(repr(call_ids[i]) for i in missing[:5])
            raise InputError(f"no call point for {names}")
        if missing:
            views = self.call_views([texts[i] for i in missing])  # type: ignore[index]
            found.update((call_ids[i], v) for i, v in zip(missing, views, strict=True))
        return self.classify_views([found[c] for c in call_ids], exclude=list(call_ids))

    def stored_views(self, call_ids: Sequence[str]) -> dict[str, CallView]:
        """The stored calls among ``call_ids`` as the classifier sees them, by id (a call
        whose point is missing, e.g. after an interrupted ingest, is not there)."""
        return {
            point.payload["call_id"]: stored_view(point)
            for point in self.calls.scroll({"call_id": list(call_ids)}, with_vectors=True)
            if point.dense is not None
        }

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
        """Classify calls given their vectors. A call never votes for itself: ``exclude[i]`` is
        item i's own id (a stored call classified again), and labeled calls with the same
        content (``vote.content_key``: a stored call uploaded again under any name) are left
        out as well, from the neighbours and from the light model (fitted again without them)."""
        use_model = self.settings.model_weight > 0
        with self._lock:  # one consistent view of the labeled calls, refitted if they changed
            model = self._current_model(fit_model=use_model)
            calibration, by_content = self._calibration, self._by_content
        selves = [
            frozenset(c for c in (exclude[i] if exclude else None, *by_content.get(key, ())) if c)
            for i, key in enumerate(content_key(call.text) for call in calls)
        ]
        return self._classify(calls, model if use_model else None, calibration, selves=selves)

    def _classify(
        self,
        calls: Sequence[CallView],
        model: LabelModel | None,
        calibration: Calibration | None,
        *,
        selves: Sequence[frozenset[str]] | None = None,
        only: frozenset[str] | None = None,
    ) -> list[Classification]:
        """``selves[i]``: the labeled calls that are item i itself (they neither vote for it nor
        train the model that scores it); ``only``: the calls that may vote (calibration folds),
        None = every labeled call."""
        selves = selves or [frozenset()] * len(calls)
        scorers = self._scorers(model, selves)
        probs: list[np.ndarray | None] = [None] * len(calls)
        features: dict[int, Any] = {}
        for scorer, idx in _grouped(scorers):
            if scorer is None or not scorer.fitted:
                continue
            x = scorer.features(
                [calls[i].dense for i in idx],
                [calls[i].sparse for i in idx],
                [calls[i].text for i in idx],
            )
            features[id(scorer)] = x
            for i, row in zip(idx, scorer.probabilities(x), strict=True):
                probs[i] = row
        results = []
        for i, call in enumerate(calls):
            neighbours = self.neighbours(call.dense, call.opening, skip=selves[i], only=only)
            result = self._decide(neighbours, scorers[i], probs[i], call.chinese, calibration)
            if selves[i] & self._trained_ids:
                result.provenance["not_voting"] = sorted(selves[i] & self._trained_ids)
            results.append(result)
        for scorer, idx in _grouped(scorers):
            if scorer is None or not scorer.multi_label or id(scorer) not in features:
                continue
            extra = scorer.secondary(features[id(scorer)], [results[i].label for i in idx])
            for i, more in zip(idx, extra, strict=True):
                if results[i].label != UNKNOWN:
                    results[i].labels = [results[i].label, *more]
        return results

    def _scorers(
        self, model: LabelModel | None, selves: Sequence[frozenset[str]]
    ) -> list[LabelModel | None]:
        """The light model that scores each item: the one fitted on every labeled call, or for
        items that are labeled calls themselves, one fitted without them (a model fitted on a
        call knows its label by heart: that would be the call voting for itself). Many labeled
        calls at once are scored as in cross-validation: each model leaves out at most a
        ``LEAVE_OUT``-th of the labeled calls, so it still saw most of the others."""
        scorers: list[LabelModel | None] = [model] * len(selves)
        if model is None or not model.fitted:
            return scorers
        most = max(1, len(self._trained_ids) // LEAVE_OUT)
        group: list[int] = []
        left: set[str] = set()
        for i, found in enumerate(selves):
            own = found & self._trained_ids
            if not own:
                continue
            if group and len(left | own) > most:
                self._score_without(scorers, model, group, left)
                group, left = [], set()
            group.append(i)
            left |= own
        if group:
            self._score_without(scorers, model, group, left)
        return scorers

    def _score_without(
        self,
        scorers: list[LabelModel | None],
        model: LabelModel,
        items: list[int],
        left: set[str],
    ) -> None:
        without = self._model_without(model, frozenset(left))
        for i in items:
            scorers[i] = without

    def _model_without(self, model: LabelModel, left_out: frozenset[str]) -> LabelModel:
        """The light model fitted on every labeled call but ``left_out``; the last one is kept,
        so classifying the same stored call again costs no fit."""
        key = (model.fingerprint, left_out)
        with self._lock:
            if self._left_out is not None and self._left_out[0] == key:
                return self._left_out[1]
            items = [i for i in self._items if i.call_id not in left_out]
        without = LabelModel().fit(items)
        with self._lock:
            self._left_out = (key, without)
        return without

    def neighbours(
        self,
        dense: np.ndarray,
        opening: SparseVec,
        *,
        skip: Collection[str] | str | None = None,
        only: frozenset[str] | None = None,
    ) -> list[Neighbour]:
        """The k nearest labeled calls by the call vector and by BM25 of the opening, each list
        best first; never a call in ``skip`` (the call itself), and with ``only``: among these
        calls."""
        k = self.settings.k
        skip = {skip} if isinstance(skip, str) else set(skip or ())
        # Over-fetch: unlabeled, held-back and skipped calls are dropped after the query (and,
        # in calibration folds, calls outside ``only``: a filter on thousands of ids would make
        # each query several times slower than reading a few more hits).
        fetch = (k * 2 + 2 if only is None else k * 4 + 2) + len(skip)
        found = []
        if float(np.abs(dense).sum()) > 0:
            found += [("dense", h) for h in self.calls.query(dense=dense, limit=fetch)]
        if not opening.is_empty:
            hits = self.calls.query_fused([(SPARSE_OPENING, opening)], limit=fetch)
            found += [("bm25", h) for h in hits]
        out: list[Neighbour] = []
        taken: dict[str, int] = defaultdict(int)
        for via, hit in found:
            if taken[via] >= k or not trainable(hit.payload):
                continue
            if hit.payload["call_id"] in skip:
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

    def labeled_calls(self) -> tuple[str, list[tuple[str, tuple[str, ...]]]]:
        """The fingerprint of the labeled calls and each one's (id, labels), as last fitted."""
        with self._lock:
            model = self._current_model(fit_model=self.settings.model_weight > 0)
            return model.fingerprint, [(i.call_id, i.labels) for i in self._items]

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
            if trainable(p.payload)
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
            self._items, self._left_out = tuple(items), None
            self._trained_ids = frozenset(i.call_id for i in items)
            by_content: dict[str, list[str]] = defaultdict(list)
            for item in items:
                by_content[content_key(item.text)].append(item.call_id)
            self._by_content = {key: tuple(ids) for key, ids in by_content.items()}
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
            if trainable(point.payload) and point.dense is not None:
                view = stored_view(point)
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
        neighbours) that never saw the label, so they stand in for calls of a new reason. A
        labeled call with the same content as a held-out one is that call (it never votes for
        itself when classified either): it is left out of the fold's training calls."""
        rows, right, outside = [], [], []
        keys = [content_key(i.text) for i in items]
        for train, held, new_reason in calibration_folds([i.label for i in items]):
            held_keys = {keys[i] for i in held}
            train = [i for i in train if keys[i] not in held_keys]
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
        return decide(
            neighbours,
            model,
            probs,
            settings=self.settings,
            chinese=chinese,
            calibration=calibration,
            models={
                "embedding_model": self.embedder.model_id,
                "sparse_model": self.sparse.model_id,
            },
        )


def _grouped(scorers: Sequence[LabelModel | None]) -> list[tuple[LabelModel | None, list[int]]]:
    """Items by the model that scores them (every labeled call, or without some of them)."""
    groups: dict[int, tuple[LabelModel | None, list[int]]] = {}
    for i, scorer in enumerate(scorers):
        groups.setdefault(id(scorer), (scorer, []))[1].append(i)
    return list(groups.values())
