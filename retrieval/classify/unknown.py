"""Knowing when a call is about something no label covers: calibrated confidence and a
threshold learned from the labeled calls themselves.

The blended score of the best label (neighbour vote + light model) is not a probability: ten
calls per label spread it thin, a hundred make it sharp, and a call whose reason has no label
still gets a best label. So the answer's confidence is learned. Each answer carries a few
numbers of evidence (:data:`EVIDENCE`: how high and how clear the best score is, how sure the
light model is, how close the nearest labeled calls are); a logistic regression turns them into
P(the answer is right), fitted on labeled calls classified out of sample by
``KnnClassifier.calibrate``: folds that hold out rows *and whole labels*, so the held-out labels'
calls play the calls of a new reason. That is Platt scaling of a small stacked score: monotone
in it and inside [0, 1].

The abstain threshold is then the highest confidence below which, on those out-of-sample calls,
the expected share of calls that have a label, would have been answered right and are answered
``unknown`` instead stays within ``classify.false_unknown_rate``: the accuracy given up on calls
that do have a label. Everything under it is ``unknown``, with the best labels kept as
candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from retrieval.classify.knn import Neighbour

#: The answer when no label fits.
UNKNOWN = "unknown"

#: The evidence read from one answer, in this order.
EVIDENCE = (
    "top_score",  # the best label's blended score
    "margin",  # best minus second-best blended score
    "model_top",  # the light model's probability of its own best label
    "vote_top",  # the neighbour vote's share for the best label
    "dense_top",  # cosine of the nearest labeled call
    "dense_label",  # cosine of the nearest labeled call carrying the best label (0: none)
    "dense_mean3",  # mean cosine of the three nearest labeled calls
    "lexical_label",  # best opening-BM25 match carrying the best label, relative to the best
)


def evidence(
    ranked: Sequence[tuple[str, float]],
    model_probs: np.ndarray | None,
    vote: dict[str, float],
    neighbours: Sequence[Neighbour],
) -> np.ndarray:
    """The :data:`EVIDENCE` row of one answer (``ranked``: blended scores, best first)."""
    label, top = ranked[0] if ranked else ("", 0.0)
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    dense = [n for n in neighbours if n.via == "dense"]
    lexical = [n for n in neighbours if n.via == "bm25"]
    cos = sorted((n.score for n in dense), reverse=True)
    own = [n.score for n in dense if n.labels and n.labels[0] == label]
    best_lexical = max((n.score for n in lexical), default=0.0)
    own_lexical = max((n.score for n in lexical if n.labels and n.labels[0] == label), default=0.0)
    return np.array(
        [
            top,
            top - second,
            float(model_probs.max()) if model_probs is not None and model_probs.size else top,
            vote.get(label, 0.0),
            cos[0] if cos else 0.0,
            max(own, default=0.0),
            float(np.mean(cos[:3])) if cos else 0.0,
            own_lexical / best_lexical if best_lexical > 0 else 0.0,
        ],
        dtype=np.float64,
    )


#: The share of calls of a new reason that the confidences are calibrated for.
UNKNOWN_PRIOR = 0.1


@dataclass
class Calibration:
    """P(right) from an answer's evidence, and the out-of-sample answers it was fitted on (what
    the abstain threshold for any false-unknown rate is read from)."""

    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    #: The out-of-sample answers: calibrated confidence, right or not, stand-in for a new reason.
    conf: np.ndarray
    right: np.ndarray
    outside: np.ndarray
    #: P(right) of each answer whose label was known (``~outside``), for expected false unknowns.
    p_right: np.ndarray
    _thresholds: dict[float, float] = field(default_factory=dict, repr=False)

    def confidence(self, rows: np.ndarray) -> np.ndarray:
        """Calibrated P(right) per evidence row; in [0, 1] and monotone in the stacked score."""
        z = ((np.atleast_2d(rows) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def threshold_for(self, rate: float) -> float:
        """Confidence below which the answer is ``unknown`` at this false-unknown rate."""
        if rate not in self._thresholds:
            self._thresholds[rate] = pick_threshold(self.conf[~self.outside], self.p_right, rate)
        return self._thresholds[rate]

    def stats(self, rate: float) -> dict[str, float]:
        """What the out-of-sample answers say about that rate's threshold."""
        abstain = self.conf < self.threshold_for(rate)
        inside, outside = ~self.outside, self.outside
        return {
            "calls": int(len(self.conf)),
            "stand_in_unknown": int(outside.sum()),
            "threshold": round(self.threshold_for(rate), 4),
            "false_unknown_rate": round(
                float((abstain & self.right & inside).sum() / max(inside.sum(), 1)), 4
            ),
            "unknown_recall": round(float((abstain & outside).sum() / max(outside.sum(), 1)), 4),
        }


#: Calibration folds (over each label's calls, and over the labels).
FOLDS = 5
#: With fewer labels than this no label is held out (a fold needs two to train on); the
#: threshold then rests on right and wrong answers alone.
HOLD_LABELS = 4
#: Per label, at most this many calls train each fold and at most ``SCORED`` held-out calls are
#: classified (bounds the refit cost on large label sets; confidences from a smaller model are,
#: if anything, more cautious).
PER_LABEL = 50
SCORED = 8


