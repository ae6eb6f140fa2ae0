"""The labels of stored calls, the use case: which labels are in use, one call's labels and
history, changing them (a file of corrections, a label run's suggestion, a person's edit) and
undoing a change. The CLI (``relabel``), the API (``/api/labels``, ``/api/calls/{id}/labels``)
and the UI call these functions, never ``ingest.relabel`` themselves.

Every change goes through ``ingest.relabel``: payloads and ledger only, each change an entry of
the call's label history, which :func:`undo_relabel` restores from. A change never creates a
label no call has unless the caller confirms it (``create_labels``), so a typo does not become
a new call reason; a change planned on labels the call no longer has is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.core.errors import InputError
from app.runtime import Runtime
from app.services import label_runs
from app.services.inspection import LABEL_FIELDS, recheck_calls
from app.services.topics import clean_label
from ingest.relabel import (
    Change,
    Correction,
    LabelChange,
    LabelsChangedError,
    NewLabelError,
    RelabelReport,
    UnknownCallError,
    apply_corrections,
    plan_correction,
    read_corrections,
    undo_change,
)

__all__ = [
    "CallLabels",
    "LabelChange",
    "LabelEdit",
    "LabelsChangedError",
    "NewLabelError",
    "RelabelReport",
    "UnknownCallError",
    "accept_suggestion",
    "call_labels",
    "known_labels",
    "label_history",
    "labels_of",
    "relabel",
    "relabel_call",
    "undo_relabel",
]


@dataclass(frozen=True)
class LabelEdit:
    """One call's label change, made or (``dry_run``) only planned."""

    call_id: str
    old: list[str]
    new: list[str]
    #: The label-history entry that records it (what an undo names); None when not written.
    entry: int | None = None
    dry_run: bool = False
    #: Labels no call had before (listed so a preview can ask before creating them).
    created: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.old != self.new

    @property
    def change(self) -> LabelChange:
        """What is added and removed (``str()``: ``remove refund``, ``replace a with b``)."""
        return LabelChange.between(self.old, self.new)

    def to_dict(self) -> dict[str, Any]:
        change = self.change
        return {
            "call_id": self.call_id,
            "old": self.old,
            "new": self.new,
            "added": list(change.add),
            "removed": list(change.remove),
            "change": str(change),
            "entry": self.entry,
            "dry_run": self.dry_run,
            "created_labels": self.created,
        }


@dataclass(frozen=True)
class CallLabels:
    """A call as a label reviewer sees it: its labels, transcript turns and label history."""

    call_id: str
    labels: list[str]
    #: ``{"speaker", "text", "start", "end"}`` per turn, as indexed.
    turns: list[dict[str, Any]]
    history: list[dict[str, Any]]


def known_labels(runtime: Runtime) -> list[str]:
    """Every label some indexed call has, sorted."""
    return runtime.labels()


def labels_of(runtime: Runtime, call_ids: Iterable[str]) -> dict[str, list[str]]:
    """The labels each of ``call_ids`` has now (a call that is gone: no entry)."""
    found = {}
    for call_id in call_ids:
        row = runtime.ledger.get(call_id)
        if row is not None:
            found[call_id] = list(row.labels)
    return found


def call_labels(runtime: Runtime, call_id: str) -> CallLabels:
    """One call's labels, turns and label history (``UnknownCallError`` when there is none)."""
    row = runtime.ledger.get(call_id)
    if row is None:
        raise UnknownCallError(f"no call {call_id!r}")
    turns = [t.to_dict() for t in row.transcript.turns] if row.transcript else []
    return CallLabels(call_id, list(row.labels), turns, runtime.ledger.history(call_id))


def label_history(runtime: Runtime, call_id: str) -> list[dict[str, Any]]:
    """A call's label changes, oldest first: ``id`` (what an undo names), ``old_labels``,
    ``new_labels``, ``source``, ``at`` (epoch seconds)."""
    if runtime.ledger.get(call_id) is None:
        raise UnknownCallError(f"no call {call_id!r}")
    return runtime.ledger.history(call_id)


def relabel_call(
    runtime: Runtime,
    call_id: str,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    labels: Iterable[str] | None = None,
    expect: Iterable[str] | None = None,
    create_labels: bool = False,
    dry_run: bool = False,
    source: str = "api",
) -> LabelEdit:
    """Change one call's labels: ``labels`` (the exact new set, primary first) or ``add`` /
    ``remove`` (one of each: a replace, the new label in the old one's place). Nothing else
    about the call changes.

    ``expect`` (the labels the change was planned on) refuses it when the call has other
    labels now (``LabelsChangedError``). A label no call has yet is created only with
    ``create_labels``; otherwise ``NewLabelError`` names it (a dry run lists it in
    ``created`` instead, so a preview can ask). Labels are checked as typed labels are
    (one line, no ``;``, not ``unknown``)."""
    add, remove = list(add), list(remove)
    if labels is not None and (add or remove):
        raise InputError("give the new labels, or labels to add and remove, not both")
    if labels is not None:
        fix = Correction(call_id, row=source, labels=tuple(clean_label(x) for x in labels))
    else:
        change = LabelChange(
            tuple(clean_label(x) for x in add), tuple(str(x).strip() for x in remove)
        )
        if not change.kind:
            raise InputError("nothing to change: give labels, or labels to add or remove")
        fix = Correction(call_id, row=source, change=change)
    if expect is not None:
        fix = replace(fix, expect=tuple(expect))
    return _apply(runtime, fix, source, create_labels=create_labels, dry_run=dry_run)


