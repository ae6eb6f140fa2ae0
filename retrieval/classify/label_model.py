"""A light model over all labeled calls: logistic regression on dense + BM25 features.

The neighbour vote only sees the k nearest calls; a linear model fitted on every labeled call
sees the whole label set at once and is what pushes few-shot accuracy past plain kNN. Its
features are the call's dense vector and its BM25 sparse vector (IDF-weighted, from the vectors
the store already keeps), so Chinese calls, which the English MiniLM embeds poorly, are carried
by their segmented words.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse as sp

from retrieval.index.store import SparseVec

#: The model needs at least this many labels with at least one example to be worth fitting.
_MIN_LABELS = 2


@dataclass(frozen=True)
class LabeledVector:
    """One labeled call as the model sees it."""

    call_id: str
    label: str
    dense: np.ndarray
    sparse: SparseVec | None


def fingerprint(pairs: Iterable[tuple[str, str]]) -> str:
    """Of (call id, label) pairs: changes whenever a call, or a call's label, changes."""
    digest = hashlib.sha256()
    for call_id, label in sorted(pairs):
        digest.update(f"{call_id}\t{label}\n".encode())
    return digest.hexdigest()[:16]


class LabelModel:
    """Multinomial logistic regression; ``predict`` gives a probability per label."""

    def __init__(self, *, c: float = 10.0, sparse_weight: float = 0.5) -> None:
        self.c = c
        self.sparse_weight = sparse_weight
        self.labels: list[str] = []
        self.fingerprint = ""
        self._vocab: dict[int, int] = {}
        self._idf: np.ndarray = np.zeros(0)
        self._clf: object | None = None

    @property
    def fitted(self) -> bool:
        return self._clf is not None

    def fit(self, items: Sequence[LabeledVector]) -> LabelModel:
        """Fit on the given calls; with fewer than two labels the model stays unfitted."""
        from sklearn.linear_model import LogisticRegression

        self.fingerprint = fingerprint((i.call_id, i.label) for i in items)
        counts = Counter(item.label for item in items)
        if len(counts) < _MIN_LABELS:
            self._clf = None
            return self
        df: Counter[int] = Counter()
        for item in items:
            if item.sparse is not None:
                df.update(set(item.sparse.indices))
        self._vocab = {index: col for col, index in enumerate(sorted(df))}
        n = len(items)
        self._idf = np.array(
            [math.log(1 + (n - df[i] + 0.5) / (df[i] + 0.5)) for i in sorted(df)], dtype=np.float32
        )
        x = self._features([i.dense for i in items], [i.sparse for i in items])
        clf = LogisticRegression(C=self.c, max_iter=500)
        clf.fit(x, [item.label for item in items])
        self._clf = clf
        self.labels = [str(label) for label in clf.classes_]
        return self

    def predict(
        self, dense: Sequence[np.ndarray], sparse: Sequence[SparseVec | None]
    ) -> np.ndarray:
        """Probabilities of shape (n, len(self.labels))."""
        if self._clf is None:
            raise RuntimeError("LabelModel.predict before a successful fit")
        return self._clf.predict_proba(self._features(dense, sparse))  # type: ignore[attr-defined]

    def _features(
        self, dense: Sequence[np.ndarray], sparse: Sequence[SparseVec | None]
    ) -> sp.csr_matrix:
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
        lexical = sp.csr_matrix((vals, (rows, cols)), shape=(len(sparse), len(self._vocab)))
        return sp.hstack([sp.csr_matrix(np.vstack(dense)), lexical], format="csr")
