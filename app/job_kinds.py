"""What each kind of background job does (see ``app/jobs.py`` for the queue).

Every handler takes the shared Runtime, the job (its ``params`` say what to do) and a
``progress(done, total, message)`` callback, and returns the job's result. Each one is safe to
run again from the start after an interruption: that is how a job resumes after a restart.

- ``ingest``: uploaded files already stored under ``uploads/`` -> indexed calls.
- ``import``: an uploaded labeled-data table (CSV/XLSX/JSONL, with the recordings it names)
  -> labeled calls.
- ``classify``: uploaded recordings/transcripts -> one classification each, appended to the
  job's ``progress.jsonl`` as they come (a resumed job skips what is there), then the results
  as CSV, XLSX and JSONL.
- ``label_run``: a label-quality run over the labeled calls in the store.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import InputError
from app.jobs import Cleanup, Handler, Job, Progress, jobs_dir
from app.uploads import ingest_stored, safe_basename

if TYPE_CHECKING:
    from app.runtime import Runtime
    from ingest.models import CallSource
    from ingest.pipeline import IngestResult
    from retrieval.batch import CallResult


def _stored(job: Job) -> list[tuple[str, Path]]:
    return [(f["name"], Path(f["path"])) for f in job.params["files"]]


def _ingest_counter(progress: Progress, total: int, verb: str) -> Any:
    counts: Counter[str] = Counter()

    def on_result(result: IngestResult) -> None:
        counts[result.status] += 1
        done = sum(counts.values())
        progress(done, total, f"{verb} {done}/{total} ({_counts_text(counts)})")

    return on_result


def _counts_text(counts: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def run_ingest(runtime: Runtime, job: Job, progress: Progress) -> dict[str, Any]:
    stored = _stored(job)
    progress(0, len(stored), "starting")
    results = ingest_stored(
        runtime,
        stored,
        job.params.get("labels"),
        job.params.get("date"),
        on_result=_ingest_counter(progress, len(stored), "indexed"),
    )
    return {"results": results, "counts": dict(Counter(r["status"] for r in results))}


def run_import(runtime: Runtime, job: Job, progress: Progress) -> dict[str, Any]:
    return import_table(runtime, job.params, progress)


def import_table(
    runtime: Runtime, params: dict[str, Any], progress: Progress | None = None
) -> dict[str, Any]:
    """Import the labeled table ``params["table"]`` (columns in ``params["columns"]``); audio
    paths resolve only to recordings uploaded beside it."""
    from ingest.labels import Columns, load_labeled

    table = Path(params["table"])
    folder = table.parent.resolve()
    client_name = params.get("table_name") or table.name

    def ours_hidden(message: str) -> str:  # the client's names, never our server paths
        return message.replace(str(table), client_name).replace(f"{folder}/", "")

    try:
        sources, errors = load_labeled(table, Columns(**params.get("columns", {})))
    except InputError as exc:
        raise InputError(ours_hidden(str(exc))) from None
    usable = []
    for source in sources:
        if source.path is not None:
            # The table may name "audio/x.mp3", "/data/x.mp3" or a Windows path: the upload
            # kept only the file's safe name (the same function made it).
            source.path = folder / safe_basename(str(source.path))
            if not source.path.is_file():
                errors.append((source.origin, f"recording {source.path.name!r} was not uploaded"))
                continue
        usable.append(source)
    report = progress or (lambda done, total, message: None)
    report(0, len(usable), f"importing {len(usable)} rows")
    counts: Counter[str] = Counter()
    failures = []
    for r in runtime.pipeline().run(
        usable, on_result=_ingest_counter(report, len(usable), "imported")
    ):
        counts[r.status] += 1
        if r.error:
            failure = {"call_id": r.call_id, "origin": r.origin, "error": ours_hidden(r.error)}
            failures.append(failure)
    return {
        "rows": len(usable) + len(errors),
        "counts": dict(counts),
        "rejected": [{"origin": o, "error": m} for o, m in errors],
        "failed": failures,
    }


def run_classify(runtime: Runtime, job: Job, progress: Progress) -> dict[str, Any]:
    folder = jobs_dir(runtime, job.id)
    return classify_files(
        runtime, _stored(job), source=f"job:{job.id}", folder=folder, progress=progress
    )


def discard_uploads(stored: list[tuple[str, Path]]) -> None:
    """Delete recordings uploaded only to be classified (and their request's folder): they
    hold personal data and nothing refers to them (the results keep the client's file names)."""
    folders = set()
    for _, path in stored:
        path.unlink(missing_ok=True)
        folders.add(path.parent)
    for folder in folders:
        if folder.parent.name == "classify-uploads":
            shutil.rmtree(folder, ignore_errors=True)


def discard_unreferenced(runtime: Runtime, paths: list[Path]) -> None:
    """Delete uploaded inputs that no call in the ledger refers to (a cancelled ingest's files
    not yet indexed, an import's table): only recordings of stored calls are kept."""
    from app.uploads import remove_upload

    referenced = set()
    for row in runtime.ledger.rows():
        referenced.add(row.origin)
        if row.audio:
            referenced.add(row.audio)
    for path in paths:
        if str(path) not in referenced and str(path.resolve()) not in referenced:
            remove_upload(runtime, path)


def _end_classify(runtime: Runtime, job: Job) -> None:
    discard_uploads(_stored(job))


def _end_ingest(runtime: Runtime, job: Job) -> None:
    discard_unreferenced(runtime, [path for _, path in _stored(job)])


def discard_import_inputs(runtime: Runtime, params: dict[str, Any]) -> None:
    """An import's table and any uploaded recording no imported call refers to."""
    table = Path(params["table"])
    folder = table.parent
    if folder.is_dir():
        discard_unreferenced(runtime, [table, *(p for p in folder.iterdir() if p != table)])
        if not any(folder.iterdir()):
            folder.rmdir()


def _end_import(runtime: Runtime, job: Job) -> None:
    discard_import_inputs(runtime, job.params)


def classify_files(
    runtime: Runtime,
    stored: list[tuple[str, Path]],
    *,
    source: str,
    folder: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Classify stored uploads (client name, path). With ``folder``, every result is appended
    to ``folder/progress.jsonl`` as it comes, a second call skips the files already there (a
    resumed job), and the table is written as results.csv/.xlsx/.jsonl; without, the rows are
    returned in ``results``."""
    from app.results import row, write_rows
    from ingest.sources import discover
    from retrieval.batch import classify_sources

    names = {str(path): name for name, path in stored}
    done_file = folder / "progress.jsonl" if folder else None
    rows = _read_rows(done_file) if done_file else []
    finished = {r["stored"] for r in rows}
    sources, errors = discover([path for _, path in stored if str(path) not in finished])
    new_rows: list[dict[str, Any]] = []
    for origin, message in errors:
        name = names.get(origin, Path(origin).name)
        new_rows.append(
            {"call_id": Path(name).stem, "origin": name, "error": message.replace(origin, name)}
        )
        new_rows[-1]["stored"] = origin
    for src in sources:
        # Name calls after the client's file, not our hash-prefixed stored name.
        if src.path is not None and src.call_id == src.path.stem:
            src.call_id = Path(names[str(src.path)]).stem
    total = len(stored)
    out = done_file.open("a", encoding="utf-8") if done_file else None

    def keep(item: dict[str, Any]) -> None:
        rows.append(item)
        if out is not None:
            # One line per call, flushed: a restart resumes after the last written call.
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
            out.flush()
        if progress is not None:
            progress(len(rows), total, f"classified {len(rows)}/{total}")

    def on_result(result: CallResult) -> None:
        item = row(result)
        name = names.get(result.origin, Path(result.origin).name)
        item.update(stored=result.origin, origin=name)
        if result.error:
            item["error"] = result.error.replace(result.origin, name)
        if result.classification is not None:
            runtime.ledger.add_classification(result.call_id, result.classification, source)
        keep(item)

    try:
        for item in new_rows:
            keep(item)
        if progress is not None:
            progress(len(rows), total, "classifying")

        def on_start(src: CallSource) -> None:  # where a stop or a cancel is seen
            if progress is not None:
                progress(len(rows), total, f"classifying {names.get(str(src.path), src.call_id)}")

        classify_sources(
            sources,
            runtime.classifier,
            transcriber=runtime.transcriber,
            refine=runtime.llm_refiner(),
            on_result=on_result,
            on_start=on_start,
        )
    finally:
        if out is not None:
            out.close()
    for item in rows:
        item.pop("stored", None)  # a server path: never in what clients get
    ok = [r for r in rows if not r.get("error")]
    summary: dict[str, Any] = {
        "n": len(rows),
        "classified": len(ok),
        "failed": len(rows) - len(ok),
        "labels": dict(Counter(r["label"] for r in ok).most_common()),
        "decided_by": dict(Counter(r["decided_by"] for r in ok)),
        "errors": [{"origin": r["origin"], "error": r["error"]} for r in rows if r.get("error")],
        "llm_usage": runtime.llm_usage(),
    }
    if folder is None:
        summary["results"] = rows
        return summary
    summary["files"] = {}
    for fmt in ("csv", "xlsx", "jsonl"):
        write_rows(folder / f"results.{fmt}", rows)
        # Names inside the job's folder: clients download them from /api/jobs/{id}/results.
        summary["files"][fmt] = f"results.{fmt}"
    return summary


def label_run(
    runtime: Runtime, adjudicate: int | None, progress: Progress | None = None
) -> dict[str, Any]:
    """One label-quality run over the labeled calls in the store; returns its summary."""
    from eval.labels import STAGES, run

    def on_stage(i: int, name: str) -> None:
        if progress is not None:
            progress(i, len(STAGES), name)

    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    out = runtime.settings.paths.state_dir / "label-runs" / stamp
    summary, _ = run(
        runtime.settings,
        data=None,
        out=out,
        embedder=runtime.embedder,
        adjudicate_top=adjudicate,
        runtime=runtime,
        on_stage=on_stage,
    )
    return summary


def run_label_quality(runtime: Runtime, job: Job, progress: Progress) -> dict[str, Any]:
    progress(0, None, "reading the labeled calls")
    return label_run(runtime, job.params.get("adjudicate"), progress)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows a previous attempt of this job wrote (a torn last line is dropped)."""
    rows = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        # Rewrite without a torn line, so appends start on a fresh line.
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return rows


#: What to remove once a job of a kind has ended (done, failed or cancelled, never when it was
#: interrupted: the next start resumes from its inputs).
CLEANUPS: dict[str, Cleanup] = {
    "ingest": _end_ingest,
    "import": _end_import,
    "classify": _end_classify,
}

HANDLERS: dict[str, Handler] = {
    "ingest": run_ingest,
    "import": run_import,
    "classify": run_classify,
    "label_run": run_label_quality,
}
