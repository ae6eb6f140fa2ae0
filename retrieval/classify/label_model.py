"""A light model over all labeled calls: logistic regression on the call's vectors and words.

The neighbour vote only sees the k nearest calls; a linear model fitted on every labeled call
sees the whole label set at once and is what pushes few-shot accuracy past plain kNN. Its
features, all from what the store already keeps (nothing is embedded again):

- the call's dense vector (``ingest.turns.call_vector``);
- its BM25 vector, IDF-weighted over the labeled calls and L2-normalised (x ``sparse_weight``);
- three Chinese-character TF-IDF blocks (sublinear tf, L2-normalised, x ``text_weight``): the
  opening (the customer's turns, each weighted by its length x 0.25 ** j for the j-th customer
  turn, so the reason given first counts most without betting on turn one), all customer
  turns, and the whole call. The bundled MiniLM is English-only; single Chinese characters are
  what carries a Chinese call offline. A call without Chinese has no features there, so the
  blocks are inert for English.

Chosen on crosswoz_zh (long Chinese conversations), Banking77 and the demo corpus with
``python -m eval.tune_calls`` (docs/benchmarks.md "Call vectors").

Calls with several labels: the multinomial model learns the primary (first) label; one binary
model per label scores every label, and a label is added as a secondary one when its score
clears that label's threshold, chosen by 5-fold cross-validation on the labeled calls (the
threshold that makes the add-or-not decision right most often on calls where it is not the
primary). A label that is seldom secondary (fewer than ``MIN_SECONDARY`` calls) is never added.
"""

from __future__ import annotations

import hashlib
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse as sp

from app.core.models import Transcript
from app.core.text import call_text
from ingest.sources import parse_text_turns
from ingest.turns import CUSTOMER
from retrieval.index.store import SparseVec

#: The model needs at least this many labels with at least one example to be worth fitting.
_MIN_LABELS = 2
#: A label must be a secondary label of this many labeled calls before it is ever added as one.
MIN_SECONDARY = 3
#: Thresholds tried for secondary labels.
_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)
#: The opening block weighs the j-th customer turn by OPENING_DECAY ** j (times its length).
OPENING_DECAY = 0.25

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class LabeledVector:
    """One labeled call as the model sees it."""

    call_id: str
    label: str
    dense: np.ndarray
    sparse: SparseVec | None
    #: The call's ``Speaker: text`` lines (the word features); "" = none.
    text: str = ""
    #: Every label of the call, primary first; empty = just ``label``.
    labels: tuple[str, ...] = ()

    @property
    def all_labels(self) -> tuple[str, ...]:
        return self.labels or (self.label,)


def fingerprint(pairs: Iterable[tuple[str, str]]) -> str:
    """Of (call id, label) pairs: changes whenever a call, or a call's label, changes."""
    digest = hashlib.sha256()
    for call_id, label in sorted(pairs):
        digest.update(f"{call_id}\t{label}\n".encode())
    return digest.hexdigest()[:16]


def item_key(labels: Sequence[str], text: str) -> str:
    """What the model depends on besides the call id: its labels and (a checksum of) its text."""
    return ";".join(labels) + f"\t{zlib.crc32(text.encode('utf-8')):08x}"


def cjk_chars(text: str) -> list[str]:
    """Chinese characters, one token each; anything else is left out."""
    return _CJK.findall(text)


@dataclass(frozen=True)
class _Views:
    """The texts a call's word features are read from."""

    call: str
    customer: str
    customer_turns: list[str]


def _views(text: str) -> _Views:
    turns = parse_text_turns(text) if text.strip() else []
    mine = [t for t in turns if t.speaker == CUSTOMER] or turns
    return _Views(text, call_text(Transcript(turns=mine)), [t.text for t in mine])


