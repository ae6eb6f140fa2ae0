"""Uploaded recordings and transcripts classified as one resumable unit of work: the API's
``POST /api/classify/batch`` (inside the request with ``wait=true``, else as the ``classify``
job). The calls go through ``classify.classify_inputs`` like any other; what this adds is the
bookkeeping of an upload: results named after the client's files (never our server paths),
each result appended to the job's ``progress.jsonl`` as it comes (a resumed job skips the files
already there), the table written as CSV, XLSX and JSONL, and the uploads deleted at the end
(they hold personal data and nothing refers to them).

Not the weekly batch (``batch_run``: calls indexed *and* classified, ``callscope batch``)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from app.core.models import CallSource
from app.runtime import Runtime
from app.services.calls import Progress
from app.services.classify import CallResult, classify_inputs
from app.services.results import ResultLog, row, write_rows


def classify_uploads(
    runtime: Runtime,
    stored: list[tuple[str, Path]],
    *,
    source: str,
    folder: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Classify stored uploads (client name, path); returns the summary. With ``folder``, every
    result is appended to ``folder/progress.jsonl`` as it comes, a second call skips the files
    already there (a resumed job), and the table is written as results.csv/.xlsx/.jsonl;
    without, the rows are returned in ``results``."""
    names = {str(path): name for name, path in stored}
    log = ResultLog(folder / "progress.jsonl" if folder else None, key="stored")
    rows = log.rows
    total = len(stored)

    def on_result(result: CallResult) -> None:
        name = names.get(result.origin, Path(result.origin).name)
        item = {**row(result), "stored": result.origin, "origin": name}
        if result.error:
            item["error"] = result.error.replace(result.origin, name)
        log.add(item)
        if progress is not None:
            progress(len(rows), total, f"classified {len(rows)}/{total}")

    def on_start(src: CallSource) -> None:  # where a stop or a cancel is seen
        if progress is not None:
            progress(len(rows), total, f"classifying {names.get(str(src.path), src.call_id)}")

    try:
        if progress is not None:
            progress(len(rows), total, "classifying")
        classify_inputs(
            runtime,
            [path for _, path in stored if str(path) not in log.done],
            source=source,
            names=names,
            on_result=on_result,
            on_start=on_start,
        )
    finally:
        log.close()
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
