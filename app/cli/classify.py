"""``callscope classify``: new calls, or stored ones, against the labeled calls in the index
(over ``app.services.classify``), a summary table and an optional results file."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from app.cli.console import console, err_console, progress_bar, settings_for
from app.cli.options import IndexOpt
from app.core.errors import InputError

if TYPE_CHECKING:
    from app.services.classify import CallResult


def classify(
    paths: Annotated[
        Optional[list[Path]], typer.Argument(help="Recordings, transcripts or folders.")
    ] = None,
    call: Annotated[
        Optional[list[str]],
        typer.Option(
            "--call",
            help="A stored call's id (repeatable): classified from the vectors the index "
            "already holds, nothing transcribed or embedded again; the call itself never votes.",
        ),
    ] = None,
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Write results (.csv, .xlsx, .jsonl).")
    ] = None,
    index: IndexOpt = None,
) -> None:
    """Classify new calls, or stored ones (--call), against the labeled calls in the index
    (LLM-refined when configured)."""
    from app.runtime import Runtime
    from app.services.classify import classify_calls, classify_inputs
    from app.services.results import write_results

    settings = settings_for(index)
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx", ".jsonl"):
        raise InputError(f"--out must end in .csv, .xlsx or .jsonl, not {out.suffix!r}")
    if not paths and not call:
        raise InputError("give recordings, transcripts or folders to classify, or --call ID")
    stored = list(call or [])
    started = time.perf_counter()
    with Runtime(settings) as runtime, progress_bar() as bar:
        task = bar.add_task("classify", total=len(stored) or None, current="")
        results = classify_inputs(
            runtime,
            paths or [],
            source="cli",
            on_count=lambda n: bar.update(task, total=n + len(stored)),
            on_start=lambda src: bar.update(task, current=f"{src.kind}: {src.call_id}"),
            on_result=lambda _: bar.advance(task),
        )
        # Stored calls: all in one pass, from the vectors the index holds.
        bar.update(task, current="stored calls" if stored else "")
        results += classify_calls(runtime, stored, source="cli")
        bar.update(task, completed=len(results), current="")
        usage = runtime.llm_usage()
    _report(results, time.perf_counter() - started, usage)
    if out is not None:
        write_results(out, results)
        console.print(f"results written to {out}", highlight=False)
    if not any(r.classification is not None for r in results):
        err_console.print("[red]error:[/] nothing could be classified")
        raise typer.Exit(code=1)


def _report(results: list[CallResult], seconds: float, usage: str | None) -> None:
    """Calls per label, how each was decided, and every failure on its own line."""
    done = [r.classification for r in results if r.classification is not None]
    table = Table(title="Classification summary")
    table.add_column("label")
    table.add_column("calls", justify="right")
    for label, n in Counter(c.label for c in done).most_common():
        table.add_row(label, str(n))
    console.print(table)
    paths_by = Counter(c.decided_by for c in done)
    console.print(
        f"{len(done)} classified ({', '.join(f'{k}: {v}' for k, v in paths_by.items()) or '-'}), "
        f"{len(results) - len(done)} failed · {seconds:.1f} s",
        highlight=False,
    )
    if usage:
        console.print(usage, highlight=False)
    for r in results:
        if r.error:
            console.print(f"[red]failed[/] {r.call_id} ({r.origin}): {r.error}", highlight=False)
