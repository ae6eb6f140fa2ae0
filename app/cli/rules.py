"""``callscope rules``: quality-inspection rules (质检规则) over ``app.services.inspection``:
the starter pack, loading a YAML/JSON file (applied to every stored call), listing, a
preview that keeps nothing, one call's evidence, history, delete and restore."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from app.cli.console import App, console, err_console, settings_for
from app.core.errors import InputError

rules_app = App(
    help="Quality-inspection rules (质检): write them in YAML or JSON (start from `rules "
    "starter`), load them (every stored call is checked), filter calls by the rules they "
    "break (-f category=NAME), read a call's evidence.",
)

FileArg = Annotated[Path, typer.Argument(help="A YAML or JSON rules file ('-': standard input).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ByOpt = Annotated[str, typer.Option("--by", help="Who makes the change (kept in the history).")]


def _read(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def _runtime():  # noqa: ANN202 - the Runtime, imported when a command runs
    from app.runtime import Runtime

    return Runtime(settings_for())


def _progress(done: int, total: int, line: str) -> None:
    err_console.print(f"… {line}", highlight=False)


@rules_app.command("starter")
def starter() -> None:
    """Print the starter pack (greeting, identity check, apology, forbidden phrases, silence,
    interruptions, closing; Chinese and English) to edit and load."""
    from app.services.inspection import starter_rules

    typer.echo(starter_rules(), nl=False)


@rules_app.command("load")
def load(
    path: FileArg,
    by: ByOpt = "cli",
    apply: Annotated[
        bool, typer.Option(help="Check every stored call against the changed rules now.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Save the rules of a file (a changed rule becomes a new version) and apply them."""
    from app.services.inspection import save_rules

    text = _read(path)
    with _runtime() as runtime:
        actions, applied = save_rules(runtime, text, by=by, apply=apply, progress=_progress)
    if as_json:
        out = {"rules": actions}
        if applied is not None:
            out["applied"] = {"calls": applied.calls, "checked": applied.checked,
                              "matched": applied.matched}  # fmt: skip
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    for name, action in actions.items():
        console.print(f"{name}: {action}", highlight=False)
    if applied is not None:
        console.print(
            f"checked {applied.calls} calls ({applied.checked} rule checks); matches: "
            + (", ".join(f"{k} {v}" for k, v in sorted(applied.matched.items())) or "none"),
            highlight=False,
        )


@rules_app.command("apply")
def apply_(as_json: JsonOpt = False) -> None:
    """Check every stored call against the rules it was not yet checked with (after
    `load --no-apply`, or an interrupted apply)."""
    from app.services.inspection import apply_rules

    with _runtime() as runtime:
        applied = apply_rules(runtime, progress=_progress)
    if as_json:
        typer.echo(json.dumps({"calls": applied.calls, "checked": applied.checked,
                               "matched": applied.matched}, ensure_ascii=False))  # fmt: skip
        return
    console.print(f"checked {applied.calls} calls ({applied.checked} rule checks)",
                  highlight=False)  # fmt: skip


@rules_app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """The rules, their severity and version, and how many calls each matched."""
    from app.services.inspection import list_rules

    with _runtime() as runtime:
        found = list_rules(runtime)
    if as_json:
        typer.echo(json.dumps([_info(r) for r in found], ensure_ascii=False))
        return
    if not found:
        console.print("no rules yet: `callscope rules starter > rules.yaml`, edit, then "
                      "`callscope rules load rules.yaml`", highlight=False)  # fmt: skip
        return
    table = Table()
    table.add_column("rule", no_wrap=True)  # the name a filter uses: never cut
    for column in ("title", "severity", "version", "matched", "checked"):
        table.add_column(column)
    for r in found:
        table.add_row(r.name, r.title, r.severity, str(r.version), str(r.matched), str(r.checked))
    console.print(table)


