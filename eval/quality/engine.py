"""A label-quality run over the labeled calls of a call-level collection: scores every call's
label out of sample (``eval.quality.scores``), measures the label set's health
(``eval.quality.health``), optionally asks an LLM about the top suspects, stores the run for
later comparison (``eval.quality.runs``) and writes the reports (``eval.quality.report``).

Which collection (the store's, or a temporary one a labeled file was indexed into) is the
service's business (``app.services.label_runs``); this engine gets the collection and the LLM.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.config import Settings
from app.core.errors import InputError
from app.core.text import has_cjk
from eval.quality.health import agreement, health
from eval.quality.issue import LabelIssue
from eval.quality.progress import (
    DUPLICATES,
    KNN,
    LLM_REVIEW,
    MODEL,
    READING,
    REPORTS,
    Tracker,
)
from eval.quality.runs import LabelRuns
from eval.quality.scores import (
    Example,
    cv_model_probs,
    loo_knn_probs,
    near_duplicates,
    nearest_same_label,
    outliers,
    score_examples,
)
from retrieval.classify.vote import for_embedder
from retrieval.index.embedding import profile_of
from retrieval.index.store import SPARSE_OPENING, VectorStore

if TYPE_CHECKING:
    from retrieval.llm.client import LLMClient


def runs_path(settings: Settings) -> Path:
    return settings.paths.state_dir / "label_runs.sqlite"


@dataclass
class Analysis:
    """The scored rows of one dataset and the evidence behind them."""

    issues: list[LabelIssue]
    #: Out-of-sample probabilities by method (``knn``, ``model``, ``combined``), rows = issues.
    probs: dict[str, np.ndarray]
    labels: list[str]
    #: Input rows (scored + unreadable).
    n: int
    unreadable: list[LabelIssue]
    source: str
    #: The dense call vectors, rows = issues (for comparisons in benchmarks).
    dense: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)


def analyse_calls(
    calls: VectorStore,
    settings: Settings,
    *,
    source: str,
    row_of: dict[str, int] | None = None,
    n: int | None = None,
    unreadable: list[LabelIssue] | None = None,
    timings: dict[str, float] | None = None,
    progress: Tracker | None = None,
) -> Analysis:
    """Score every labeled call in ``calls``. ``row_of`` maps call ids to input rows (a file),
    ``n`` counts the input rows and ``unreadable`` lists the rows that never made it in;
    ``progress`` hears how far the run is."""
    timings = {} if timings is None else timings
    progress = progress or Tracker()
    progress(READING)
    examples = _examples(calls, row_of)
    issues, probs, labels = _analyse(calls, examples, settings, timings, progress)
    unreadable = sorted(unreadable or [], key=lambda i: i.row)
    total = len(issues) if n is None else n
    return Analysis(issues, probs, labels, total, unreadable, source, _dense(examples), timings)


def finish_run(
    settings: Settings,
    a: Analysis,
    out: Path,
    *,
    llm: LLMClient | None,
    adjudicate_top: int | None = None,
    progress: Tracker | None = None,
    started: float | None = None,
) -> tuple[dict[str, Any], list[LabelIssue]]:
    """Health, warnings, the LLM review, the stored run and the reports of an analysis;
    returns the summary (printed as JSON) and every issue (unreadable rows included)."""
    started = time.perf_counter() if started is None else started
    progress = progress or Tracker()
    issues, labels = a.issues, a.labels
    lq = settings.labels
    report = health(issues, labels, a.probs["combined"], min_examples=lq.min_examples)
    warnings = [
        f"label {label!r} has only {count} example{'s' if count > 1 else ''}: too few to learn "
        f"from or to check well (labels.min_examples={lq.min_examples})"
        for label, count in sorted(Counter(i.given_label for i in issues).items())
        if count < lq.min_examples
    ]
    if a.unreadable:
        first = a.unreadable[0]
        warnings.append(
            f"{len(a.unreadable)} row(s) could not be scored (see the reasons column), "
            f"first: row {first.row}: {first.reasons[0]}"
        )
    progress(LLM_REVIEW)
    adjudication = _adjudicate(settings, issues, labels, llm, adjudicate_top)
    given = [i.labels for i in issues]
    summary: dict[str, Any] = {
        "run_id": None,
        "source": a.source,
        "fingerprint": _fingerprint(issues),
        "n": a.n,
        "n_scored": len(issues),
        "n_flagged": sum(i.flagged for i in issues),
        "n_near_duplicate_conflicts": sum("near_duplicate_conflict" in i.reasons for i in issues),
        "n_outliers": sum("outlier" in i.reasons for i in issues),
        **report,
        "methods": {
            name: {"agreement": agreement(labels, given, probs)} for name, probs in a.probs.items()
        },
        "adjudication": adjudication,
        "warnings": warnings,
        "timings": {k: round(v, 2) for k, v in a.timings.items()},
        # Stored with the run, so the API can serve a run's reports later.
        "out": str(out.resolve()),
    }
    all_issues = issues + a.unreadable
    summary["seconds"] = round(time.perf_counter() - started, 2)
    runs = LabelRuns(runs_path(settings))
    try:
        runs.record(summary, all_issues)
    finally:
        runs.close()
    from eval.quality.report import write_reports

    progress(REPORTS)
    written = write_reports(all_issues, summary, out, progress.part(REPORTS))
    summary["outputs"] = {k: str(v) for k, v in written.items()}
    progress.finished()
    return summary, all_issues


def _examples(calls: VectorStore, row_of: dict[str, int] | None) -> list[Example]:
    """Every labeled call in the call-level collection (in file order when rows are known)."""
    examples = []
    for point in calls.scroll(with_vectors=True):
        labels = point.payload.get("labels") or []
        if not labels or point.dense is None:
            continue
        call_id = point.payload["call_id"]
        text = str(point.payload.get("text", ""))
        examples.append(
            Example(
                row=row_of[call_id] if row_of is not None else len(examples),
                call_id=call_id,
                label=labels[0],
                dense=np.asarray(point.dense, dtype=np.float32),
                sparse=point.sparse,
                opening=point.more.get(SPARSE_OPENING),
                text=text,
                chinese=has_cjk(text),
                labels=tuple(labels),
            )
        )
    return sorted(examples, key=lambda e: e.row)


def _analyse(
    calls: VectorStore,
    examples: list[Example],
    settings: Settings,
    timings: dict[str, float],
    progress: Tracker,
) -> tuple[list[LabelIssue], dict[str, np.ndarray], list[str]]:
    labels = sorted({e.label for e in examples})
    if len(labels) < 2:
        found = f"only {labels[0]!r}" if labels else "none"
        raise InputError(f"a label-quality run needs calls of at least two labels (found {found})")
    lq = settings.labels
    # Thresholds read on the similarity range of the model the calls were embedded with.
    profile = profile_of(calls.info.model_id)
    classify = for_embedder(settings.classify, profile)
    dense = _dense(examples)
    progress(DUPLICATES)
    t = time.perf_counter()
    dups = near_duplicates(dense, profile.absolute(lq.near_duplicate))
    far = outliers(
        nearest_same_label(dense, [e.label for e in examples]), [e.label for e in examples]
    )
    timings["duplicates_outliers"] = time.perf_counter() - t
    progress(KNN)
    t = time.perf_counter()
    knn = loo_knn_probs(calls, examples, labels, classify, dups, progress.part(KNN))
    timings["knn"] = time.perf_counter() - t
    progress(MODEL)
    t = time.perf_counter()
    model = cv_model_probs(examples, labels, folds=lq.folds, done=progress.part(MODEL))
    timings["model"] = time.perf_counter() - t
    combined = lq.knn_weight * knn + (1 - lq.knn_weight) * model
    issues = score_examples(examples, labels, combined, dups, far, lq.min_examples)
    return issues, {"knn": knn, "model": model, "combined": combined}, labels


def _adjudicate(
    settings: Settings,
    issues: list[LabelIssue],
    labels: list[str],
    llm: LLMClient | None,
    top: int | None,
) -> dict[str, Any]:
    top = settings.labels.adjudicate_top if top is None else top
    if top == 0:
        return {"done": 0, "skipped": "adjudication turned off (--adjudicate 0)"}
    if llm is None:
        return {"done": 0, "skipped": "no LLM configured (set LLM__BASE_URL and LLM__MODEL)"}
    from eval.quality.adjudicate import adjudicate

    # The most typical calls of each label (highest self-confidence, not flagged) as examples.
    typical: dict[str, list[str]] = {}
    for issue in sorted(issues, key=lambda i: -(i.self_confidence or 0.0)):
        if not issue.flagged and issue.text:
            typical.setdefault(issue.given_label, []).append(issue.text)
    result = adjudicate(llm, issues, typical, labels, top=top, concurrency=settings.llm.concurrency)
    result["usage"] = llm.usage_line()
    return result


def _dense(examples: list[Example]) -> np.ndarray:
    return np.vstack([e.dense for e in examples]) if examples else np.zeros((0, 0), np.float32)


def unreadable_issue(row: int, origin: str, message: str, call_id: str = "") -> LabelIssue:
    return LabelIssue(
        row=row,
        call_id=call_id,
        given_label="",
        suggested_label="",
        score=0.0,
        reasons=[f"unreadable: {origin}: {message}"],
    )


def _fingerprint(issues: list[LabelIssue]) -> str:
    digest = hashlib.sha256()
    for issue in sorted(issues, key=lambda i: i.call_id):
        text = hashlib.sha1(issue.text.encode()).hexdigest()
        digest.update(f"{issue.call_id}\t{issue.given_label}\t{text}\n".encode())
    return digest.hexdigest()[:16]
