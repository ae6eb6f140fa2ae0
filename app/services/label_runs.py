"""Label-quality runs: score the labeled calls of the store, or of a labeled file indexed through
the production ingest path into a temporary collection, then store the run and write its reports
(the engine is ``eval.quality``). The CLI (``eval labels``), the API, the UI and the jobs call
these functions, and nothing else, for a run and for the stored runs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.core.errors import InputError
from app.core.models import Columns
from app.runtime import Runtime, temporary_runtime
from app.services import calls
from eval.quality.engine import (
    Analysis,
    analyse_calls,
    finish_run,
    runs_path,
    unreadable_issue,
)
from eval.quality.issue import REASONS, LabelIssue
from eval.quality.progress import INDEXING, STAGES, Progress, Tracker
from eval.quality.runs import LabelRuns
from retrieval.index.embedding import Embedder

__all__ = [
    "REASONS",
    "STAGES",
    "LabelIssue",
    "Progress",
    "analyse",
    "compare",
    "list_runs",
    "run",
    "run_figures",
    "run_issues",
    "run_on_store",
    "run_summary",
]


def analyse(
    settings: Settings,
    *,
    data: Path | None,
    columns: Columns = Columns(),
    embedder: Embedder | None = None,
    runtime: Runtime | None = None,
    progress: Tracker | None = None,
) -> Analysis:
    """Score every labeled row of ``data`` (indexed into a temporary collection) or, without
    ``data``, every labeled call in the store (through ``runtime`` when the caller has one
    open: an embedded shard can be opened once per process)."""
    progress = progress or Tracker()
    if data is not None:
        return _analyse_file(settings, data, columns, embedder, progress)
    with _open(settings, embedder, runtime) as rt:
        return analyse_calls(
            rt.calls, settings, source=f"store:{settings.qdrant.index}", progress=progress
        )


def run(
    settings: Settings,
    *,
    data: Path | None,
    out: Path,
    columns: Columns = Columns(),
    embedder: Embedder | None = None,
    adjudicate_top: int | None = None,
    runtime: Runtime | None = None,
    on_progress: Progress | None = None,
) -> tuple[dict[str, Any], list[LabelIssue]]:
    """Analyse, review the top suspects with the LLM (when one is configured), record and
    report; returns the summary and the issues. ``on_progress(percent, 100, stage)`` hears
    how far the run is (``stage`` is one of ``STAGES``), often enough to move steadily."""
    started = time.perf_counter()
    llm = adjudicate_top != 0 and settings.llm.enabled
    progress = Tracker(on_progress, indexing=data is not None, llm=llm)
    a = analyse(
        settings, data=data, columns=columns, embedder=embedder, runtime=runtime, progress=progress
    )
    finish = dict(adjudicate_top=adjudicate_top, progress=progress, started=started)
    if not llm:
        return finish_run(settings, a, out, llm=None, **finish)  # type: ignore[arg-type]
    with _open(settings, embedder, runtime) as rt:
        return finish_run(settings, a, out, llm=rt.llm, **finish)  # type: ignore[arg-type]


def run_on_store(
    runtime: Runtime, adjudicate: int | None = None, on_progress: Progress | None = None
) -> dict[str, Any]:
    """A run over the labeled calls in the store, its reports in a fresh folder under the state
    dir (``label-runs/<time>-<id>``); returns its summary."""
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    out = runtime.settings.paths.state_dir / "label-runs" / stamp
    summary, _ = run(
        runtime.settings,
        data=None,
        out=out,
        embedder=runtime.embedder,
        adjudicate_top=adjudicate,
        runtime=runtime,
        on_progress=on_progress,
    )
    return summary


def list_runs(settings: Settings) -> list[dict[str, Any]]:
    """The stored runs, newest first, with their headline numbers."""
    with _runs(settings) as runs:
        return runs.list()


def compare(settings: Settings, a: int, b: int) -> dict[str, Any]:
    """What changed from run ``a`` to run ``b``."""
    with _runs(settings) as runs:
        return runs.compare(a, b)


def run_summary(settings: Settings, run_id: int) -> dict[str, Any]:
    """One stored run's summary (``InputError`` when there is no such run)."""
    with _runs(settings) as runs:
        return runs.summary(run_id)


