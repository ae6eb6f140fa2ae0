"""``callscope search`` and ``callscope ask`` (over ``app.services.search``)."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table

from app.cli.console import console, settings_for
from app.cli.options import FilterOpt, IndexOpt
from app.core.filters import CallFilter


def search(
    query: Annotated[str, typer.Argument(help="What to look for (English or Chinese).")],
    filter_: FilterOpt = None,
    k: Annotated[int, typer.Option("--k", help="How many passages.")] = 10,
    mode: Annotated[Optional[str], typer.Option(help="hybrid, dense or sparse.")] = None,
    expand: Annotated[bool, typer.Option(help="Bring each hit's neighbouring turns.")] = False,
    index: IndexOpt = None,
) -> None:
    """Hybrid (dense + BM25) search over call passages, with citations."""
    from app.runtime import Runtime
    from app.services import search as service
    from app.services.search import clock

    settings = settings_for(index)
    filters = CallFilter.parse(filter_ or [], settings.ingest.metadata_fields)
    with Runtime(settings) as runtime:
        result = service.search(runtime, query, filters=filters, k=k, mode=mode, expand=expand)
    table = Table(title=f"Search: {query}", show_lines=True)
    for col in ("#", "call", "time", "speakers", "labels", "passage"):
        table.add_column(col)
    for i, p in enumerate(result.passages, 1):
        text = (
            p.text
            if not p.context
            else p.text + "\n[dim]+ context: " + " … ".join(p.context.values())[:400] + "[/]"
        )
        when = f"{clock(p.start)}–{clock(p.end)}" if p.start is not None else ""
        table.add_row(str(i), p.call_id, when, ", ".join(p.speakers), ", ".join(p.labels), text)
    console.print(table)
    if result.dates:
        d = result.dates
        console.print(
            f"[dim]calls of {d.start}–{d.end} only (the query says {d.words!r})[/]",
            highlight=False,
        )
    if result.weak:
        console.print("[yellow]weak match: nothing here is close to the query[/]")


def ask(
    question: Annotated[str, typer.Argument(help="A question about the calls.")],
    filter_: FilterOpt = None,
    k: Annotated[int, typer.Option("--k", help="Evidence passages to use.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    index: IndexOpt = None,
) -> None:
    """Answer a question from the calls, citing call, time and speaker."""
    from app.runtime import Runtime
    from app.services import search as service
    from app.services.search import Answer, answer_dict, clock

    settings = settings_for(index)
    filters = CallFilter.parse(filter_ or [], settings.ingest.metadata_fields)
    answer: Answer | None = None
    with Runtime(settings) as runtime:
        streamed = False
        for part in service.ask_stream(runtime, question, filters=filters, k=k):
            if isinstance(part, Answer):
                answer = part
            elif not as_json:
                console.print(part, end="", highlight=False, markup=False)
                streamed = True
    assert answer is not None
    if as_json:
        print(json.dumps(answer_dict(answer), ensure_ascii=False))
        return
    if answer.generated:
        console.print()
    else:
        if streamed:  # the model's words, dropped: the evidence follows on a line of its own
            console.print("\n")
        console.print(answer.text, highlight=False, markup=False)
    if answer.note:
        console.print(f"[yellow]{answer.note}[/]", highlight=False)
    if answer.generated and answer.citations:
        console.print("[bold]Sources[/]")
        for c in answer.citations:
            p = c.passage
            console.print(
                f"  [{c.n}] call {p.call_id} {clock(p.start)}–{clock(p.end)} "
                f"({', '.join(p.speakers)})",
                highlight=False,
                markup=False,
            )
    if answer.redactions:
        console.print(f"[dim]redacted before sending: {answer.redactions}[/]", highlight=False)
