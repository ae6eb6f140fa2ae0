"""Reading labeled training calls from CSV, XLSX or JSONL.

Each row names a call (id column, or ``<file>-<row>`` when the file has none), its content (a
transcript text column, a JSONL ``turns`` list, or an audio path relative to the file) and one or
more labels (a list, or a ``;``-separated string). Column names are configurable; a column that
is asked for and missing is a clear :class:`InputError`, a bad row is reported and skipped.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.core.errors import InputError
from app.core.models import CallSource, Columns, Transcript
from app.core.names import clean_id, safe_call_id
from app.core.text import labels_from
from ingest.roles import agent_speaker_choice
from ingest.sources import parse_text_turns, transcript_from_json

LABEL_FILE_TYPES = (".csv", ".xlsx", ".jsonl")


def read_rows(path: Path) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """Header and rows of a CSV/XLSX/JSONL file."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in LABEL_FILE_TYPES:
        raise InputError(f"{path}: unsupported label file type {suffix!r}; use CSV, XLSX or JSONL")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    if suffix == ".csv":
        rows = _csv_rows(path)
    elif suffix == ".xlsx":
        rows = _xlsx_rows(path)
    else:
        rows = _jsonl_rows(path)
    if not rows:
        raise InputError(f"{path}: no data rows")
    header: list[str] = []
    for row in rows:
        header.extend(k for k in row if k not in header)
    return header, iter(rows)


def load_labeled(
    path: Path, columns: Columns = Columns(), *, need_labels: bool = True
) -> tuple[list[CallSource], list[tuple[str, str]]]:
    """Call sources for every usable row, and (origin, message) for every unusable one.

    ``need_labels=False`` reads a manifest of calls to process (a batch): the label column and
    a label on each row are optional."""
    header, rows = read_rows(path)
    label_col = _pick(header, columns.label, ("label", "labels", "category", "intent"), path)
    text_col = _pick(header, columns.text, ("text", "turns", "transcript"), path)
    audio_col = _pick(header, columns.audio, ("audio",), path)
    id_col = _pick(header, columns.id, ("id",), path)
    if label_col is None and need_labels:
        raise InputError(
            f"{path}: no label column (looked for label, labels, category, intent; set one "
            f"with --label-col); the file has: {', '.join(header)}"
        )
    if text_col is None and audio_col is None:
        raise InputError(
            f"{path}: no transcript or audio column (looked for text, turns, transcript, audio; "
            f"set one with --text-col/--audio-col); the file has: {', '.join(header)}"
        )

    sources: list[CallSource] = []
    errors: list[tuple[str, str]] = []
    seen: set[str] = set()
    for n, row in enumerate(rows):
        origin = f"{path.name}:{n + 2 if path.suffix.lower() != '.jsonl' else n + 1}"
        try:
            source = _source(
                row, n, path, origin, id_col, text_col, audio_col, label_col, columns, need_labels
            )
        except InputError as exc:
            errors.append((origin, str(exc)))
            continue
        if source.call_id in seen:
            errors.append((origin, f"duplicate id {source.call_id!r} (first row kept)"))
            continue
        seen.add(source.call_id)
        sources.append(source)
    return sources, errors


def _source(
    row: dict[str, Any],
    n: int,
    path: Path,
    origin: str,
    id_col: str | None,
    text_col: str | None,
    audio_col: str | None,
    label_col: str | None,
    columns: Columns,
    need_labels: bool = True,
) -> CallSource:
    call_id = clean_id(str(row.get(id_col) or "")) if id_col else ""
    call_id = call_id or f"{safe_call_id(path.stem)}-{n}"
    labels = labels_from(row.get(label_col), columns.label_sep) if label_col else []
    if not labels and need_labels:
        raise InputError("no label")
    common = dict(
        call_id=call_id,
        origin=origin,
        labels=labels,
        date=_text(row.get("date")),
        split=_text(row.get("split")),
        # The 0-based row in the file, so a report can point back at it.
        extra={"row": n},
        metadata=metadata_of(row, columns.metadata),
        agent_speaker=agent_speaker_choice(row.get("agent_speaker")),
    )
    audio = _text(row.get(audio_col)) if audio_col else None
    if audio:
        audio_path = Path(audio) if Path(audio).is_absolute() else path.parent / audio
        return CallSource(kind="audio", path=audio_path, **common)  # type: ignore[arg-type]
    value = row.get(text_col) if text_col else None
    if isinstance(value, list):
        transcript, _ = transcript_from_json(
            {"turns": value, "language": row.get("language")}, origin
        )
    elif value is not None and str(value).strip():
        transcript = Transcript(
            turns=parse_text_turns(str(value)), language=_text(row.get("language"))
        )
    else:
        raise InputError("no transcript text or audio path")
    return CallSource(kind="text", transcript=transcript, **common)  # type: ignore[arg-type]


def metadata_of(row: dict[str, Any], fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The declared metadata fields of a row (or a JSON transcript's top level): text, or a
    list of texts where ``;`` separates several (tags); empty values are left out."""
    out: dict[str, Any] = {}
    for name in fields:
        value = row.get(name)
        if isinstance(value, list):
            values = [v for v in (_text(x) for x in value) if v]
        else:
            text = _text(value)
            values = [v.strip() for v in text.split(";") if v.strip()] if text else []
        if values:
            out[name] = values[0] if len(values) == 1 else values
    return out


def _pick(header: list[str], wanted: str | None, usual: tuple[str, ...], path: Path) -> str | None:
    if wanted is None:
        return next((name for name in usual if name in header), None)
    if wanted not in header:
        raise InputError(
            f"{path}: unknown column {wanted!r}; the file has: {', '.join(header) or '(none)'}"
        )
    return wanted


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _csv_rows(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return [dict(r) for r in csv.DictReader(f)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: not a readable UTF-8 CSV ({exc})") from exc


def _xlsx_rows(path: Path) -> list[dict[str, Any]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException
        raise InputError(f"{path}: not a readable XLSX workbook ({exc})") from exc
    try:
        sheet = book.worksheets[0]
        values = sheet.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(values, ())]
        return [
            {h: v for h, v in zip(header, row, strict=False) if h}
            for row in values
            if any(v is not None for v in row)
        ]
    finally:
        book.close()


def _jsonl_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{n}: invalid JSON ({exc.msg})") from exc
            if not isinstance(item, dict):
                raise InputError(f"{path}:{n}: each line must be a JSON object")
            rows.append(item)
    return rows
