"""Features and clustering on planted vectors: the similarity is the weighted sum of the two
cosines, centring takes the language offset away, and both clusterers find planted groups and
leave stray calls out."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import InputError
from retrieval.index.points import SparseVec
from retrieval.topics import NOISE, CallFeatures, PoolCall, cluster, language_centres


def _call(i: int, dense: np.ndarray, words: dict[int, float] | None = None, lang: str = "en"):
    sparse = SparseVec(list(words), list(words.values())) if words else None
    return PoolCall(f"c{i}", dense.astype(np.float32), sparse, f"call {i}", lang)


def test_similarity_is_the_weighted_sum_of_dense_and_bm25_cosines() -> None:
    a, b = np.array([1.0, 0.0, 0.0]), np.array([1.0, 1.0, 0.0])
    # Three calls, so the pool IDF of a word two of them share is not zero.
    calls = [
        _call(0, a, {7: 1.0}),
        _call(1, b, {7: 1.0}),
        _call(2, np.array([0, 0, 1.0]), {9: 1.0}),
    ]
    for w in (0.0, 0.3, 1.0):
        sim = CallFeatures(calls, w).similarity()
        dense_cos = 1 / np.sqrt(2)
        assert sim[0, 1] == pytest.approx((1 - w) * dense_cos + w * 1.0, abs=1e-5)
        assert sim[0, 2] == pytest.approx(0.0, abs=1e-6)
        assert np.allclose(np.diag(sim), 1.0, atol=1e-5)
    with pytest.raises(InputError, match="bm25_weight"):
        CallFeatures(calls, 1.5)


def test_a_call_without_words_keeps_its_vector() -> None:
    calls = [_call(0, np.array([1.0, 0.0])), _call(1, np.array([1.0, 0.0]), {3: 2.0})]
    sim = CallFeatures(calls, 0.5).similarity()
    assert sim[0, 0] == pytest.approx(1.0) and sim[0, 1] == pytest.approx(np.sqrt(0.5), abs=1e-5)


def test_centring_by_language_takes_the_shared_offset_away() -> None:
    rng = np.random.default_rng(0)
    offset = np.zeros(16)
    offset[0] = 10.0  # what every "zh" vector shares (an English-only embedder)
    topics = rng.standard_normal((2, 16))
    zh = [topics[i % 2] + offset + 0.1 * rng.standard_normal(16) for i in range(20)]
    calls = [_call(i, v, lang="zh") for i, v in enumerate(zh)]
    raw = CallFeatures(calls, 0.0).similarity()
    centres = language_centres((c.language, c.dense) for c in calls)
    centred = CallFeatures(calls, 0.0, centres).similarity()
    same, other = (0, 2), (0, 1)
    assert raw[other] > 0.8  # different topics look alike before
    assert centred[same] > 0.8 and centred[other] < 0.2
    # A language with too few calls has no centre of its own: the all-calls one stands in.
    few = language_centres([("en", np.ones(3)), ("zh", np.ones(3))], min_calls=2)
    assert set(few) == {"*"}


def _blobs(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Three tight groups of 12, 9 and 6 points and 6 scattered ones, on the unit sphere."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, 32))
    points, truth = [], []
    for k, n in enumerate((12, 9, 6)):
        points += [centres[k] + 0.15 * rng.standard_normal(32) for _ in range(n)]
        truth += [k] * n
    points += [rng.standard_normal(32) for _ in range(6)]
    truth += [NOISE] * 6
    x = np.asarray(points)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, np.asarray(truth)


@pytest.mark.parametrize("method", ["hdbscan", "agglomerative"])
def test_both_methods_find_planted_groups_and_leave_strays_out(method: str) -> None:
    x, truth = _blobs()
    distance = np.clip(1.0 - x @ x.T, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    labels = cluster(distance, method=method, min_size=5)
    # Numbered by size: the group of 12 is cluster 0, of 9 cluster 1, of 6 cluster 2.
    for k in range(3):
        assert set(labels[truth == k]) == {k}, (method, labels)
    # One stray lies nearer one group than the others (cosine 0.28 to its points, which are at
    # 0.98 to each other): both methods may keep it at that group's edge, never more.
    assert (labels[truth == NOISE] == NOISE).sum() >= 5


def test_bad_arguments_are_clear_errors_and_tiny_pools_are_noise() -> None:
    d = np.zeros((3, 3))
    with pytest.raises(InputError, match="unknown clustering method"):
        cluster(d, method="kmeans", min_size=2)
    with pytest.raises(InputError, match="min_size"):
        cluster(d, method="hdbscan", min_size=1)
    assert list(cluster(d, method="hdbscan", min_size=5)) == [NOISE] * 3
    assert cluster(np.zeros((0, 0)), method="agglomerative", min_size=2).shape == (0,)