class LabelModel:
    """Multinomial logistic regression on the primary label (``predict``: a probability per
    label), plus per-label binary models for secondary labels (``secondary``)."""

    def __init__(
        self,
        *,
        c: float = 10.0,
        sparse_weight: float = 0.5,
        text_weight: float = 2.0,
        folds: int = 5,
    ) -> None:
        self.c = c
        self.sparse_weight = sparse_weight
        self.text_weight = text_weight
        self.folds = folds
        self.labels: list[str] = []
        self.fingerprint = ""
        #: Labels the secondary models score, and each one's threshold (inf: never added).
        self.multi_labels: list[str] = []
        self.thresholds: np.ndarray = np.zeros(0)
        self._vocab: dict[int, int] = {}
        self._idf: np.ndarray = np.zeros(0)
        self._tfidf: dict[str, object] = {}
        self._clf: object | None = None
        self._ovr: list[object | float] = []
        #: The labeled calls' mean dense vector (see ``_dense_block``).
        self._center: np.ndarray | None = None

    @property
    def fitted(self) -> bool:
        return self._clf is not None

    @property
    def multi_label(self) -> bool:
        """Whether secondary labels can be predicted (some labeled call has several)."""
        return bool(self._ovr)

    # -- fitting -----------------------------------------------------------------------
    def fit(self, items: Sequence[LabeledVector]) -> LabelModel:
        """Fit on the given calls; with fewer than two labels the model stays unfitted."""
        from sklearn.linear_model import LogisticRegression

        self.fingerprint = fingerprint((i.call_id, item_key(i.all_labels, i.text)) for i in items)
        self._ovr, self.multi_labels, self.thresholds = [], [], np.zeros(0)
        counts = Counter(item.label for item in items)
        if len(counts) < _MIN_LABELS:
            self._clf = None
            return self
        self._fit_sparse(items)
        self._center = np.mean(np.vstack([i.dense for i in items]), axis=0)
        views = [_views(i.text) for i in items]
        self._fit_text(views)
        x = self._matrix([i.dense for i in items], [i.sparse for i in items], views)
        clf = LogisticRegression(C=self.c, max_iter=1000)
        clf.fit(x, [item.label for item in items])
        self._clf = clf
        self.labels = [str(label) for label in clf.classes_]
        if any(len(i.all_labels) > 1 for i in items):
            self._fit_secondary(x, [i.all_labels for i in items])
        return self

    def _fit_sparse(self, items: Sequence[LabeledVector]) -> None:
        df: Counter[int] = Counter()
        for item in items:
            if item.sparse is not None:
                df.update(set(item.sparse.indices))
        self._vocab = {index: col for col, index in enumerate(sorted(df))}
        n = len(items)
        # Qdrant's BM25 IDF, so the features weigh words as the engine's neighbour search does.
        self._idf = np.array(
            [math.log(1 + (n - df[i] + 0.5) / (df[i] + 0.5)) for i in sorted(df)], dtype=np.float32
        )

    def _fit_text(self, views: Sequence[_Views]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._tfidf = {}
        if self.text_weight == 0:
            return
        # The opening and customer blocks weigh the same words (the customer's), so they share
        # one vectorizer; the whole call has its own.
        corpora = {"customer": [v.customer for v in views], "call": [v.call for v in views]}
        for name, texts in corpora.items():
            vec = TfidfVectorizer(
                analyzer=cjk_chars, sublinear_tf=True, lowercase=False, dtype=np.float32
            )
            try:
                vec.fit(texts)
            except ValueError:  # no Chinese in the labeled calls: the block is left out
                continue
            self._tfidf[name] = vec

    def _fit_secondary(self, x: sp.csr_matrix, label_sets: Sequence[Sequence[str]]) -> None:
        from sklearn.model_selection import KFold

        self.multi_labels = sorted({lab for labs in label_sets for lab in labs})
        col = {lab: j for j, lab in enumerate(self.multi_labels)}
        y = np.zeros((len(label_sets), len(col)), dtype=np.int8)
        for r, labs in enumerate(label_sets):
            for lab in labs:
                y[r, col[lab]] = 1
        primary = np.array([col[labs[0]] for labs in label_sets])
        self._ovr = _fit_binary(x, y, self.c)
        folds = min(self.folds, len(label_sets))
        if folds < 2:
            self.thresholds = np.full(len(col), np.inf)
            return
        held_out = np.zeros(y.shape, dtype=np.float64)
        for train, held in KFold(folds, shuffle=True, random_state=0).split(y):
            held_out[held] = _binary_scores(_fit_binary(x[train], y[train], self.c), x[held])
        self.thresholds = _thresholds(held_out, y, primary)

    # -- prediction --------------------------------------------------------------------
    def features(
        self,
        dense: Sequence[np.ndarray],
        sparse: Sequence[SparseVec | None],
        texts: Sequence[str] | None = None,
    ) -> sp.csr_matrix:
        """The feature rows of calls (``texts``: their ``Speaker: text`` lines)."""
        views = [_views(t) for t in (texts if texts is not None else [""] * len(dense))]
        return self._matrix(dense, sparse, views)

    def predict(
        self,
        dense: Sequence[np.ndarray],
        sparse: Sequence[SparseVec | None],
        texts: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Probabilities of the primary label, shape (n, len(self.labels))."""
        return self.probabilities(self.features(dense, sparse, texts))

    def probabilities(self, x: sp.csr_matrix) -> np.ndarray:
        if self._clf is None:
            raise RuntimeError("LabelModel.predict before a successful fit")
        return self._clf.predict_proba(x)  # type: ignore[attr-defined]

    def secondary(self, x: sp.csr_matrix, primary: Sequence[str]) -> list[list[str]]:
        """Per row, the labels other than ``primary[i]`` whose score clears their threshold,
        best first (empty when the labeled calls are single-label)."""
        if not self._ovr:
            return [[] for _ in primary]
        scores = _binary_scores(self._ovr, x)
        out = []
        for row, first in zip(scores, primary, strict=True):
            picked = [
                (float(row[j]), lab)
                for j, lab in enumerate(self.multi_labels)
                if lab != first and row[j] >= self.thresholds[j]
            ]
            out.append([lab for _, lab in sorted(picked, reverse=True)])
        return out

    # -- features ----------------------------------------------------------------------
    def _matrix(
        self,
        dense: Sequence[np.ndarray],
        sparse: Sequence[SparseVec | None],
        views: Sequence[_Views],
    ) -> sp.csr_matrix:
        blocks = [sp.csr_matrix(self._dense_block(dense)), self._lexical(sparse)]
        customer: Any = self._tfidf.get("customer")
        if customer is not None:  # the opening, then all customer turns
            blocks.append(self.text_weight * self._opening(customer, views))
            blocks.append(self.text_weight * customer.transform([v.customer for v in views]))
        whole: Any = self._tfidf.get("call")
        if whole is not None:
            blocks.append(self.text_weight * whole.transform([v.call for v in views]))
        return sp.hstack(blocks, format="csr")

    def _dense_block(self, dense: Sequence[np.ndarray]) -> np.ndarray:
        """Dense features centred on the labeled calls' mean and scaled back to unit length:
        what tells calls apart, not what all of them share. e5 puts any two texts 0.7-0.85
        apart, so its raw vectors are mostly that shared direction. Measured on Banking77 10
        shots: e5 0.785 -> 0.794, MiniLM 0.834 -> 0.841 (docs/benchmarks.md)."""
        x = np.vstack(dense).astype(np.float32)
        if self._center is None:
            return x
        x = x - self._center
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)

    def _lexical(self, sparse: Sequence[SparseVec | None]) -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for r, sv in enumerate(sparse):
            if sv is None:
                continue
            weights = [
                (self._vocab[i], v * self._idf[self._vocab[i]])
                for i, v in zip(sv.indices, sv.values, strict=True)
                if i in self._vocab
            ]
            norm = math.sqrt(sum(w * w for _, w in weights)) or 1.0
            for c, w in weights:
                rows.append(r)
                cols.append(c)
                vals.append(self.sparse_weight * w / norm)
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(sparse), len(self._vocab)))

    @staticmethod
    def _opening(vec: object, views: Sequence[_Views]) -> sp.csr_matrix:
        rows = []
        for v in views:
            if not v.customer_turns:
                rows.append(sp.csr_matrix((1, len(vec.vocabulary_))))  # type: ignore[attr-defined]
                continue
            m = vec.transform(v.customer_turns)  # type: ignore[attr-defined]
            w = OPENING_DECAY ** np.arange(len(v.customer_turns))
            w = w * np.array([len(t) for t in v.customer_turns])
            row = sp.csr_matrix(w[None, :]) @ m
            norm = math.sqrt(float(row.multiply(row).sum())) or 1.0
            rows.append(row / norm)
        return sp.vstack(rows, format="csr")


def _fit_binary(x: sp.csr_matrix, y: np.ndarray, c: float) -> list[object | float]:
    """One binary logistic regression per label column (liblinear: ~10x faster than lbfgs on
    these sparse features); a column that is all one value keeps that value."""
    from sklearn.linear_model import LogisticRegression

    out: list[object | float] = []
    for j in range(y.shape[1]):
        column = y[:, j]
        if column.min() == column.max():
            out.append(float(column[0]))
        else:
            out.append(LogisticRegression(C=c, solver="liblinear", max_iter=1000).fit(x, column))
    return out


def _binary_scores(models: Sequence[object | float], x: sp.csr_matrix) -> np.ndarray:
    out = np.zeros((x.shape[0], len(models)))
    for j, m in enumerate(models):
        out[:, j] = m if isinstance(m, float) else m.predict_proba(x)[:, 1]  # type: ignore[attr-defined]
    return out


def _thresholds(scores: np.ndarray, y: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Per label, the grid threshold that decides "add as a secondary label" right most often
    on the calls where it is not the primary (ties: the one closest to 0.5)."""
    out = np.full(y.shape[1], np.inf)
    for j in range(y.shape[1]):
        rows = primary != j
        yj, sj = y[rows, j] == 1, scores[rows, j]
        if yj.sum() < MIN_SECONDARY:
            continue
        best = (-1.0, 0.0)
        for t in _GRID:
            key = (round(float(((sj >= t) == yj).mean()), 9), -abs(float(t) - 0.5))
            if key > best:
                best, out[j] = key, float(t)
    return out
