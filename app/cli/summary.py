"""``callscope summary CALL_ID``: a stored call summarized by the LLM, each point with the turns
it cites (over ``app.services.summary``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from app.cli.console import console, settings_for
from app.cli.options import IndexOpt
from app.core.models import FollowUp, SummaryPoint, TurnRef
from app.core.text import stamp

if TYPE_CHECKING:
    from app.services.summary import SummaryResult


def summary(
    call_id: Annotated[str, typer.Argument(help="The id of a stored call.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    index: IndexOpt = None,
) -> None:
    """Summarize a call with the LLM: reason, outcome, promised follow-ups, cited turns."""
    from app.runtime import Runtime
    from app.services.summary import summarize_call, summary_dict

    with Runtime(settings_for(index)) as runtime:
        result = summarize_call(runtime, call_id)
        usage = runtime.llm.usage_line() if runtime.llm is not None else None
    if as_json:
        print(json.dumps(summary_dict(result), ensure_ascii=False))
        return
    _print(result)
    if usage:
        console.print(f"[dim]{usage}[/]", highlight=False)


def _print(result: SummaryResult) -> None:
    s = result.summary
    if s is None:
        console.print(
            f"[yellow]summary skipped:[/] {escape(result.skipped or '')}", highlight=False
        )
        return
    origin = "from the cache" if s.cached else "just now"
    table = Table(title=f"Call {result.call_id}: summary by {result.model} ({origin})")
    for col in ("", "summary", "cites"):
        table.add_column(col)
    rows: list[tuple[str, SummaryPoint]] = [("reason", s.reason), ("outcome", s.outcome)]
    rows += [(f"follow-up {i}", f) for i, f in enumerate(s.follow_ups, 1)]
    for name, point in rows:
        text = point.text
        if isinstance(point, FollowUp) and (point.by or point.due):
            text += f" ({', '.join(x for x in (point.by, point.due) if x)})"
        cites = "\n".join(_ref(c) for c in point.citations) or "[red]none[/]"
        if point.invalid:
            cites += f"\n[red]dropped: {escape(', '.join(point.invalid))}[/]"
        table.add_row(name, escape(text), cites)
    if not s.follow_ups:
        table.add_row("follow-ups", "none promised", "")
    console.print(table)
    cited = [c for _, c in sorted({c.turn: c for p in s.points for c in p.citations}.items())]
    if cited:
        console.print("[bold]Cited turns[/]")
        for c in cited:
            console.print(f"  {_ref(c)} {escape(c.text)}", highlight=False)
    if result.note:
        console.print(f"[yellow]{escape(result.note)}[/]", highlight=False)
    if s.flags:
        console.print(f"[yellow]flags: {', '.join(s.flags)}[/]", highlight=False)
    if s.redactions:
        console.print(f"[dim]redacted before sending: {s.redactions}[/]", highlight=False)


def _ref(c: TurnRef) -> str:
    when = stamp(c.start)
    return escape(f"[T{c.turn}{' ' + when if when else ''} {c.speaker}]")
