"""The answer for one call: the neighbours' vote and the light model blended, the confidence
calibrated, ``unknown`` below the learned threshold, and the best candidate labels kept.

``decide`` is the last step of ``KnnClassifier``; it holds no state, so what a call was
answered can be worked out again from its neighbours and the model's probabilities.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from app.core.config import ClassifySettings
from retrieval.classify.label_model import LabelModel
from retrieval.classify.unknown import UNKNOWN, Calibration, evidence
from retrieval.classify.vote import Neighbour, neighbour_vote, vote_weights

#: Candidate labels kept with every answer.
CANDIDATES = 3


@dataclass
class Classification:
    """The answer for one call, with everything needed to audit it later."""

    label: str
    confidence: float
    labels: list[str]
    scores: dict[str, float]
    neighbours: list[Neighbour]
    decided_by: str  # "knn", "llm", "abstain"
    flags: list[str] = field(default_factory=list)
    #: The neighbours' vote alone (before the light model is blended in).
    vote: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    #: Best labels with their calibrated confidence (also when the answer is ``unknown``).
    candidates: list[tuple[str, float]] = field(default_factory=list)
    #: The evidence the confidence was computed from (``unknown.EVIDENCE``).
    evidence: np.ndarray | None = field(default=None, repr=False)


def decide(
    neighbours: list[Neighbour],
    model: LabelModel | None,
    probs: np.ndarray | None,
    *,
    settings: ClassifySettings,
    chinese: bool = False,
    calibration: Calibration | None = None,
    models: dict[str, str] | None = None,
) -> Classification:
    """One call's answer from its neighbours (each given its share of the vote, ``weight``)
    and the light model's probabilities (``probs``, in ``model.labels`` order; None without
    the model). ``models`` names the embedding and sparse models for the provenance."""
    s = settings
    # ``settings`` were read for the embedder (``vote.for_embedder``): the Chinese share is set.
    dense_weight = s.dense_weight_chinese if chinese else s.dense_weight
    assert dense_weight is not None, "classify settings not read for an embedder"
    weights = vote_weights(neighbours, s.temperature, dense_weight)
    neighbours = [replace(n, weight=round(w, 4)) for n, w in zip(neighbours, weights, strict=True)]
    vote = neighbour_vote(neighbours, s.temperature, dense_weight)
    scores = dict(vote)
    if probs is not None and model is not None:
        w = s.model_weight
        scores = defaultdict(float, {label: (1 - w) * v for label, v in vote.items()})
        for label, p in zip(model.labels, probs, strict=True):
            scores[label] += w * float(p)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if not ranked:
        return Classification(UNKNOWN, 0.0, [], {}, neighbours, "abstain", ["no_labeled_calls"])
    found = evidence(ranked, probs, vote, neighbours)
    best, top = ranked[0]
    if calibration is not None:
        confidence = float(calibration.confidence(found)[0])
        threshold = (
            calibration.threshold_for(s.false_unknown_rate)
            if s.min_confidence is None
            else s.min_confidence
        )
    else:  # too few labels to calibrate: the blended score, and only a fixed threshold
        confidence, threshold = float(top), s.min_confidence or 0.0
    label, decided_by, flags = best, "knn", []
    if confidence < threshold:
        label, decided_by, flags = UNKNOWN, "abstain", ["low_confidence"]
    # Other labels' confidences: the best one's, scaled by their blended score.
    candidates = [
        (lab, round(confidence * v / top, 4) if top else 0.0) for lab, v in ranked[:CANDIDATES]
    ]
    return Classification(
        label=label,
        confidence=round(confidence, 4),
        labels=[label] if label != UNKNOWN else [],
        scores={lab: round(float(v), 4) for lab, v in ranked[:10]},
        neighbours=neighbours,
        decided_by=decided_by,
        flags=flags,
        vote={lab: round(float(v), 4) for lab, v in vote.items()},
        provenance={
            **(models or {}),
            "label_model": model.fingerprint if model and model.fitted else None,
            "k": s.k,
            "calibrated": calibration is not None,
            "unknown_below": round(float(threshold), 4),
            "timestamp": time.time(),
        },
        candidates=candidates,
        evidence=found,
    )
