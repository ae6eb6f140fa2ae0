"""``callscope eval classify``: index a labeled TRAIN file through the production path into a
fresh temporary collection, classify TEST with the production classifier, and score it.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.core.errors import InputError
from app.core.models import CallSource, Columns
from app.core.text import call_text
from app.runtime import temporary_runtime
from app.services import calls
from app.services.llm_trust import refiner
from ingest.labels import load_labeled
from retrieval.classify.knn import UNKNOWN, Classification, KnnClassifier
from retrieval.classify.unknown import Calibration
from retrieval.index.embedding import Embedder


def sample_shots(sources: list[CallSource], shots: int | None, seed: int) -> list[CallSource]:
    """``shots`` rows per primary label, drawn with ``seed``; all rows when ``shots`` is None."""
    if shots is None:
        return sources
    by_label: dict[str, list[CallSource]] = defaultdict(list)
    for source in sources:
        by_label[source.labels[0]].append(source)
    rng = random.Random(seed)
    picked = []
    for label in sorted(by_label):
        rows = by_label[label]
        picked.extend(rng.sample(rows, min(shots, len(rows))))
    return picked


def run(
    settings: Settings,
    *,
    train: Path,
    test: Path,
    columns: Columns,
    shots: int | None,
    seed: int,
    k: int | None,
    mode: str,
    embedder: Embedder | None = None,
    unknown_label: str | None = None,
    unknown_rates: list[float] | None = None,
) -> dict[str, Any]:
    """Run the evaluation; returns the summary the CLI prints as JSON.

    ``unknown_label``: rows with that gold (first) label stand for calls whose reason no label
    covers: never trained on, and right only when classified ``unknown``; the summary adds
    ``in_scope_accuracy``, ``unknown_recall`` and ``unknown_precision``.

    ``unknown_rates``: the summary adds ``unknown_sweep``, the same answers scored at the
    threshold each false-unknown rate would set (kNN mode; the answers' confidences do not
    depend on the rate, so nothing is classified again)."""
    if mode not in ("knn", "llm"):
        raise InputError(f"--mode must be knn or llm, not {mode!r}")
    if mode == "llm" and not settings.llm.enabled:
        raise InputError("--mode llm needs LLM__BASE_URL and LLM__MODEL (no LLM is configured)")
    started = time.perf_counter()
    train_rows, train_errors = load_labeled(train, columns)
    test_rows, _ = load_labeled(test, columns)
    if not train_rows or not test_rows:
        raise InputError("TRAIN and TEST each need at least one labeled row")
    if unknown_label is not None:
        train_rows = [s for s in train_rows if unknown_label not in s.labels]
    train_rows = sample_shots(train_rows, shots, seed)
    for source in train_rows:
        source.split = "train"

    with temporary_runtime(settings, prefix="eval", embedder=embedder) as runtime:
        run_settings = runtime.settings
        if k is not None:
            run_settings = run_settings.with_changes(classify={"k": k})
        results = calls.ingest_sources(runtime, train_rows)
        indexed = sum(r.status == "indexed" for r in results)
        classifier = KnnClassifier(
            runtime.calls,
            runtime.embedder,
            runtime.sparse,
            run_settings.classify,
            run_settings.index,
        )
        texts = [call_text(s.transcript) for s in test_rows if s.transcript is not None]
        if len(texts) != len(test_rows):
            raise InputError("eval classify takes transcript text rows, not audio paths")
        classify_started = time.perf_counter()
        predictions = classifier.classify_texts(texts)
        knn_seconds = time.perf_counter() - classify_started
        sweep = None
        if unknown_rates and mode == "knn":
            sweep = unknown_sweep(
                [s.labels for s in test_rows],
                predictions,
                classifier.calibration(),
                unknown_rates,
                unknown_label,
            )
        trust = None
        if mode == "llm":
            # As `classify` does it: the LLM decides where LLM__TRUST says (measured on the
            # labeled TRAIN rows by default).
            refine = refiner(runtime)
            if refine is not None:
                predictions = refine(predictions, texts)
                trust = refine.trust.summary() if refine.trust is not None else None
            summary_usage = runtime.llm_usage()

    summary = score([s.labels for s in test_rows], predictions)
    if any(len(s.labels) > 1 for s in test_rows):
        summary["multi_label"] = multi_label_score([s.labels for s in test_rows], predictions)
    summary["decided_by"] = dict(Counter(p.decided_by for p in predictions))
    if unknown_label is not None:
        gold = [s.labels for s in test_rows]
        summary.update(out_of_scope_score(gold, predictions, unknown_label))
    if sweep is not None:
        summary["unknown_sweep"] = sweep
    if mode == "llm":
        summary["llm_usage"] = summary_usage
        summary["llm_trust"] = trust or settings.llm.trust
    summary.update(
        n_train=indexed,
        n_train_rejected=len(train_errors) + sum(r.status == "failed" for r in results),
        n_test=len(test_rows),
        k=run_settings.classify.k,
        mode=mode,
        shots=shots,
        seed=seed,
        seconds=round(time.perf_counter() - started, 2),
        # kNN path end to end per new call: its turns embedded + BM25-encoded + 2 queries +
        # vote + light model (its one-off fit included).
        knn_calls_per_s=round(len(texts) / knn_seconds, 1),
    )
    return summary


def unknown_sweep(
    gold: list[list[str]],
    predictions: list[Classification],
    calibration: Calibration | None,
    rates: list[float],
    unknown_label: str | None,
) -> list[dict[str, Any]] | str:
    """Per false-unknown rate: its threshold and the scores the answers would get with it."""
    if calibration is None:
        return "no calibration (fewer than 2 labels, or no wrong answer to learn from)"
    rows = []
    for rate in rates:
        threshold = calibration.threshold_for(rate)
        said = [
            UNKNOWN if p.confidence < threshold or not p.candidates else p.candidates[0][0]
            for p in predictions
        ]
        row: dict[str, Any] = {
            "false_unknown_rate": rate,
            "threshold": round(threshold, 4),
            "accuracy": round(
                sum(g[0] == s for g, s in zip(gold, said, strict=True)) / len(gold), 4
            ),
            "abstained": said.count(UNKNOWN),
        }
        if unknown_label is not None:
            row.update(_out_of_scope(gold, said, unknown_label))
        rows.append(row)
    return rows


def out_of_scope_score(
    gold: list[list[str]], predictions: list[Classification], unknown_label: str
) -> dict[str, Any]:
    """How well ``unknown`` separates calls of no known reason (gold ``unknown_label``) from the
    rest: accuracy on the in-scope rows, and recall/precision of the ``unknown`` answer."""
    return _out_of_scope(gold, [p.label for p in predictions], unknown_label)


def _out_of_scope(gold: list[list[str]], said: list[str], unknown_label: str) -> dict[str, Any]:
    outside = [bool(g) and g[0] == unknown_label for g in gold]
    said_unknown = [s == UNKNOWN for s in said]
    inside = [(g, s) for g, s, o in zip(gold, said, outside, strict=True) if not o]
    caught = sum(o and u for o, u in zip(outside, said_unknown, strict=True))
    return {
        "n_out_of_scope": sum(outside),
        "in_scope_accuracy": round(sum(g[0] == s for g, s in inside) / len(inside), 4)
        if inside
        else None,
        "unknown_recall": round(caught / sum(outside), 4) if any(outside) else None,
        "unknown_precision": round(caught / sum(said_unknown), 4) if any(said_unknown) else None,
    }


def score(gold: list[list[str]], predictions: list[Classification]) -> dict[str, Any]:
    """Accuracy (an abstention counts as wrong), macro F1 over gold labels, per-label P/R/F1,
    and label recall@k: the share of rows whose gold label is among the neighbours' labels."""
    n = len(gold)
    truth = [g[0] for g in gold]
    guess = [p.label for p in predictions]
    correct = sum(t == g for t, g in zip(truth, guess, strict=True))
    in_neighbours = sum(
        t in {lab for nb in p.neighbours for lab in nb.labels}
        for t, p in zip(truth, predictions, strict=True)
    )
    per_label: dict[str, dict[str, float]] = {}
    for label in sorted(set(truth)):
        tp = sum(t == label and g == label for t, g in zip(truth, guess, strict=True))
        predicted = sum(g == label for g in guess)
        actual = sum(t == label for t in truth)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": actual,
        }
    return {
        "accuracy": round(correct / n, 4) if n else 0.0,
        "macro_f1": round(sum(v["f1"] for v in per_label.values()) / len(per_label), 4)
        if per_label
        else 0.0,
        "label_recall_at_k": round(in_neighbours / n, 4) if n else 0.0,
        "abstained": sum(p.label == UNKNOWN for p in predictions),
        "per_label": per_label,
    }