@rules_app.command("test")
def test(
    path: FileArg,
    calls: Annotated[
        Optional[list[str]], typer.Option("--call", help="Check these calls (repeat).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Without --call: this many stored calls.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Check the rules of a file on calls without saving anything (a preview)."""
    from app.services.inspection import preview_rule, result_dict

    text = _read(path)
    with _runtime() as runtime:
        found = preview_rule(runtime, text, calls or None, limit=limit)
    if as_json:
        typer.echo(json.dumps([{"call_id": p.call_id, **result_dict(p.result)} for p in found],
                              ensure_ascii=False))  # fmt: skip
        return
    for p in found:
        mark = "MATCH" if p.result.matched else "-"
        console.print(f"{p.call_id}  {p.result.rule}: {mark}", highlight=False)
        for e in p.result.evidence:
            console.print(f"    {_evidence_line(e)}", highlight=False)
    matched = sum(p.result.matched for p in found)
    console.print(f"{matched} of {len(found)} checks matched (nothing saved)", highlight=False)


@rules_app.command("call")
def call(call_id: str, as_json: JsonOpt = False) -> None:
    """What every rule found on one call, with the turns that show it."""
    from app.services.inspection import call_inspection, result_dict

    with _runtime() as runtime:
        found = call_inspection(runtime, call_id)
    if as_json:
        typer.echo(json.dumps([{**_info(i), **result_dict(r)} for i, r in found],
                              ensure_ascii=False))  # fmt: skip
        return
    for info, result in found:
        mark = "MATCH" if result.matched else "-"
        console.print(f"{info.name} ({info.severity}): {mark}", highlight=False)
        for e in result.evidence:
            console.print(f"    {_evidence_line(e)}", highlight=False)


@rules_app.command("history")
def history(name: str, as_json: JsonOpt = False) -> None:
    """Every version of a rule: who changed it, when, and how."""
    from app.services.inspection import rule_history

    with _runtime() as runtime:
        found = rule_history(runtime, name)
    print_history(found, as_json)


def print_history(found: list[dict[str, Any]], as_json: bool) -> None:
    """A rule's or a scorecard's versions, a line each (or JSON)."""
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    import datetime as dt

    for h in found:
        when = dt.datetime.fromtimestamp(h["at"], dt.UTC).strftime("%Y-%m-%d %H:%M")
        console.print(f"v{h['version']} {h['action']} by {h['by']} at {when} UTC", highlight=False)


@rules_app.command("delete")
def delete(
    name: str,
    by: ByOpt = "cli",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Delete a rule and its results (`rules restore NAME VERSION` brings it back)."""
    from app.services.inspection import delete_rule

    if not yes and not typer.confirm(f"Delete rule {name!r} and what it found?"):
        raise typer.Exit(1)
    with _runtime() as runtime:
        delete_rule(runtime, name, by=by)
    console.print(f"deleted {name} (undo: callscope rules history {name}, then restore)",
                  highlight=False)  # fmt: skip


@rules_app.command("restore")
def restore(name: str, version: int, by: ByOpt = "cli") -> None:
    """Make an earlier version of a rule current again (undoes a change or a deletion)."""
    from app.services.inspection import restore_rule

    with _runtime() as runtime:
        applied = restore_rule(runtime, name, version, by=by)
    console.print(f"{name}: version {version} restored; checked {applied.calls} calls",
                  highlight=False)  # fmt: skip


@rules_app.command("alerts")
def alerts_(
    send: Annotated[bool, typer.Option("--send", help="Send what is due now, then show.")] = False,
    limit: Annotated[int, typer.Option(help="Entries shown, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The webhook delivery log of severe matches (ALERTS__WEBHOOKS): sent, pending, failed."""
    from app.services.alerts import alert_log, deliver_due

    with _runtime() as runtime:
        if send:
            counts = deliver_due(runtime)
            err_console.print(f"sent {counts['sent']}, failed {counts['failed']}", highlight=False)
        found = alert_log(runtime, limit)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    if not found:
        console.print("no alerts (set ALERTS__WEBHOOKS to receive severe matches)",
                      highlight=False)  # fmt: skip
        return
    table = Table("state", "rule", "call", "attempts", "url", "last error")
    for e in found:
        table.add_row(e["state"], e["rule"], e["call_id"], str(e["attempts"]), e["url"],
                      e["last_error"] or "")  # fmt: skip
    console.print(table)


def _info(r) -> dict:  # noqa: ANN001 - a RuleInfo
    return {"name": r.name, "title": r.title, "description": r.description,
            "severity": r.severity, "version": r.version, "matched": r.matched,
            "checked": r.checked}  # fmt: skip


def _evidence_line(e) -> str:  # noqa: ANN001 - an Evidence
    from rich.markup import escape

    when = f"{e.start:.0f}s " if e.start is not None else ""
    return escape(f"T{e.turn} {when}{e.role}: {e.text[:80]}  [{e.why}]")
