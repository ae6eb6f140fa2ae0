"""Calibrated confidence and the learned abstain threshold (``retrieval.classify.unknown``)."""

from __future__ import annotations

import numpy as np

from retrieval.classify.knn import Neighbour
from retrieval.classify.unknown import EVIDENCE, evidence, fit_calibration, pick_threshold


def _answers(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evidence rows where right answers score higher than wrong ones and stand-ins for new
    reasons lower still, with noise."""
    rng = np.random.default_rng(seed)
    n = 600
    outside = rng.random(n) < 0.4
    right = ~outside & (rng.random(n) < 0.8)
    base = np.where(right, 0.7, np.where(outside, 0.3, 0.45))
    rows = base[:, None] + rng.normal(0, 0.12, (n, len(EVIDENCE)))
    return rows, right, outside


def test_pick_threshold_keeps_the_expected_false_unknown_rate() -> None:
    conf = np.tile([0.9, 0.02, 0.5, 0.7, 0.05, 0.95, 0.8, 0.6, 0.1, 0.85], 10)
    # Budget 0.02 x 100 calls = 2 expected right answers: the ten 0.02s, ten 0.05s and ten
    # 0.1s add up to 1.7 and fit, adding a 0.5 does not -> the 30 lowest are answered unknown.
    t = pick_threshold(conf, conf, 0.02)
    assert t == 0.5 and (conf < t).sum() == 30
    # Other right-answer odds set another budget: 25 calls of 0.1 fit, but the ten 0.1s are
    # a tie that cannot be split, so 20 are answered unknown.
    assert pick_threshold(conf, np.full(100, 0.1), 0.025) == 0.1
    assert pick_threshold(conf, conf, 0.0) == 0.0  # abstaining off
    assert pick_threshold(conf[:10], np.zeros(10), 0.05) == 0.0  # 10 calls cannot resolve 5%
    assert pick_threshold(conf, conf, 0.6) == 1.0  # everything fits
    many = np.concatenate([np.full(100, 0.01), np.full(100, 0.9)])
    assert pick_threshold(many, many, 0.001) == 0.0  # not even the lowest fits
    tied = np.array([0.1, 0.1, 0.1, 0.9] * 5)
    assert pick_threshold(tied, tied, 0.06) == 0.0  # a tie of 15 cannot be split: none fits


def test_confidence_is_a_probability_and_monotone() -> None:
    rows, right, outside = _answers()
    cal = fit_calibration(rows, right, outside)
    assert cal is not None
    conf = cal.confidence(rows)
    assert ((conf >= 0) & (conf <= 1)).all()
    # Monotone in the stacked score: ordering by it orders the confidences.
    stacked = ((rows - cal.mean) / cal.scale) @ cal.coef
    order = np.argsort(stacked)
    assert (np.diff(conf[order]) >= -1e-12).all()
    # Extreme evidence stays inside [0, 1].
    assert 0 <= cal.confidence(np.full(len(EVIDENCE), 1e6))[0] <= 1
    assert 0 <= cal.confidence(np.full(len(EVIDENCE), -1e6))[0] <= 1


def test_threshold_keeps_the_false_unknown_rate_and_catches_new_reasons() -> None:
    rows, right, outside = _answers()
    cal = fit_calibration(rows, right, outside)
    assert cal is not None
    abstain = cal.confidence(rows) < cal.threshold_for(0.05)
    inside = (~outside).sum()
    # Calibrated, so the count of right answers given up is near the expected 5%.
    assert (abstain & right & ~outside).sum() <= 0.08 * inside
    assert cal.stats(0.05)["false_unknown_rate"] <= 0.08
    assert (abstain & outside).mean() / outside.mean() > 0.5  # most stand-ins are caught
    # A stricter rate never abstains more.
    assert cal.threshold_for(0.01) <= cal.threshold_for(0.05)
    assert cal.threshold_for(0.0) == 0.0


def test_calibrated_for_a_stream_with_few_new_reasons() -> None:
    """Stand-ins are ~40% of the fitting rows; confidences are weighed for 10% new reasons,
    so on in-scope answers the mean confidence is close to the share that is right."""
    rows, right, outside = _answers()
    cal = fit_calibration(rows, right, outside)
    assert cal is not None
    conf = cal.confidence(rows[~outside])
    assert abs(conf.mean() - right[~outside].mean()) < 0.1


def test_nothing_to_learn_without_wrong_answers() -> None:
    rows, _, _ = _answers()
    ones = np.ones(len(rows), dtype=bool)
    assert fit_calibration(rows, ones, ~ones) is None


def test_evidence_reads_the_answer() -> None:
    neighbours = [
        Neighbour("a", ["refund"], 0.9, "dense"),
        Neighbour("b", ["delay"], 0.8, "dense"),
        Neighbour("c", ["refund"], 0.7, "dense"),
        Neighbour("d", ["delay"], 10.0, "bm25"),
        Neighbour("e", ["refund"], 5.0, "bm25"),
    ]
    row = evidence(
        [("refund", 0.6), ("delay", 0.3)], np.array([0.2, 0.8]), {"refund": 0.7}, neighbours
    )
    got = dict(zip(EVIDENCE, row, strict=True))
    assert got["top_score"] == 0.6 and abs(got["margin"] - 0.3) < 1e-12
    assert got["model_top"] == 0.8 and got["vote_top"] == 0.7
    assert got["dense_top"] == 0.9 and got["dense_label"] == 0.9
    assert abs(got["dense_mean3"] - 0.8) < 1e-12
    assert got["lexical_label"] == 0.5
