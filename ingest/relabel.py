"""Applying accepted label corrections to calls that are already indexed, and undoing them.

A label-quality run suggests corrections; staff accept some of them, one at a time in the UI or
as a file of ``id,new_label`` rows. A correction is either a new primary label (a file's
``new_label``), a structured :class:`LabelChange` (add X / remove Y / replace Y with X, what a
run suggests) or an exact label set (an undo). Applying one only rewrites payloads: the
transcripts, turn points and vectors do not depend on the label, so nothing is re-transcribed or
re-embedded. The new labels are set on every turn point and on the call-level point (which the
classifier and its light model read, so they see the change at once), and in the ledger.
Nothing is overwritten silently: each change is appended to a ``label_history`` payload list
and to the ledger's ``label_history`` table, and :func:`undo_change` restores the labels before
any entry of it (itself recorded as a change).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from app.core.errors import InputError
from ingest.labels import read_rows
from ingest.ledger import Ledger
from retrieval.index.store import VectorStore

_TRUTHY = {"yes", "y", "true", "1", "x", "✓", "✔"}
#: Columns of a label-quality report that hold its structured suggestion.
ADD_COLUMN, REMOVE_COLUMN, GIVEN_COLUMN = "add_labels", "remove_labels", "given_labels"


class UnknownCallError(InputError):
    """No indexed call of this collection has the id."""


class LabelsChangedError(InputError):
    """The call's labels are no longer the ones a change or an undo was planned on."""


class NewLabelError(InputError):
    """A change would create labels no call has yet, and that was not confirmed."""

    def __init__(self, labels: list[str]) -> None:
        names = ", ".join(repr(label) for label in labels)
        super().__init__(f"new label {names}: no call has it yet (confirm to create it)")
        self.labels = labels


@dataclass(frozen=True)
class LabelChange:
    """A change to a call's label set: labels to add and labels to remove.

    One of each is a *replace*: the new label takes the old one's place (a replaced primary
    label stays primary). Applying it touches nothing else, so a call's other labels survive."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``replace``, ``add``, ``remove``, ``change`` (several of both) or ``""`` (none)."""
        if self.add and self.remove:
            return "replace" if len(self.add) == len(self.remove) == 1 else "change"
        return "add" if self.add else "remove" if self.remove else ""

    def apply(self, labels: list[str]) -> list[str]:
        """``labels`` with this change made (order kept; a replaced label's place is kept)."""
        out = list(labels)
        if self.kind == "replace" and self.remove[0] in out:
            out[out.index(self.remove[0])] = self.add[0]
        else:
            out = [label for label in out if label not in self.remove]
            out += [label for label in self.add if label not in out]
        return list(dict.fromkeys(out))

    def __str__(self) -> str:
        """In words: ``replace refund with delivery_delay``, ``add x``, ``remove y``."""
        if self.kind == "replace":
            return f"replace {self.remove[0]} with {self.add[0]}"
        parts = [f"remove {', '.join(self.remove)}"] if self.remove else []
        parts += [f"add {', '.join(self.add)}"] if self.add else []
        return "; ".join(parts)

    @classmethod
    def between(cls, old: list[str], new: list[str]) -> LabelChange:
        """The change that turns ``old`` into ``new`` (as sets: what is added and removed)."""
        return cls(
            tuple(label for label in new if label not in old),
            tuple(label for label in old if label not in new),
        )


class Components(Protocol):
    """What relabeling needs: a :class:`~app.runtime.Runtime` has all three."""

    @property
    def ledger(self) -> Ledger: ...
    @property
    def turns(self) -> VectorStore: ...
    @property
    def calls(self) -> VectorStore | None: ...