def accept_suggestion(
    runtime: Runtime,
    run_id: int,
    call_id: str,
    *,
    create_labels: bool = False,
    dry_run: bool = False,
    by: str = "api",
) -> LabelEdit:
    """Apply exactly the change label run ``run_id`` suggested for ``call_id`` (add / remove /
    replace), and only while the call has the labels the run saw. A run over a labeled file
    (``eval labels --data``) is refused: its rows are the file's, not the stored calls'."""
    scored = str(label_runs.run_summary(runtime.settings, run_id).get("source", ""))
    if not scored.startswith("store:"):
        raise InputError(
            f"label run {run_id} scored the file {scored}, not the stored calls: correct the "
            "file (or relabel the calls with `callscope relabel`)"
        )
    issue = next(
        (i for i in label_runs.run_issues(runtime.settings, run_id) if i.call_id == call_id), None
    )
    if issue is None:
        raise InputError(f"label run {run_id} has no row for call {call_id!r}")
    if not issue.change.kind:
        raise InputError(f"label run {run_id} suggests no change for {call_id!r}")
    fix = Correction(call_id, row=f"run {run_id}", change=issue.change, expect=tuple(issue.labels))
    source = f"label run {run_id} ({by})"
    return _apply(runtime, fix, source, create_labels=create_labels, dry_run=dry_run)


def undo_relabel(
    runtime: Runtime, call_id: str, entry: int, *, dry_run: bool = False, by: str = "api"
) -> LabelEdit:
    """Restore the labels ``call_id`` had before its label-history ``entry``, recording the
    undo in the history (``undo #<entry> (<by>)``). Refused with ``LabelsChangedError`` when
    the call changed since (its labels are no longer the ones the entry set)."""
    change = undo_change(runtime, call_id, entry, f"undo #{entry} ({by})", dry_run=dry_run)
    if not dry_run:
        recheck_calls(runtime, [call_id], LABEL_FIELDS)  # rules may read the labels
    return _edit(change, dry_run)


def relabel(
    runtime: Runtime,
    file: Path,
    *,
    id_col: str | None = None,
    label_col: str | None = None,
    dry_run: bool = False,
    source: str | None = None,
    create_labels: bool = False,
) -> tuple[RelabelReport, list[str]]:
    """Apply the accepted corrections of a file (``id,new_label``; a label run's report with
    an accept column applies its add/remove suggestion) to the indexed calls: payloads and
    ledger only, history kept. A correction that would create a label no call has is skipped
    (listed in ``report.new_labels``) unless ``create_labels``. Returns the report and the
    file's warnings."""
    corrections, warnings = read_corrections(file, id_col, label_col)
    known = None if create_labels else set(known_labels(runtime))
    report = apply_corrections(
        runtime, corrections, source or file.name, dry_run=dry_run, known_labels=known
    )
    if not dry_run:
        recheck_calls(runtime, [c.call_id for c in report.changed], LABEL_FIELDS)
    return report, warnings


def _apply(
    runtime: Runtime, fix: Correction, source: str, *, create_labels: bool, dry_run: bool
) -> LabelEdit:
    known = set(known_labels(runtime))
    try:
        planned = plan_correction(runtime, fix, None if create_labels or dry_run else known)
    except UnknownCallError as exc:
        raise UnknownCallError(f"{fix.call_id!r}: {exc}") from None
    except LabelsChangedError as exc:
        raise LabelsChangedError(f"{fix.call_id!r}: {exc}") from None
    created = [label for label in planned.new if label not in known]
    if dry_run or planned.new == planned.old:
        return LabelEdit(fix.call_id, planned.old, planned.new, None, dry_run, created)
    # Written only if the call still has the labels just planned on (another request may
    # have changed them in between).
    report = apply_corrections(runtime, [replace(fix, expect=tuple(planned.old))], source)
    recheck_calls(runtime, [c.call_id for c in report.changed], LABEL_FIELDS)
    if not report.changed:  # changed between the plan and the write (another request)
        reason = report.skipped[0][1] if report.skipped else "not changed"
        raise LabelsChangedError(f"{fix.call_id!r}: {reason}")
    return LabelEdit(fix.call_id, planned.old, planned.new, report.changed[0].entry, False, created)


def _edit(change: Change, dry_run: bool) -> LabelEdit:
    return LabelEdit(change.call_id, change.old, change.new, change.entry, dry_run)
