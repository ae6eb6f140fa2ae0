"""Noise benchmark of label-quality runs: how well does the ranking find flipped labels?

Takes a stratified sample of a labeled CSV (default: Banking77 train), flips ``--noise`` of the
rows to a uniformly drawn other label (seeded, symmetric noise), runs the production analysis
(``app.services.label_runs.analyse``: indexing through the ingest pipeline, leave-one-out kNN,
cross-validated
light model) and scores each ranking against the known flips: precision and recall at N (N = the
number of flipped rows), the area under the precision-recall curve (average precision), and the
precision/recall of the set each method flags.

In the same run, cleanlab's ``find_label_issues`` (and its label-quality scores for the ranking)
is fed (a) the same cross-validated probabilities of our light model and (b) cross-validated
probabilities of a plain logistic regression on the same dense embeddings. cleanlab is AGPL-3.0
and only a benchmark extra (``pip install -e .[bench]``); without it those rows are skipped.

    python -m eval.bench_labels --data ../shared/data/banking77/train.csv --label-col category \\
        --per-label 40 --noise 0.1 --seed 0 --json docs/bench_labels.json
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from app.core.config import load_settings
from app.core.models import Columns
from app.services.label_runs import analyse


def noisy_sample(
    rows: list[dict[str, str]], label_col: str, per_label: int | None, noise: float, seed: int
) -> tuple[list[dict[str, str]], set[int]]:
    """A stratified sample (``per_label`` rows of each label, all when None) with ``noise`` of
    its rows flipped to a uniformly drawn other label; returns the rows and the flipped rows."""
    rng = random.Random(seed)
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row[label_col]].append(row)
    sample = []
    for label in sorted(by_label):
        group = by_label[label]
        sample += rng.sample(group, min(per_label, len(group))) if per_label else group
    rng.shuffle(sample)
    labels = sorted(by_label)
    flipped = set(rng.sample(range(len(sample)), round(noise * len(sample))))
    out = []
    for i, row in enumerate(sample):
        row = dict(row, id=f"r{i:05d}")
        if i in flipped:
            row[label_col] = rng.choice([lab for lab in labels if lab != row[label_col]])
        out.append(row)
    return out, flipped


def ranking_metrics(scores: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision/recall at N (N = true issues) and average precision of a score ranking."""
    from sklearn.metrics import average_precision_score

    n = int(truth.sum())
    top = np.argsort(-scores, kind="stable")[:n]
    hits = int(truth[top].sum())
    return {
        "precision_at_n": round(hits / n, 4),
        "recall_at_n": round(hits / n, 4),
        "auprc": round(float(average_precision_score(truth, scores)), 4),
    }


def set_metrics(flagged: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = int((flagged & truth).sum())
    return {
        "n_flagged": int(flagged.sum()),
        "flag_precision": round(tp / flagged.sum(), 4) if flagged.sum() else 0.0,
        "flag_recall": round(tp / truth.sum(), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/banking77/train.csv"))
    parser.add_argument("--text-col", default="text")
    parser.add_argument("--label-col", default="category")
    parser.add_argument("--per-label", type=int, default=40, help="0 = every row")
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="Write the results here too.")
    args = parser.parse_args()

    with args.data.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    sample, flipped = noisy_sample(
        rows, args.label_col, args.per_label or None, args.noise, args.seed
    )
    results: dict[str, Any] = {
        "data": str(args.data),
        "rows": len(sample),
        "labels": len({r[args.label_col] for r in sample}),
        "flipped": len(flipped),
        "noise": args.noise,
        "seed": args.seed,
        "methods": {},
    }
    with tempfile.TemporaryDirectory(prefix="callscope-bench-labels-") as tmp:
        path = Path(tmp) / "noisy.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=["id", args.text_col, args.label_col])
            writer.writeheader()
            writer.writerows(
                {k: r[k] for k in ("id", args.text_col, args.label_col)} for r in sample
            )
        settings = load_settings(paths={"state_dir": Path(tmp) / "state"})
        started = time.perf_counter()
        a = analyse(
            settings,
            data=path,
            columns=Columns(id="id", text=args.text_col, label=args.label_col),
        )
        results["seconds_analysis"] = round(time.perf_counter() - started, 1)
        results["timings"] = {k: round(v, 1) for k, v in a.timings.items()}

    truth = np.array([i.row in flipped for i in a.issues])
    column = {label: j for j, label in enumerate(a.labels)}
    given = np.array([column[i.given_label] for i in a.issues])
    methods = results["methods"]

    def margin_rank(probs: np.ndarray) -> np.ndarray:
        own = probs[np.arange(len(given)), given]
        other = probs.copy()
        other[np.arange(len(given)), given] = -1
        return -(own - other.max(axis=1))

    def self_rank(probs: np.ndarray) -> np.ndarray:
        return -probs[np.arange(len(given)), given]

    for weight in (1.0, 0.0, 0.3, 0.5, 0.7):
        mixed = weight * a.probs["knn"] + (1 - weight) * a.probs["model"]
        name = {1.0: "LOO kNN vote", 0.0: "CV light model"}.get(weight, f"mix knn_weight={weight}")
        methods[f"{name}, self-confidence"] = ranking_metrics(self_rank(mixed), truth)
        methods[f"{name}, margin"] = ranking_metrics(margin_rank(mixed), truth)
    self_conf = np.array([i.self_confidence for i in a.issues])
    conflict = np.array(["near_duplicate_conflict" in i.reasons for i in a.issues])
    outlier = np.array(["outlier" in i.reasons for i in a.issues])
    for c, o in ((0.1, 0.0), (0.0, 0.05), (0.2, 0.1)):
        variant = 1 - self_conf + c * conflict + o * outlier
        methods[f"final score with conflict +{c}, outlier +{o}"] = ranking_metrics(variant, truth)
    final = np.array([i.score for i in a.issues])
    flags = np.array([i.flagged for i in a.issues])
    methods["callscope final score + flags"] = {
        **ranking_metrics(final, truth),
        **set_metrics(flags, truth),
    }
    _cleanlab(methods, a, given, truth)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def _cleanlab(methods: dict, a: Any, given: np.ndarray, truth: np.ndarray) -> None:
    try:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        methods["cleanlab"] = "skipped: cleanlab not installed (pip install -e .[bench])"
        return
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    plain = cross_val_predict(
        LogisticRegression(max_iter=1000),
        a.dense,
        given,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        method="predict_proba",
    )
    for name, probs in (("our CV light model", a.probs["model"]), ("plain CV LR on dense", plain)):
        quality = get_label_quality_scores(given, probs)
        issues = find_label_issues(given, probs)
        methods[f"cleanlab on {name}"] = {
            **ranking_metrics(-quality, truth),
            **set_metrics(np.asarray(issues, dtype=bool), truth),
        }


if __name__ == "__main__":
    main()