@dataclass(frozen=True)
class Correction:
    """One call's correction: a new primary ``label`` (old secondary labels kept), or a
    structured ``change``, or the exact ``labels`` to set (first given wins). With ``expect``,
    it applies only while the call still has exactly those labels."""

    call_id: str
    label: str = ""  # may be empty (and no change given): reported as skipped
    row: str = ""  # where it came from, e.g. ``fixes.csv:3``
    change: LabelChange | None = None
    labels: tuple[str, ...] | None = None
    expect: tuple[str, ...] | None = None

    def target(self, old: list[str]) -> list[str]:
        """The labels the call would have after this correction."""
        if self.labels is not None:
            return list(dict.fromkeys(self.labels))
        if self.change is not None:
            return self.change.apply(old)
        return [self.label, *(label for label in old[1:] if label != self.label)]


@dataclass(frozen=True)
class Change:
    call_id: str
    old: list[str]
    new: list[str]
    #: The ledger's label-history entry of this change (None in a dry run).
    entry: int | None = None

    @property
    def change(self) -> LabelChange:
        """What was added and removed, e.g. for ``remove refund``."""
        return LabelChange.between(self.old, self.new)


@dataclass
class RelabelReport:
    changed: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (call id or row, reason)
    unknown: list[str] = field(default_factory=list)  # ids not indexed in this collection
    #: Labels no call had that a correction would create (skipped unless allowed).
    new_labels: list[str] = field(default_factory=list)
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
    # A label-quality report says exactly what to add and remove: accepting a row applies that
    # change and nothing else (its suggested_label alone would drop a multi-label call's
    # other labels), and only while the call still has the labels the run saw.
    structured = label_col == "suggested_label" and {ADD_COLUMN, REMOVE_COLUMN} <= set(header)
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
        if structured:
            change = LabelChange(_split(row.get(ADD_COLUMN)), _split(row.get(REMOVE_COLUMN)))
            if not change.kind:
                warnings.append(f"{where}: {call_id!r} has no suggested change, row ignored")
                continue
            given = _split(row.get(GIVEN_COLUMN)) if GIVEN_COLUMN in header else None
            fix = Correction(call_id, row=where, change=change, expect=given or None)
        else:
            fix = Correction(call_id, _text(row.get(label_col)), where)
        if call_id in found:
            warnings.append(f"{where}: duplicate id {call_id!r}, this later row wins")
        found[call_id] = fix
    if not_accepted:
        warnings.append(f"{not_accepted} row(s) not marked in {accept_col!r}, ignored")
    return list(found.values()), warnings


def plan_correction(
    components: Components, fix: Correction, known_labels: Collection[str] | None = None
) -> Change:
    """What ``fix`` would change (``old == new``: nothing), writing nothing. Raises
    :class:`UnknownCallError`, :class:`LabelsChangedError` (``expect`` no longer holds),
    :class:`NewLabelError` (a label outside ``known_labels``, when given) or ``InputError``
    (no label given; no label left)."""
    ledger, store = components.ledger, components.turns
    row = ledger.get(fix.call_id)
    if row is None or row.state != "indexed" or row.collection != store.info.name:
        raise UnknownCallError(_why_unknown(row, store.info.name))
    if not fix.label and fix.change is None and fix.labels is None:
        raise InputError(f"empty label ({fix.row})")
    old = list(row.labels)
    if fix.expect is not None and list(fix.expect) != old:
        then, now = ", ".join(fix.expect) or "none", ", ".join(old) or "none"
        raise LabelsChangedError(f"labels changed since (then: {then}; now: {now})")
    new = fix.target(old)
    if new == old:
        return Change(fix.call_id, old, new)
    if not new:
        raise InputError("would leave the call without a label")
    created = [label for label in new if known_labels is not None and label not in known_labels]
    if created:
        raise NewLabelError(created)
    return Change(fix.call_id, old, new)


