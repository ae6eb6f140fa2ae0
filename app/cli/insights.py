"""``callscope insights``: the Insights of a period in the terminal (or as JSON / XLSX), and its
``--count`` form for counting questions (over ``app.services.insights`` and ``.counting``)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from app.cli.console import console, settings_for
from app.cli.options import FilterOpt, IndexOpt
from app.core.errors import InputError
from app.core.filters import CallFilter, metric_bound

if TYPE_CHECKING:
    from app.services import counting
    from app.services.insights import Insights

#: Label columns of the weekly table in the terminal (the rest are in --json and --xlsx).
WEEK_COLUMNS = 8


def insights(
    question: Annotated[
        Optional[str],
        typer.Argument(help="With --count: a question ('how many refund calls last week?')."),
    ] = None,
    date_from: Annotated[
        Optional[str], typer.Option("--from", help="First day, YYYY-MM-DD.")
    ] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    filter_: FilterOpt = None,
    metric: Annotated[
        Optional[list[str]],
        typer.Option("--metric", "-m", help="longest_silence>=60, duration<300 (repeatable)."),
    ] = None,
    speaker_source: Annotated[
        Optional[str], typer.Option(help="channels, voices, uncertain, mono or transcript.")
    ] = None,
    source: Annotated[
        str, typer.Option(help="A call's label: both (labels, else prediction), labels, predicted.")
    ] = "both",
    low_confidence: Annotated[
        Optional[float],
        typer.Option(help="Low-confidence threshold (default batch.low_confidence)."),
    ] = None,
    top: Annotated[int, typer.Option(help="Rising and falling labels shown.")] = 5,
    count: Annotated[
        bool,
        typer.Option("--count", help="Only count: the QUESTION's labels and days, or --label."),
    ] = False,
    label: Annotated[
        Optional[list[str]], typer.Option("--label", "-l", help="With --count: labels to count.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    xlsx: Annotated[Optional[Path], typer.Option("--xlsx", help="Also write a workbook.")] = None,
    lang: Annotated[
        str, typer.Option("--lang", help="The workbook's language: en or zh-CN.")
    ] = "en",
    index: IndexOpt = None,
) -> None:
    """Label mix per week, rising and falling labels, unknown and low-confidence shares, per
    agent/team/queue tables and metric distributions, counted in the store; or, with --count,
    one number ("how many refund calls last week?")."""
    from app.runtime import Runtime
    from app.services import counting
    from app.services.insights import InsightsQuery, insights_dict
    from app.services.insights import insights as build
    from app.services.insights_xlsx import write_insights_xlsx

    settings = settings_for(index)
    filters = CallFilter.parse(filter_ or [], settings.ingest.metadata_fields)
    filters = replace(
        filters,
        date_from=_day("--from", date_from) or filters.date_from,
        date_to=_day("--to", date_to) or filters.date_to,
    )
    bounds = tuple(metric_bound(m) for m in metric or ())
    filters = replace(filters, metrics=(*filters.metrics, *bounds))
    scope = {"filters": filters, "speaker_source": speaker_source}
    if question and not count:
        raise InputError("a question is counted: add --count (or leave the question out)")
    with Runtime(settings) as runtime:
        if count:
            if question and label:
                raise InputError("give a question or --label, not both")
            answer = (
                counting.count_question(runtime, question, **scope, source=source)
                if question
                else counting.count_calls(runtime, label or [], **scope, source=source)
            )
            _print_count(answer, question, as_json)
            return
        query = InsightsQuery(**scope, source=source, low_confidence=low_confidence, top=top)
        report = build(runtime, query)
    if xlsx is not None:
        if xlsx.suffix.lower() != ".xlsx":
            raise InputError(f"--xlsx must end in .xlsx, not {xlsx.suffix or '(none)'!r}")
        if lang not in ("en", "zh-CN"):
            raise InputError(f"--lang is en or zh-CN, not {lang!r}")
        write_insights_xlsx(report, xlsx, lang)
    if as_json:
        print(json.dumps(insights_dict(report), ensure_ascii=False))
        return
    _print(report)
    if xlsx is not None:
        console.print(f"workbook: {xlsx}", highlight=False)


def _day(option: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{option} {value!r}: use YYYY-MM-DD") from None


def _print_count(answer: counting.CountAnswer, question: str | None, as_json: bool) -> None:
    days = (
        f"{answer.date_from or '…'} to {answer.date_to or '…'}"
        if answer.date_from or answer.date_to
        else "all dates"
    )
    if as_json:
        out = {
            "question": question,
            "labels": answer.labels,
            "date_from": answer.date_from.isoformat() if answer.date_from else None,
            "date_to": answer.date_to.isoformat() if answer.date_to else None,
            "words": answer.words,
            "source": answer.source,
            "count": answer.count.to_dict(),
            "per_label": {k: v.to_dict() for k, v in answer.per_label.items()},
        }
        print(json.dumps(out, ensure_ascii=False))
        return
    what = " or ".join(answer.labels) if answer.labels else "any label"
    console.print(
        f"[bold]{answer.count.value}[/] calls ({what}; {days}; label from {answer.source})",
        highlight=False,
    )
    if len(answer.per_label) > 1:
        for name, c in answer.per_label.items():
            console.print(f"  {name}: {c.value}", highlight=False, markup=False)
    console.print(f"[dim]filter: {json.dumps(answer.count.filter, ensure_ascii=False)}[/]")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _print(report: Insights) -> None:
    from app.services.insights import share
    from app.services.insights_xlsx import DATED_BY, missing_metadata_note

    r = report
    console.print(
        f"[bold]Insights {r.date_from} to {r.date_to}[/] (previous: {r.previous_from} to "
        f"{r.previous_to}; label from {r.source})",
        highlight=False,
    )
    console.print(
        f"{r.calls.value} calls (previous period {r.previous_calls.value}) · classified "
        f"{r.classified.value} · unknown {r.unknown.value} ({_pct(r.unknown_share)}) · below "
        f"{r.low_confidence_below} confidence {r.low_confidence.value} "
        f"({_pct(r.low_confidence_share)}) · no label {r.unassigned.value}"
        + (f" · {r.undated.value} calls have no date (not counted)" if r.undated.value else ""),
        highlight=False,
    )
    for how, c in r.dated_by.items():
        console.print(
            f"{c.value} calls are dated by their {DATED_BY.get(how, how)} (they came without a "
            "date of their own)",
            highlight=False,
        )
    names = [c.label for c in r.labels if c.current.value][:WEEK_COLUMNS]
    weeks = Table(title="Calls per week")
    for col in ("week", "calls", *names, "no label"):
        weeks.add_column(col, justify="left" if col == "week" else "right")
    for w in r.weeks:
        cells = [str(w.labels[n].value) if n in w.labels else "0" for n in names]
        weeks.add_row(str(w.start), str(w.calls.value), *cells, str(w.unassigned.value))
    console.print(weeks)
    labels = Table(title="Labels against the previous period")
    for col in ("label", "calls", "share", "previous", "change"):
        labels.add_column(col, justify="left" if col == "label" else "right")
    for c in r.labels:
        labels.add_row(
            c.label,
            str(c.current.value),
            _pct(share(c.current, r.calls)),
            str(c.previous.value),
            "new" if c.new else f"{c.change:+d}",
        )
    console.print(labels)
    if not r.previous_calls.value:
        console.print(
            f"no calls in the previous period ({r.previous_from} to {r.previous_to}): nothing "
            "to compare with, every label is new",
            highlight=False,
        )
    else:
        for title, moved in (("rising", r.rising), ("falling", r.falling)):
            if moved:
                text = ", ".join(f"{c.label} {c.change:+d}" for c in moved)
                console.print(f"[bold]{title}:[/] {text}", highlight=False)
        if r.new:
            text = ", ".join(f"{c.label} ({c.current.value})" for c in r.new)
            console.print(f"[bold]new:[/] {text}", highlight=False)
    for field in r.missing_metadata:
        console.print(f"[bold]By {field}:[/] {missing_metadata_note(field)}", highlight=False)
    for field, rows in r.groups.items():
        if not rows:
            continue
        table = Table(title=f"By {field}")
        for col in (field, "calls", "unknown", "low confidence", "top label"):
            table.add_column(col, justify="left" if col in (field, "top label") else "right")
        for row in rows[:20]:
            best = max(row.labels.items(), key=lambda kv: kv[1].value, default=None)
            table.add_row(
                row.value,
                str(row.calls.value),
                str(row.unknown.value),
                str(row.low_confidence.value),
                f"{best[0]} ({best[1].value})" if best and best[1].value else "",
            )
        console.print(table)
    measured = {k: v for k, v in r.metrics.items() if any(b.calls.value for b in v)}
    if measured:
        table = Table(
            title=f"Conversation metrics (calls per bin; {r.timed.value} of {r.calls.value} "
            "calls have timings: recordings)"
        )
        table.add_column("metric")
        table.add_column("bins")
        for name, bins in measured.items():
            cells = [
                f"{b.low:g}–{'' if b.high is None else f'{b.high:g}'}: {b.calls.value}"
                for b in bins
                if b.calls.value
            ]
            table.add_row(name, " · ".join(cells))
        console.print(table)
    elif r.calls.value:
        console.print(
            f"no conversation metrics: none of the {r.calls.value} calls has timings (only "
            "recordings have them)",
            highlight=False,
        )
    console.print(f"[dim]{r.engine_calls} engine counts in {r.seconds * 1000:.0f} ms[/]")