def calibration_folds(labels: Sequence[str]) -> list[tuple[list[int], list[int], list[bool]]]:
    """Folds over labeled calls (``labels[i]``: call i's label): per fold, the calls to train
    on, the calls to classify out of sample, and for each of those whether its whole label was
    held out (a stand-in for a call of a new reason). Seeded: the same calls, the same folds."""
    rng = np.random.default_rng(0)
    names = sorted(set(labels))
    if len(names) < 2:
        return []
    group = {lab: g % FOLDS for g, lab in enumerate(rng.permutation(names))}
    if len(names) < HOLD_LABELS:
        group = dict.fromkeys(names, -1)
    row_fold = np.zeros(len(labels), dtype=int)
    for idxs in _by_label(list(range(len(labels))), labels):
        order = rng.permutation(idxs)
        row_fold[order] = (np.arange(len(order)) + rng.integers(FOLDS)) % FOLDS
    out = []
    for f in range(FOLDS):
        held = [i for i, lab in enumerate(labels) if group[lab] == f or row_fold[i] == f]
        held_set = set(held)
        scored = sorted(i for idxs in _by_label(held, labels) for i in _at_most(idxs, SCORED, rng))
        rest = [i for i in range(len(labels)) if i not in held_set]
        train = _by_label(rest, labels)
        trained = [i for idxs in train for i in _at_most(idxs, PER_LABEL, rng)]
        if len(train) < 2 or not scored:
            continue
        out.append((trained, scored, [group[labels[i]] == f for i in scored]))
    return out


def _by_label(rows: list[int], labels: Sequence[str]) -> list[list[int]]:
    """``rows`` grouped by label, labels in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for i in rows:
        groups.setdefault(labels[i], []).append(i)
    return list(groups.values())


def _at_most(idxs: list[int], n: int, rng: np.random.Generator) -> list[int]:
    return idxs if len(idxs) <= n else [int(i) for i in rng.choice(idxs, n, replace=False)]


def fit_calibration(rows: np.ndarray, right: np.ndarray, outside: np.ndarray) -> Calibration | None:
    """Fit on out-of-sample answers: ``rows`` their evidence, ``right`` whether the best label
    was the call's own, ``outside`` whether the call's label was held out (a stand-in for a new
    reason). None when there is too little to learn from (no right or no wrong answers)."""
    from sklearn.linear_model import LogisticRegression

    right = np.asarray(right, dtype=bool)
    outside = np.asarray(outside, dtype=bool)
    if right.all() or not right.any():
        return None
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale == 0] = 1.0
    z = (rows - mean) / scale
    # The folds hold out a fifth of the labels, so about half the answers are stand-ins for new
    # reasons; weigh them down to UNKNOWN_PRIOR of the total, or every confidence would be
    # calibrated for a stream where half the calls have no label.
    weight = np.ones(len(rows))
    if outside.any() and (~outside).any():
        weight[outside] = UNKNOWN_PRIOR / (1 - UNKNOWN_PRIOR) * (~outside).sum() / outside.sum()
    clf = LogisticRegression(C=1.0, max_iter=1000).fit(z, right, sample_weight=weight)
    coef, intercept = clf.coef_[0], float(clf.intercept_[0])
    conf = 1.0 / (1.0 + np.exp(-np.clip(z @ coef + intercept, -50, 50)))
    # P(right) among calls that do have a label, for the expected false unknowns: the weighed
    # confidence above counts on a tenth of the calls having none, which these calls all have.
    inside = ~outside
    if right[inside].all() or not right[inside].any():
        p_right = right[inside].astype(float)
    else:
        inside_model = LogisticRegression(C=1.0, max_iter=1000).fit(z[inside], right[inside])
        p_right = inside_model.predict_proba(z[inside])[:, 1]
    return Calibration(coef, intercept, mean, scale, conf, right, outside, p_right)


def pick_threshold(conf: np.ndarray, p_right: np.ndarray, rate: float) -> float:
    """The highest threshold on ``conf`` whose *expected* false-unknown rate stays in ``rate``.

    ``conf``: the confidences of out-of-sample calls that do have a label; ``p_right``: the
    probability each was answered right. Answering ``unknown`` below t gives up, in
    expectation, the sum of ``p_right`` under t, out of every such call. An expectation rather
    than a count of right answers under t: with a few dozen labeled calls, 1% of them is less
    than one call and a count would never allow any threshold at all."""
    if rate <= 0 or rate * conf.size < 1:
        # Fewer than 1/rate calls cannot tell where the lowest rate of them lies (at 1%, 15
        # calls put 10% of a test set under the threshold on CrossWOZ): no threshold is learned.
        return 0.0
    order = np.argsort(conf, kind="stable")
    ordered = conf[order]
    expected = np.cumsum(p_right[order]) / conf.size
    k = int(np.searchsorted(expected, rate, side="right"))  # the k lowest fit in the budget
    while 0 < k < ordered.size and ordered[k] == ordered[k - 1]:
        k -= 1  # a tie cannot be split: stay below it
    if k == 0:
        return 0.0
    if k >= ordered.size:
        return 1.0
    # Strictly below the (k+1)-th lowest: the k lowest are answered unknown.
    return float(ordered[k])