def apply_corrections(
    components: Components,
    corrections: list[Correction],
    source: str,
    *,
    dry_run: bool = False,
    known_labels: Collection[str] | None = None,
) -> RelabelReport:
    """Set each call's new labels on its points and in the ledger, keeping history; a
    correction that cannot apply (:func:`plan_correction`) is reported, never fatal.

    With ``known_labels``, a correction that would create a label outside it is skipped and
    the label listed in ``new_labels`` (the caller asks for confirmation); without, any label
    may be created (naming a topic creates its label on purpose).

    The ledger ``content_hash`` is deliberately left as it was: re-importing the original
    (uncorrected) file then finds the call ``unchanged`` and does not undo the correction."""
    report = RelabelReport(dry_run=dry_run)
    for fix in corrections:
        try:
            change = plan_correction(components, fix, known_labels)
        except UnknownCallError as exc:
            report.unknown.append(fix.call_id)
            report.skipped.append((fix.call_id, str(exc)))
            continue
        except NewLabelError as exc:
            report.new_labels += [label for label in exc.labels if label not in report.new_labels]
            report.skipped.append((fix.call_id, str(exc)))
            continue
        except InputError as exc:
            report.skipped.append((fix.call_id, str(exc)))
            continue
        if change.new == change.old:
            report.unchanged.append(fix.call_id)
        elif dry_run:
            report.changed.append(change)
        else:
            entry = _write(components, fix.call_id, change.old, change.new, source)
            report.changed.append(Change(fix.call_id, change.old, change.new, entry))
    return report


def undo_change(
    components: Components, call_id: str, entry: int, source: str, *, dry_run: bool = False
) -> Change:
    """Restore the labels ``call_id`` had before its label-history ``entry``; the undo is
    recorded as a change of its own (so it can be undone too).

    Refused (:class:`LabelsChangedError`) when the call's labels are no longer the ones the
    entry set (it changed since: undo the later change first), and (``InputError``) for an
    entry that is not the call's or that did not change the labels (a content replacement)."""
    ledger, store = components.ledger, components.turns
    row = ledger.get(call_id)
    if row is None or row.state != "indexed" or row.collection != store.info.name:
        raise UnknownCallError(f"{call_id!r}: {_why_unknown(row, store.info.name)}")
    history = ledger.history(call_id)
    found = next((h for h in history if h["id"] == entry), None)
    if found is None:
        have = ", ".join(f"#{h['id']}" for h in history[-10:]) or "none"
        raise InputError(f"{call_id!r} has no label-history entry #{entry} (its entries: {have})")
    old, new = list(found["old_labels"]), list(found["new_labels"])
    if old == new:
        raise InputError(
            f"entry #{entry} of {call_id!r} ({found['source']}) did not change its labels: "
            "nothing to undo"
        )
    now = list(row.labels)
    if now != new:
        raise LabelsChangedError(
            f"{call_id!r} changed since entry #{entry}: it set {', '.join(new) or 'none'}, the "
            f"call now has {', '.join(now) or 'none'}; undo the later change first"
        )
    if dry_run:
        return Change(call_id, now, old)
    return Change(call_id, now, old, _write(components, call_id, now, old, source))


def _write(
    components: Components, call_id: str, old: list[str], new: list[str], source: str
) -> int:
    """Labels ``new`` on every point of the call and in the ledger, the change in both
    histories; returns the ledger history entry."""
    ledger, store, calls = components.ledger, components.turns, components.calls
    now = datetime.now(UTC)
    history = _history(calls, store, call_id)
    entry = {"from": old, "to": new, "at": now.isoformat(timespec="seconds"), "source": source}
    # A re-run after a crash between the store and ledger writes must not log it twice.
    if not history or (history[-1].get("from"), history[-1].get("to")) != (old, new):
        history.append(entry)
    payload = {"labels": new, "label_history": history}
    store.set_payload({"call_id": call_id}, payload)
    if calls is not None:
        calls.set_payload({"call_id": call_id}, payload)
    return ledger.add_history(call_id, old, new, source, at=now.timestamp())


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


def _split(value: Any) -> tuple[str, ...]:
    """A table cell of ``;``-separated labels (or a JSONL list) as labels."""
    items = value if isinstance(value, list) else _text(value).split(";")
    return tuple(label for label in (_text(item) for item in items) if label)
