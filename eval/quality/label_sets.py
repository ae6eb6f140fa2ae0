"""Judging a call with several labels by its set, not by its first label.

The evidence (out-of-sample probabilities over the labels, ``eval.quality.scores``) is the same
as for a one-label call. What changes is the question: a call labelled ``refund;delivery_delay``
whose evidence says ``delivery_delay`` agrees with its labels, it does not contradict them.
After cleanlab's multi-label issue finding (one-vs-rest per label), per label of the set:

* a label **outside** the set is wanted when it is the most probable of the labels that clear
  their own threshold (the mean probability a label gets on the calls carrying it), exactly the
  one-label rule: the call is flagged and the label added (or put in place of an unsupported
  one: a replace);
* a label **inside** the set is unsupported when its probability is no higher than the mean it
  gets on calls *without* it (the call looks like one that lacks it). It is suggested for
  removal when another label of the set is confident, so the call keeps what the evidence backs.

The score ranks doubt about the set: the higher of 1 − the probability mass on its labels and
the doubt about its weakest label, 1 − p / (p + the mean it gets on calls without it) (0.5 when
the label looks like a call without it, as a flagged one-label call scores over 0.5 or so).
Everything else (near-duplicates, outliers, small labels) is judged as for one label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from eval.quality.issue import LabelIssue

if TYPE_CHECKING:
    from eval.quality.scores import Example


def given_sets(examples: Sequence[Example], column: dict[str, int]) -> list[list[int]]:
    """Each example's labels as columns, primary first. A secondary label outside the label set
    (never anyone's primary label) has no column and no evidence, so it is left out here and
    left alone by the suggestion."""
    return [
        list(dict.fromkeys(column[label] for label in ex.label_set if label in column))
        for ex in examples
    ]


def absent_means(probs: np.ndarray, sets: Sequence[Sequence[int]]) -> np.ndarray:
    """Per label, the mean probability it gets on the calls that do not carry it."""
    carries = np.zeros(probs.shape, dtype=bool)
    for i, members in enumerate(sets):
        carries[i, list(members)] = True
    without = ~carries
    totals = np.where(without, probs, 0.0).sum(axis=0)
    counts = without.sum(axis=0)
    return np.where(counts > 0, totals / np.maximum(counts, 1), 0.0)


def score_set(
    i: int,
    examples: Sequence[Example],
    sets: Sequence[Sequence[int]],
    labels: list[str],
    probs: np.ndarray,
    thresholds: np.ndarray,
    small: np.ndarray,
    duplicates: Sequence[Sequence[int]],
    outlier: np.ndarray,
    absent: np.ndarray,
) -> LabelIssue:
    """The :class:`LabelIssue` of example ``i``, which has several labels (``sets[i]``);
    ``absent`` is :func:`absent_means` of the run."""
    ex, given = examples[i], list(sets[i])
    p = probs[i]
    mine = np.zeros(len(labels), dtype=bool)
    mine[given] = True
    # Small labels take no part in suggestions for calls that do not carry them.
    ranked = np.where(small & ~mine, -1.0, p)
    confident = np.where(ranked >= thresholds)[0]
    assigned = int(confident[ranked[confident].argmax()]) if len(confident) else None
    unsupported = [j for j in given if p[j] <= absent[j] and j != assigned]
    # The set's self-confidence: the probability that the best label is one of its labels,
    # and no lower than the support of its weakest label (so a label to remove ranks high).
    doubts = [1.0 - p[j] / max(p[j] + absent[j], 1e-12) for j in given]
    self_conf = min(1.0, float(p[given].sum()), 1.0 - max(doubts))
    reasons: list[str] = []
    add: list[int] = []
    remove: list[int] = []
    if assigned is not None and not mine[assigned]:
        reasons.append("other_label_confident")
        add = [assigned]
        # The weakest unsupported label makes way (a replace); none: the label is added.
        remove = sorted(unsupported, key=lambda j: p[j] - absent[j])[:1]
    elif assigned is not None and unsupported:
        reasons.append("unsupported_label")
        remove = unsupported
    if p[given].sum() < 0.5 * thresholds[given[0]]:
        reasons.append("low_self_confidence")
    conflicts = [
        examples[j].call_id
        for j in duplicates[i]
        if set(examples[j].label_set) != set(ex.label_set)
    ]
    if conflicts:
        reasons.append("near_duplicate_conflict")
    if outlier[i]:
        reasons.append("outlier")
    if small[given[0]] and not (add or remove):
        # Too few calls to check the primary label: a person looks, with the best label the
        # call does not have in its place.
        reasons.append("small_label")
        others = np.where(mine, -1.0, ranked)
        if others.max() > 0:
            add, remove = [int(others.argmax())], [given[0]]
    flagged = bool(add or remove)
    if add:
        suggested = labels[add[0]]
    else:
        kept = [j for j in given if j not in remove]
        suggested = labels[max(kept, key=lambda j: p[j])] if kept else labels[int(p.argmax())]
    return LabelIssue(
        row=ex.row,
        call_id=ex.call_id,
        given_label=ex.label,
        suggested_label=suggested,
        score=round(1.0 - self_conf, 4),
        reasons=reasons,
        flagged=flagged,
        self_confidence=round(self_conf, 4),
        conflicts=conflicts,
        text=ex.text,
        given_labels=list(ex.label_set),
        add=[labels[j] for j in add],
        remove=[labels[j] for j in remove],
    )
