"""Grouping calls by their distances: HDBSCAN or average-linkage agglomerative clustering.

Both take the precomputed distance matrix of ``features.CallFeatures`` and answer one cluster
number per call, ``-1`` for a call that belongs to no group (HDBSCAN's noise; a group smaller
than ``min_size`` for the agglomerative cut). Neither needs the number of topics: HDBSCAN finds
dense groups itself; the agglomerative tree is cut where the silhouette of the clustered calls is
best, so both can be run on a pool nobody has looked at yet. ``eval/bench_topics.py`` measures
them against each other (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from app.core.errors import InputError

# scipy's and scikit-learn's clustering are imported where used: every `callscope` command
# imports this module (through the topics command), and they cost over a second to load.

Method = Literal["hdbscan", "agglomerative"]
METHODS: tuple[Method, ...] = ("hdbscan", "agglomerative")
NOISE = -1

#: The most groups the agglomerative tree is cut into; every count up to ``FINE_CUTS`` is tried,
#: then every ``COARSE_STEP``-th (the silhouette of each cut is what a run spends its time on).
MAX_CUTS = 150
FINE_CUTS = 60
COARSE_STEP = 4


def cluster(distance: np.ndarray, *, method: str, min_size: int) -> np.ndarray:
    """One cluster number per row of ``distance`` (0, 1, ...; ``NOISE`` = no group)."""
    if method not in METHODS:
        raise InputError(f"unknown clustering method {method!r}; use one of {', '.join(METHODS)}")
    if not isinstance(min_size, int) or isinstance(min_size, bool) or min_size < 2:
        raise InputError(f"min_size must be an integer of at least 2, got {min_size!r}")
    n = distance.shape[0]
    if distance.shape != (n, n):
        raise InputError(f"distance must be a square matrix, got shape {distance.shape}")
    if n < min_size:
        return np.full(n, NOISE, dtype=np.int64)
    labels = (
        _hdbscan(distance, min_size) if method == "hdbscan" else _agglomerative(distance, min_size)
    )
    return _renumbered(labels)


def _hdbscan(distance: np.ndarray, min_size: int) -> np.ndarray:
    # min_samples=1 (distances not smoothed by each call's neighbourhood): with min_size at 2%
    # of the pool (vectors + BM25 at 0.3; measured while tuning), on Banking77 it kept 73% of
    # the hidden calls in groups against 57% with min_samples=min_size//2, ARI 0.61 against
    # 0.45; ``eom`` prefers the larger stable groups.
    from sklearn.cluster import HDBSCAN

    model = HDBSCAN(
        metric="precomputed",
        min_cluster_size=min_size,
        min_samples=1,
        cluster_selection_method="eom",
        copy=True,
    )
    return model.fit_predict(distance.astype(np.float64))


def _agglomerative(distance: np.ndarray, min_size: int) -> np.ndarray:
    """Average linkage, cut into the number of groups whose silhouette is best."""
    n = distance.shape[0]
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    from sklearn.metrics import silhouette_score

    tree = linkage(squareform(distance, checks=False), method="average")
    best, best_score = np.full(n, NOISE, dtype=np.int64), -np.inf
    most = min(MAX_CUTS, n // min_size + 1)
    cuts = [
        *range(2, min(most, FINE_CUTS) + 1),
        *range(FINE_CUTS + COARSE_STEP, most + 1, COARSE_STEP),
    ]
    for k in cuts:
        labels = fcluster(tree, t=k, criterion="maxclust").astype(np.int64) - 1
        labels = _small_to_noise(labels, min_size)
        kept = labels != NOISE
        groups = len(set(labels[kept].tolist()))
        if groups < 2 or kept.sum() <= groups:
            continue
        # Silhouette of the grouped calls, scaled by the share grouped: a cut that only scores
        # well by dropping most calls as too-small groups does not win.
        score = silhouette_score(distance[np.ix_(kept, kept)], labels[kept], metric="precomputed")
        score *= kept.mean()
        if score > best_score:
            best, best_score = labels, score
    if best_score == -np.inf and n >= min_size:
        return np.zeros(n, dtype=np.int64)  # no cut separates anything: one group
    return best


def _small_to_noise(labels: np.ndarray, min_size: int) -> np.ndarray:
    values, counts = np.unique(labels, return_counts=True)
    small = values[counts < min_size]
    out = labels.copy()
    out[np.isin(out, small)] = NOISE
    return out


def _renumbered(labels: np.ndarray) -> np.ndarray:
    """Clusters numbered 0, 1, ... by size, largest first (noise stays ``NOISE``)."""
    values, counts = np.unique(labels[labels != NOISE], return_counts=True)
    order = values[np.argsort(-counts, kind="stable")]
    mapping = {int(v): i for i, v in enumerate(order)}
    return np.asarray([mapping.get(int(v), NOISE) for v in labels], dtype=np.int64)
