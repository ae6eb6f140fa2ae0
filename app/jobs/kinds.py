"""What each kind of background job does (``app/jobs/queue.py`` is the queue); each
handler is a thin adapter over a service function.

Every handler takes the shared Runtime, the job (its ``params`` say what to do) and a
``progress(done, total, message)`` callback, and returns the job's result. Each one is safe to
run again from the start after an interruption: that is how a job resumes after a restart.

- ``ingest``: uploaded files already stored under ``uploads/`` -> indexed calls.
- ``import``: an uploaded labeled-data table (CSV/XLSX/JSONL, with the recordings it names)
  -> labeled calls.
- ``classify``: uploaded recordings/transcripts -> one classification each, appended to the
  job's ``progress.jsonl`` as they come (a resumed job skips what is there), then the results
  as CSV, XLSX and JSONL.
- ``batch``: uploaded recordings/transcripts -> indexed, classified calls and the run's
  results and summary (``app.services.batch_run``, what ``callscope batch`` runs).
- ``label_run``: a label-quality run over the labeled calls in the store.
- ``rules_apply``: every stored call checked against the quality-inspection rules it was not
  yet checked with (after rules are saved); a resumed job goes on where results are missing.
- ``scorecard_score``: the stored calls scored with a scorecard (``params["name"]``); a resumed
  job scores only the calls not yet scored with its version.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.jobs.queue import Cleanup, Handler, Job, Progress, jobs_dir
from app.services import batch_run, calls, inspection, label_runs, scorecards
from app.services.classify_uploads import classify_uploads, discard_uploads

if TYPE_CHECKING:
    from app.runtime import Runtime


def _stored(job: Job) -> list[tuple[str, Path]]:
    return [(f["name"], Path(f["path"])) for f in job.params["files"]]


def run_ingest(runtime: Runtime, job: Job, progress: Progress) -> dict[str, Any]:
    stored = _stored(job)
    progress(0, len(stored), "starting")
    results = calls.ingest_stored(
        runtime,
        stored,
        job.params.get("labels"),
        job.params.get("date"),
        on_result=calls.ingest_counter(progress, len(stored), "indexed"),
        hotwords=job.params.get("hotwords") or (),
    )
    return {"results": results, "counts": dict(Counter(r["status"] for r in results))}


def run_import(runtime: Runtime, job: Job, progress: Progress) -> dict[str, Any]:
    return calls.import_table(runtime, job.params, progress)


def run_classify(runtime: Runtime, job: Job, progress: Progress) -> dict[str, Any]:
    folder = jobs_dir(runtime, job.id)
    return classify_uploads(
        runtime, _stored(job), source=f"job:{job.id}", folder=folder, progress=progress
    )


def run_batch(runtime: Runtime, job: Job, progress: Progress) -> dict[str, Any]:
    stored = _stored(job)
    sources, errors = calls.upload_sources(
        stored, job.params.get("labels"), job.params.get("date"), job.params.get("hotwords") or ()
    )
    summary = batch_run.run_batch(
        runtime,
        sources,
        errors,
        folder=jobs_dir(runtime, job.id),
        source=f"job:{job.id}",
        progress=progress,
        # Results name the client's files, never our server paths.
        names={str(path): name for name, path in stored},
    )
    # Names inside the job's folder: clients download them from /api/jobs/{id}/results.
    summary["files"] = {fmt: f"results.{fmt}" for fmt in ("csv", "xlsx", "jsonl")}
    return summary


def _end_classify(runtime: Runtime, job: Job) -> None:
    discard_uploads(_stored(job))


def _end_ingest(runtime: Runtime, job: Job) -> None:
    calls.discard_unreferenced(runtime, [path for _, path in _stored(job)])


def _end_import(runtime: Runtime, job: Job) -> None:
    calls.discard_import_inputs(runtime, job.params)


def run_label_quality(runtime: Runtime, job: Job, progress: Progress) -> dict[str, Any]:
    # Progress is a percentage of the whole run, its message the stage (label_runs.STAGES).
    return label_runs.run_on_store(runtime, job.params.get("adjudicate"), progress)


#: What to remove once a job of a kind has ended (done, failed or cancelled, never when it was
#: interrupted: the next start resumes from its inputs).
CLEANUPS: dict[str, Cleanup] = {
    "ingest": _end_ingest,
    "batch": _end_ingest,
    "import": _end_import,
    "classify": _end_classify,
}


def run_rules_apply(runtime: Runtime, job: Job, progress: Progress) -> dict[str, Any]:
    applied = inspection.apply_rules(runtime, progress=progress)
    return {"calls": applied.calls, "checked": applied.checked, "matched": applied.matched}


def run_scorecard_score(runtime: Runtime, job: Job, progress: Progress) -> dict[str, Any]:
    return scorecards.score_calls(runtime, job.params["name"], progress=progress)


HANDLERS: dict[str, Handler] = {
    "ingest": run_ingest,
    "import": run_import,
    "classify": run_classify,
    "batch": run_batch,
    "label_run": run_label_quality,
    "rules_apply": run_rules_apply,
    "scorecard_score": run_scorecard_score,
}