def multi_label_score(gold: list[list[str]], predictions: list[Classification]) -> dict[str, Any]:
    """Set metrics when rows carry several labels: ``exact_match`` (the predicted set is the gold
    set), micro-F1 over every (row, label) decision, macro-F1 over gold labels, per-label P/R/F1.
    The prediction of a row is every label it returned (``Classification.labels``)."""
    predicted = [set(p.labels) for p in predictions]
    truth = [set(g) for g in gold]
    exact = sum(p == t for p, t in zip(predicted, truth, strict=True))
    labels = sorted(set().union(*truth))
    per_label: dict[str, dict[str, float]] = {}
    tp_all = fp_all = fn_all = 0
    for label in labels:
        tp = sum(label in p and label in t for p, t in zip(predicted, truth, strict=True))
        fp = sum(label in p and label not in t for p, t in zip(predicted, truth, strict=True))
        fn = sum(label not in p and label in t for p, t in zip(predicted, truth, strict=True))
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        per_label[label] = {**_prf(tp, fp, fn), "support": tp + fn}
    # Labels predicted but never gold count as false positives in micro-F1.
    fp_all += sum(len(p - set(labels)) for p in predicted)
    n = len(gold)
    return {
        "exact_match": round(exact / n, 4) if n else 0.0,
        "micro_f1": _prf(tp_all, fp_all, fn_all)["f1"],
        "macro_f1": round(sum(v["f1"] for v in per_label.values()) / len(per_label), 4)
        if per_label
        else 0.0,
        "per_label": per_label,
    }


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}
