"""Batch classification results: one flat row per call, kept as they come (``ResultLog``, what
a resumed run reads back) and written as CSV, XLSX or JSONL (chosen by the extension)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from app.core.errors import InputError
from app.core.text import spreadsheet_safe
from app.services.classify import CallResult
from ingest.metrics import METRIC_KEYS

COLUMNS = [
    "call_id",
    "origin",
    "label",
    "labels",
    "confidence",
    "candidates",
    "decided_by",
    "flags",
    "neighbours",
    "embedding_model",
    "label_model",
    "llm_model",
    "prompt_hash",
    "timestamp",
    # Batch runs (``callscope batch``): how the call was stored and how long it was.
    "ingest",
    "audio_seconds",
    # How the conversation went (``ingest.metrics``): who the speakers are and the figures.
    "speakers",
    *METRIC_KEYS,
    # The quality-inspection rules the call broke (``app.services.inspection``), ``;``-joined.
    "categories",
    "error",
]


def row(result: CallResult) -> dict[str, Any]:
    """One flat row with the provenance of the answer."""
    c = result.classification
    if c is None:
        return {"call_id": result.call_id, "origin": result.origin, "error": result.error}
    return {
        "call_id": result.call_id,
        "origin": result.origin,
        "label": c.label,
        "labels": ";".join(c.labels),
        "confidence": c.confidence,
        # The best labels with their confidence: what an ``unknown`` answer was closest to.
        "candidates": ";".join(f"{label}:{conf:.3f}" for label, conf in c.candidates),
        "decided_by": c.decided_by,
        "flags": ";".join(c.flags),
        # id:labels:share:via, share = the neighbour's part of the vote (0-1): one scale for
        # both kinds of neighbour (the raw score is a cosine or an unbounded BM25 score).
        "neighbours": ";".join(
            f"{n.call_id}:{'|'.join(n.labels)}:{n.weight:.3f}:{n.via}" for n in c.neighbours
        ),
        "embedding_model": c.provenance.get("embedding_model"),
        "label_model": c.provenance.get("label_model"),
        "llm_model": c.provenance.get("llm_model"),
        "prompt_hash": c.provenance.get("prompt_hash"),
        "timestamp": c.provenance.get("timestamp"),
        "error": None,
    }


def write_results(path: Path, results: list[CallResult]) -> None:
    write_rows(path, [row(r) for r in results])


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write result rows (from :func:`row`) as CSV, XLSX or JSONL, chosen by the extension."""
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8-sig") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows({k: spreadsheet_safe(v) for k, v in r.items()} for r in rows)
    elif suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as f:
            for item in rows:
                f.write(json.dumps({k: item.get(k) for k in COLUMNS}, ensure_ascii=False) + "\n")
    elif suffix == ".xlsx":
        import openpyxl

        from eval.quality.report import put_cell

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "classifications"
        sheet.append(COLUMNS)
        for r, item in enumerate(rows, start=2):
            for c, key in enumerate(COLUMNS, start=1):
                # Call ids and file names come from users: never let one become a formula.
                put_cell(sheet, r, c, item.get(key))
        book.save(path)
    else:
        raise InputError(f"--out must end in .csv, .xlsx or .jsonl, not {suffix or '(none)'!r}")


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
    """The rows a previous attempt of this run wrote (a torn last line is dropped)."""
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
