"""Calls as feature vectors for clustering: the stored call vector and the stored BM25 vector of
the whole call, nothing embedded again.

Each part is unit-normalised and scaled by the square root of its weight, so the dot product of
two calls is ``(1 - w) * cos(call vectors) + w * cos(IDF-weighted BM25)``: one similarity of
meaning (the dense part) and exact words (BM25), and still a unit vector per call, so a cluster's
centroid and each call's closeness to it are plain dot products. ``w`` is
``TopicOptions.bm25_weight`` (0 by default: see there why).

Before that, each call vector has the mean call vector of its language taken away (the means
come from every call in the collection, labeled or not): what all calls of a language share (for
the English-only MiniLM, most of a Chinese call's vector; for any model, "this is a customer
call") says nothing about what a call is about. On the demo corpus this took the cosine of two
Chinese calls of different reasons from 0.92 to -0.16 (same reason: 0.95 to 0.18), and of two
English calls of different reasons from 0.37 to -0.12 (same reason: 0.56 to 0.22).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse as sp

from app.core.errors import InputError
from retrieval.index.points import SparseVec


@dataclass(frozen=True)
class PoolCall:
    """One call offered to discovery, as the call collection stores it."""

    call_id: str
    dense: np.ndarray
    sparse: SparseVec | None
    #: The call's text (``Speaker: words`` lines, as stored on the call point).
    text: str
    language: str | None = None


#: A language with fewer calls than this in the collection is centred on the mean of all calls.
MIN_CALLS_PER_CENTRE = 10
#: The key of the all-calls mean in :func:`language_centres`.
ALL = "*"


def language_centres(
    vectors: Iterable[tuple[str | None, np.ndarray]], min_calls: int = MIN_CALLS_PER_CENTRE
) -> dict[str, np.ndarray]:
    """The mean unit call vector of each language with at least ``min_calls`` calls, and of all
    calls (key :data:`ALL`), from ``(language, call vector)`` pairs."""
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for language, vector in vectors:
        unit = np.asarray(vector, dtype=np.float64)
        norm = float(np.linalg.norm(unit))
        if norm == 0.0:
            continue
        unit = unit / norm
        for key in {language or ALL, ALL}:
            sums[key] = sums.get(key, 0.0) + unit
            counts[key] = counts.get(key, 0) + 1
    return {
        key: (total / counts[key]).astype(np.float32)
        for key, total in sums.items()
        if key == ALL or counts[key] >= min_calls
    }


class CallFeatures:
    """The unit feature vectors of a pool of calls (rows in the order given). ``centres``
    (:func:`language_centres`): the call vectors are centred by their language's mean first
    (a language without one: the all-calls mean); None: not centred."""

    def __init__(
        self,
        calls: Sequence[PoolCall],
        bm25_weight: float,
        centres: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        if not 0.0 <= bm25_weight <= 1.0:
            raise InputError(f"bm25_weight must be between 0 and 1, got {bm25_weight!r}")
        self.n = len(calls)
        self.bm25_weight = bm25_weight
        dense = _unit_rows(
            np.asarray([c.dense for c in calls], dtype=np.float32).reshape(self.n, -1)
        )
        if centres:
            fallback = centres.get(ALL)
            for i, call in enumerate(calls):
                centre = centres.get(call.language or ALL, fallback)
                if centre is not None:
                    dense[i] -= centre
        dense = _unit_rows(dense) * np.float32(np.sqrt(1.0 - bm25_weight))
        words = _unit_rows_sparse(_idf_weighted(calls)) * np.sqrt(bm25_weight)
        # A call without any BM25 term (silence, stopwords only) keeps its vector alone.
        norms = np.sqrt(
            (dense**2).sum(axis=1) + np.asarray(words.multiply(words).sum(axis=1)).ravel()
        )
        norms[norms == 0] = 1.0
        self.dense = dense / norms[:, None].astype(np.float32)
        self.words = sp.csr_matrix(sp.diags(1.0 / norms) @ words)

    def similarity(self) -> np.ndarray:
        """The n x n cosine similarity of the calls."""
        sim = self.dense @ self.dense.T + np.asarray((self.words @ self.words.T).todense())
        return np.clip(sim, -1.0, 1.0).astype(np.float32)

    def distance(self) -> np.ndarray:
        """``1 - similarity`` (0 on the diagonal, symmetric): what the clusterers take."""
        dist = 1.0 - self.similarity().astype(np.float64)
        dist = (dist + dist.T) / 2.0
        np.fill_diagonal(dist, 0.0)
        return np.clip(dist, 0.0, 2.0)

    def to_centroid(self, rows: Sequence[int]) -> np.ndarray:
        """Each of ``rows``' cosine similarity to the rows' centroid (mean feature vector)."""
        idx = np.asarray(rows, dtype=np.int64)
        dense = self.dense[idx].astype(np.float64)
        words = self.words[idx]
        centre_dense = dense.mean(axis=0)
        centre_words = np.asarray(words.mean(axis=0)).ravel()
        norm = float(np.sqrt(centre_dense @ centre_dense + centre_words @ centre_words)) or 1.0
        return (dense @ centre_dense + words @ centre_words) / norm


def _idf_weighted(calls: Sequence[PoolCall]) -> sp.csr_matrix:
    """The calls' BM25 term weights times the IDF of each term in the pool (the formula Qdrant's
    IDF modifier uses), so words every call says (greetings, the company's name) count little."""
    columns: dict[int, int] = {}
    rows, cols, vals = [], [], []
    for i, call in enumerate(calls):
        vec = call.sparse
        if vec is None:
            continue
        for index, value in zip(vec.indices, vec.values, strict=True):
            rows.append(i)
            cols.append(columns.setdefault(int(index), len(columns)))
            vals.append(float(value))
    tf = sp.csr_matrix((vals, (rows, cols)), shape=(len(calls), max(len(columns), 1)))
    df = np.asarray((tf > 0).sum(axis=0)).ravel()
    n = len(calls)
    idf = np.log((n - df + 0.5) / (df + 0.5) + 1.0)
    return sp.csr_matrix(tf @ sp.diags(idf))


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def _unit_rows_sparse(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ matrix)
