"""Applying accepted label corrections to calls that are already indexed.

A label-quality run suggests corrections; staff accept some of them into a file of
``id,new_label`` rows. Applying them only rewrites payloads: the transcripts, chunks and vectors
do not depend on the label, so nothing is re-transcribed or re-embedded. The new primary label is
set on every chunk point and on the call-level point (which the classifier and its light model
read, so they see the change at once), and in the ledger. Nothing is overwritten silently: each
change is appended to a ``label_history`` payload list and to the ledger's ``label_history``
table, so a correction can be audited and undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from app.core.errors import InputError
from ingest.labels import read_rows
from ingest.ledger import Ledger
from retrieval.index.store import VectorStore

_TRUTHY = {"yes", "y", "true", "1", "x", "✓", "✔"}


class Components(Protocol):
    """What relabeling needs: a :class:`~app.runtime.Runtime` has all three."""

    @property
    def ledger(self) -> Ledger: ...
    @property
    def store(self) -> VectorStore: ...
    @property
    def calls(self) -> VectorStore | None: ...


@dataclass(frozen=True)
class Correction:
    call_id: str
    label: str  # may be empty: reported as skipped
    row: str  # where it came from, e.g. ``fixes.csv:3``


@dataclass(frozen=True)
class Change:
    call_id: str
    old: list[str]
    new: list[str]


@dataclass
class RelabelReport:
    changed: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (call id or row, reason)
    unknown: list[str] = field(default_factory=list)  # ids not indexed in this collection
    dry_run: bool = False


def read_corrections(
    path: Path, id_col: str | None = None, label_col: str | None = None
) -> tuple[list[Correction], list[str]]:
    """Corrections from a CSV/XLSX/JSONL file, and warnings about rows that were dropped.

    Columns: ``id`` (or ``call_id``) and ``new_label``; without ``--label-col`` a label-quality
    file with ``suggested_label`` works too. When an ``accept`` column exists, only rows with a
    truthy value (yes/y/true/1/x/✓) count. A duplicate id: the last row wins, with a warning."""
    header, rows = read_rows(path)
    have = ", ".join(header) or "(none)"
    for name in (id_col, label_col):
        if name is not None and name not in header:
            raise InputError(f"{path}: unknown column {name!r}; the file has: {have}")
    id_col = id_col or next((c for c in ("id", "call_id") if c in header), None)
    label_col = label_col or next(
        (c for c in ("new_label", "suggested_label") if c in header), None
    )
    if id_col is None or label_col is None:
        missing = "id column (id, call_id)" if id_col is None else "new_label column"
        raise InputError(
            f"{path}: no {missing}; name it with --id-col/--label-col; the file has: {have}"
        )
    accept_col = next((c for c in header if c.strip().lower() in ("accept", "accepted")), None)
    if label_col == "suggested_label" and accept_col is None:
        # A run's suggestions cover every row (most just repeat the given label): applying
        # them wholesale would relabel calls nobody reviewed.
        raise InputError(
            f"{path}: suggested_label needs an accept column marking the reviewed rows "
            f"(yes/y/true/1/x), or name the column with --label-col; the file has: {have}"
        )
    jsonl = path.suffix.lower() == ".jsonl"
    found: dict[str, Correction] = {}
    warnings: list[str] = []
    not_accepted = 0
    for n, row in enumerate(rows):
        where = f"{path.name}:{n + 1 if jsonl else n + 2}"
        if accept_col and not _truthy(row.get(accept_col)):
            not_accepted += 1
            continue
        call_id = _text(row.get(id_col))
        if not call_id:
            warnings.append(f"{where}: no id, row ignored")
            continue
        if call_id in found:
            warnings.append(f"{where}: duplicate id {call_id!r}, this later row wins")
        found[call_id] = Correction(call_id, _text(row.get(label_col)), where)
    if not_accepted:
        warnings.append(f"{not_accepted} row(s) not marked in {accept_col!r}, ignored")
    return list(found.values()), warnings


def apply_corrections(
    components: Components,
    corrections: list[Correction],
    source: str,
    *,
    dry_run: bool = False,
) -> RelabelReport:
    """Set each call's new primary label on its points and in the ledger, keeping history.

    The ledger ``content_hash`` is deliberately left as it was: re-importing the original
    (uncorrected) file then finds the call ``unchanged`` and does not undo the correction."""
    ledger, store, calls = components.ledger, components.store, components.calls
    report = RelabelReport(dry_run=dry_run)
    for fix in corrections:
        row = ledger.get(fix.call_id)
        if row is None or row.state != "indexed" or row.collection != store.info.name:
            report.unknown.append(fix.call_id)
            report.skipped.append((fix.call_id, _why_unknown(row, store.info.name)))
            continue
        if not fix.label:
            report.skipped.append((fix.call_id, f"empty label ({fix.row})"))
            continue
        old = list(row.labels)
        if old and old[0] == fix.label:
            report.unchanged.append(fix.call_id)
            continue
        new = [fix.label, *(label for label in old[1:] if label != fix.label)]
        report.changed.append(Change(fix.call_id, old, new))
        if dry_run:
            continue
        now = datetime.now(UTC)
        history = _history(calls, store, fix.call_id)
        entry = {"from": old, "to": new, "at": now.isoformat(timespec="seconds"), "source": source}
        # A re-run after a crash between the store and ledger writes must not log it twice.
        if not history or (history[-1].get("from"), history[-1].get("to")) != (old, new):
            history.append(entry)
        payload = {"labels": new, "label_history": history}
        store.set_payload({"call_id": fix.call_id}, payload)
        if calls is not None:
            calls.set_payload({"call_id": fix.call_id}, payload)
        ledger.add_history(fix.call_id, old, new, source, at=now.timestamp())
    return report


def _history(calls: VectorStore | None, store: VectorStore, call_id: str) -> list[dict[str, Any]]:
    """The call's payload history, read from its call-level point (else from a chunk)."""
    for collection in (calls, store):
        if collection is None:
            continue
        for point in collection.scroll({"call_id": call_id}, limit=1):
            return list(point.payload.get("label_history") or [])
    return []


def _why_unknown(row: Any, collection: str) -> str:
    if row is None:
        return "unknown id (not in the ledger)"
    if row.state != "indexed":
        return f"not indexed (state {row.state})"
    return f"indexed in collection {row.collection!r}, not {collection!r}"


def _truthy(value: Any) -> bool:
    if isinstance(value, bool | int | float):
        return bool(value)
    return _text(value).lower() in _TRUTHY


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
