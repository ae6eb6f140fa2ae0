"""A batch of uploaded recordings/transcripts classified as one unit of work: the API's batch
request and the classify job. Each result is appended to ``progress.jsonl`` as it comes (a
resumed job skips the calls already there) and the table is written as CSV, XLSX and JSONL.
Uploaded inputs are deleted when the batch ends: they hold personal data and nothing refers to
them (the results keep the client's file names)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from app.core.models import CallSource
from app.runtime import Runtime
from app.services.calls import Progress
from app.services.classify import CallResult, classify_batch
from app.services.results import row, write_rows
from ingest.sources import discover


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
    names = {str(path): name for name, path in stored}
    log = ResultLog(folder / "progress.jsonl" if folder else None, key="stored")
    rows = log.rows
    sources, errors = discover([path for _, path in stored if str(path) not in log.done])
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

    def keep(item: dict[str, Any]) -> None:
        log.add(item)
        if progress is not None:
            progress(len(rows), total, f"classified {len(rows)}/{total}")

    def on_result(result: CallResult) -> None:
        item = row(result)
        name = names.get(result.origin, Path(result.origin).name)
        item.update(stored=result.origin, origin=name)
        if result.error:
            item["error"] = result.error.replace(result.origin, name)
        keep(item)

    try:
        for item in new_rows:
            keep(item)
        if progress is not None:
            progress(len(rows), total, "classifying")

        def on_start(src: CallSource) -> None:  # where a stop or a cancel is seen
            if progress is not None:
                progress(len(rows), total, f"classifying {names.get(str(src.path), src.call_id)}")

        classify_batch(runtime, sources, source=source, on_result=on_result, on_start=on_start)
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


class ResultLog:
    """Result rows kept as they come. With a ``path`` (a run's ``progress.jsonl``) each row is
    appended as one flushed line, so a run that is stopped and started again reads back what
    was done (``done``: each row's ``key``) and goes on after the last written row."""

    def __init__(self, path: Path | None, *, key: str) -> None:
        self.rows = read_progress(path) if path else []
        self.done = {r[key] for r in self.rows}
        self._out = path.open("a", encoding="utf-8") if path else None

    def add(self, item: dict[str, Any]) -> None:
        self.rows.append(item)
        if self._out is not None:
            self._out.write(json.dumps(item, ensure_ascii=False) + "\n")
            self._out.flush()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()


def read_progress(path: Path) -> list[dict[str, Any]]:
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
