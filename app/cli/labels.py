"""``callscope relabel``, ``label-history``, ``undo-relabel``: correct the labels of stored
calls, see what changed, and take a change back (over ``app.services.labels``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from app.cli.console import console, settings_for
from app.cli.options import IndexOpt
from app.core.errors import InputError


def relabel(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or JSONL of id,new_label corrections.")],
    id_col: Annotated[Optional[str], typer.Option(help="Column with the call id.")] = None,
    label_col: Annotated[
        Optional[str], typer.Option(help="Column with the new label (new_label/suggested_label).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Show what would change; write nothing.")] = False,
    create_labels: Annotated[
        bool,
        typer.Option(help="Create labels no call has yet without asking (else asked first)."),
    ] = False,
    index: IndexOpt = None,
) -> None:
    """Apply accepted label corrections to indexed calls (no re-embedding; history kept)."""
    from app.runtime import Runtime
    from app.services import labels

    settings = settings_for(index)
    with Runtime(settings) as runtime:
        # A first pass writes nothing: it finds the labels the file would create.
        report, warnings = labels.relabel(
            runtime, file, id_col=id_col, label_col=label_col, dry_run=True
        )
        new_labels = report.new_labels
        create = create_labels or dry_run  # a dry run shows those changes too
        if new_labels and not create:
            create = _confirm_new(new_labels)
        report, _ = labels.relabel(
            runtime,
            file,
            id_col=id_col,
            label_col=label_col,
            dry_run=dry_run,
            create_labels=create,
        )
    for warning in warnings:
        console.print(f"[yellow]warning[/] {warning}", highlight=False)
    table = Table(title="Label changes" + (" (dry run: nothing written)" if dry_run else ""))
    for col in ("id", "from", "to", "change", "history"):
        table.add_column(col)
    for c in report.changed:
        entry = f"#{c.entry}" if c.entry else "-"
        table.add_row(c.call_id, ", ".join(c.old) or "-", ", ".join(c.new), str(c.change), entry)
    console.print(table)
    for call_id, reason in report.skipped:
        console.print(f"[yellow]skipped[/] {call_id}: {reason}", highlight=False)
    if new_labels:
        if dry_run:
            said = "would create new labels (asked first)"
        else:
            said = "created new labels" if create else "new labels not created"
        hint = "" if create and not dry_run else " (answer yes when asked, or --create-labels)"
        console.print(f"{said}: {', '.join(new_labels)}{hint}", highlight=False)
    unknown = f" (unknown ids: {', '.join(report.unknown)})" if report.unknown else ""
    console.print(
        f"{'would relabel' if dry_run else 'relabeled'} {len(report.changed)}, "
        f"unchanged {len(report.unchanged)}, skipped {len(report.skipped)}{unknown}",
        highlight=False,
    )
    if report.changed and not dry_run:
        console.print("undo one: callscope undo-relabel <id> --entry <history>", highlight=False)


def _confirm_new(names: list[str]) -> bool:
    """Ask before creating labels no call has (a typo would otherwise become a call reason);
    no answer (no terminal) is no."""
    try:
        return typer.confirm(
            f"{len(names)} label(s) no call has yet would be created: {', '.join(names)}. "
            "Create them?",
            default=False,
        )
    except typer.Abort:
        return False


def label_history(
    call_id: Annotated[str, typer.Argument(help="The call's id.")],
    index: IndexOpt = None,
) -> None:
    """A call's label changes, oldest first (the number is what ``undo-relabel`` takes)."""
    from app.runtime import Runtime
    from app.services import labels

    with Runtime(settings_for(index)) as runtime:
        found = labels.call_labels(runtime, call_id)
    table = Table(title=f"Label history of {call_id} (labels now: {', '.join(found.labels)})")
    for col in ("entry", "when", "from", "to", "source"):
        table.add_column(col)
    for h in found.history:
        table.add_row(
            f"#{h['id']}",
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(h["at"])),
            ", ".join(h["old_labels"]) or "-",
            ", ".join(h["new_labels"]) or "-",
            h["source"],
        )
    console.print(table)
    if not found.history:
        console.print("no label changes yet", highlight=False)


def undo_relabel(
    call_id: Annotated[str, typer.Argument(help="The call whose label change to undo.")],
    entry: Annotated[
        Optional[int],
        typer.Option(help="The history entry to undo (default: the call's latest label change)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Show what would change; write nothing.")] = False,
    index: IndexOpt = None,
) -> None:
    """Restore a call's labels from before one of its label changes (recorded as a change)."""
    from app.runtime import Runtime
    from app.services import labels

    with Runtime(settings_for(index)) as runtime:
        if entry is None:
            history = labels.label_history(runtime, call_id)
            changes = [h for h in history if h["old_labels"] != h["new_labels"]]
            if not changes:
                raise InputError(f"{call_id!r} has no label change to undo")
            entry = int(changes[-1]["id"])
        edit = labels.undo_relabel(runtime, call_id, entry, dry_run=dry_run, by="cli")
    verb = "would restore" if dry_run else "restored"
    recorded = f" (history #{edit.entry})" if edit.entry else ""
    console.print(
        f"{verb} {call_id}: {', '.join(edit.old) or '-'} → {', '.join(edit.new) or '-'} "
        f"({edit.change}), undoing #{entry}{recorded}",
        highlight=False,
    )