def run_issues(settings: Settings, run_id: int) -> list[LabelIssue]:
    """A stored run's scored rows, most suspect first: given labels, the suggested change,
    score, flag and reasons (``InputError`` when there is no such run). A run stored before
    the rows were kept whole is read from its ``label_issues.csv``; its suggestion replaces
    the given label (what it meant then)."""
    with _runs(settings) as runs:
        issues = runs.issues(run_id)
        summary = runs.summary(run_id)
    if issues is not None:
        return issues
    return _issues_from_csv(Path(summary.get("out") or "") / "label_issues.csv")


def run_figures(settings: Settings, run_id: int, lang: str = "en") -> list[tuple[str, str]]:
    """A stored run's plots as (base64 PNG, caption), in ``lang``: the report's confusion
    heatmap, per-label F1 and score histogram."""
    from eval.quality.report import figures

    summary = run_summary(settings, run_id)
    issues = sorted(run_issues(settings, run_id), key=lambda i: -i.score)
    return figures(issues, summary, lang)


def _issues_from_csv(path: Path) -> list[LabelIssue]:
    import csv

    if not path.is_file():
        return []
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    issues = []
    for r in rows:
        if r.get("reasons", "").startswith("unreadable"):
            continue
        given, suggested = r.get("given_label", ""), r.get("suggested_label", "")
        changed = suggested and suggested != given
        issues.append(
            LabelIssue(
                row=int(r.get("row") or 0),
                call_id=r.get("id", ""),
                given_label=given,
                suggested_label=suggested,
                score=float(r.get("score") or 0.0),
                reasons=[x.strip().split(" (")[0] for x in r.get("reasons", "").split(";") if x],
                flagged=r.get("flagged", "").lower() == "true",
                add=[suggested] if changed else [],
                remove=[given] if changed else [],
            )
        )
    return sorted(issues, key=lambda i: -i.score)


@contextmanager
def _runs(settings: Settings) -> Iterator[LabelRuns]:
    runs = LabelRuns(runs_path(settings))
    try:
        yield runs
    finally:
        runs.close()


def _analyse_file(
    settings: Settings,
    data: Path,
    columns: Columns,
    embedder: Embedder | None,
    progress: Tracker,
) -> Analysis:
    """Index FILE through the production path into a temporary collection and analyse it."""
    sources, errors = calls.read_labeled(settings, data, columns)
    n = len(sources) + len(errors)  # every row is either a source or an error, in order
    if not sources:
        first = f": {errors[0][0]}: {errors[0][1]}" if errors else ""
        raise InputError(f"{data}: no usable labeled rows{first}")
    rows_used = {s.extra["row"] for s in sources}
    unreadable = [
        unreadable_issue(row, origin, message)
        for row, (origin, message) in zip(sorted(set(range(n)) - rows_used), errors, strict=True)
    ]
    row_of = {s.call_id: s.extra["row"] for s in sources}
    timings: dict[str, float] = {}
    with temporary_runtime(settings, prefix="labels", embedder=embedder) as runtime:
        t = time.perf_counter()
        progress(INDEXING)
        indexed = iter(range(1, len(sources) + 1))
        results = calls.ingest_sources(
            runtime, sources, on_result=lambda _: progress(INDEXING, next(indexed) / len(sources))
        )
        timings["index"] = time.perf_counter() - t
        unreadable += [
            unreadable_issue(row_of[r.call_id], r.origin, r.error or "not indexed", r.call_id)
            for r in results
            if r.status == "failed"
        ]
        return analyse_calls(
            runtime.calls,
            settings,
            source=str(data),
            row_of=row_of,
            n=n,
            unreadable=unreadable,
            timings=timings,
            progress=progress,
        )


@contextmanager
def _open(
    settings: Settings, embedder: Embedder | None, runtime: Runtime | None
) -> Iterator[Runtime]:
    """The caller's open runtime (left open), or one of our own (closed after)."""
    if runtime is not None:
        yield runtime
        return
    with Runtime(settings, embedder=embedder) as own:
        yield own
