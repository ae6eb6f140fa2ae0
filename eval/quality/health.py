"""Dataset-level health of a label set, from out-of-sample predictions and the run's flags.

Precision/recall/F1 here compare the given labels with what the out-of-sample evidence
predicts: a label with low F1 is one the data does not separate from others (overlapping
definitions, too few or inconsistent examples), which is what QA staff need to look at first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from eval.quality.issue import LabelIssue


def health(
    issues: Sequence[LabelIssue], labels: list[str], probs: np.ndarray, *, min_examples: int
) -> dict[str, Any]:
    """Per-label P/R/F1 and health, the confusion matrix, small labels, imbalance and the
    overall health: the share (0-100) of calls that are not flagged and whose given label is
    the one the out-of-sample evidence predicts."""
    column = {label: j for j, label in enumerate(labels)}
    predicted = probs.argmax(axis=1) if len(issues) else np.zeros(0, dtype=int)
    # A multi-label call counts as the label of its set that the evidence predicts (it agrees),
    # else as its primary label.
    given = np.array(
        [_given(i.labels, column, int(p)) for i, p in zip(issues, predicted, strict=True)],
        dtype=int,
    )
    flagged = np.array([i.flagged for i in issues], dtype=bool)
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(matrix, (given, predicted), 1)
    clean = (~flagged) & (given == predicted)

    per_label: dict[str, dict[str, Any]] = {}
    for j, label in enumerate(labels):
        tp = int(matrix[j, j])
        support = int(matrix[j].sum())
        predicted_n = int(matrix[:, j].sum())
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        mine = given == j
        per_label[label] = {
            "support": support,
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "n_flagged": int(flagged[mine].sum()),
            "health": round(100 * float(clean[mine].mean()), 1) if support else 0.0,
        }
    counts = Counter(i.given_label for i in issues)
    largest, smallest = counts.most_common()[0], counts.most_common()[-1]
    return {
        "health": round(100 * float(clean.mean()), 1) if len(issues) else 0.0,
        "accuracy_out_of_sample": round(float((given == predicted).mean()), 4)
        if len(issues)
        else 0.0,
        "macro_f1": round(float(np.mean([v["f1"] for v in per_label.values()])), 4),
        "per_label": per_label,
        "confusion": {"labels": labels, "matrix": matrix.tolist()},
        "labels_too_few": sorted(label for label, n in counts.items() if n < min_examples),
        "imbalance": {
            "max_min_ratio": round(largest[1] / smallest[1], 2),
            "largest": largest[0],
            "smallest": smallest[0],
        },
    }


def agreement(labels: list[str], given: Sequence[Sequence[str]], probs: np.ndarray) -> float:
    """Share of calls whose most probable label is one of their given labels (each call's
    labels, primary first), for comparing methods."""
    column = {label: j for j, label in enumerate(labels)}
    predicted = probs.argmax(axis=1)
    idx = np.array([_given(g, column, int(p)) for g, p in zip(given, predicted, strict=True)])
    return round(float((predicted == idx).mean()), 4) if len(idx) else 0.0


def _given(labels: Sequence[str], column: dict[str, int], predicted: int) -> int:
    """The column a call's given labels count as: the predicted one when the call has it,
    else its primary label's."""
    mine = [column[label] for label in labels if label in column]
    return predicted if predicted in mine else mine[0]
