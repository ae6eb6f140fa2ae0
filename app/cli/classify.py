"""``callscope classify``: new calls against the labeled calls in the index (over
``app.services.classify``), a summary table and an optional results file."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from app.cli.console import batch_progress, console, err_console, settings_for
from app.cli.options import CollectionOpt
from app.core.errors import CallScopeError, InputError
from app.runtime import Runtime
from app.services.calls import discover_inputs
from app.services.classify import CallResult, classify_batch, classify_stored
from app.services.results import write_results


def classify(
    paths: Annotated[
        Optional[list[Path]], typer.Argument(help="Recordings, transcripts or folders.")
    ] = None,
    call: Annotated[
        Optional[list[str]],
        typer.Option(
            "--call",
            help="A stored call's id (repeatable): classified from the vectors the index "
            "already holds, nothing transcribed or embedded again.",
        ),
    ] = None,
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Write results (.csv, .xlsx, .jsonl).")
    ] = None,
    collection: CollectionOpt = None,
) -> None:
    """Classify new calls, or stored ones (--call), against the labeled calls in the index
    (LLM-refined when configured)."""
    settings = settings_for(collection)
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx", ".jsonl"):
        raise InputError(f"--out must end in .csv, .xlsx or .jsonl, not {out.suffix!r}")
    if not paths and not call:
        raise InputError("give recordings, transcripts or folders to classify, or --call ID")
    sources, errors = discover_inputs(paths) if paths else ([], [])
    started = time.perf_counter()
    with Runtime(settings) as runtime:
        with batch_progress(len(sources) + len(call or []), "classify") as (_, on_result):

            def advance(result: CallResult) -> None:
                on_result(None)  # type: ignore[arg-type] - the bar only counts

            results = classify_batch(runtime, sources, source="cli", on_result=advance)
            for call_id in call or []:
                try:
                    found = classify_stored(runtime, call_id, source="cli")
                    results.append(CallResult(call_id, "stored", classification=found))
                except CallScopeError as exc:
                    results.append(CallResult(call_id, "stored", error=str(exc)))
                advance(results[-1])
        usage = runtime.llm_usage()

    done = [r for r in results if r.classification is not None]
    table = Table(title="Classification summary")
    table.add_column("label")
    table.add_column("calls", justify="right")
    for label, n in Counter(r.classification.label for r in done).most_common():
        table.add_row(label, str(n))
    console.print(table)
    paths_by = Counter(r.classification.decided_by for r in done)
    console.print(
        f"{len(done)} classified ({', '.join(f'{k}: {v}' for k, v in paths_by.items()) or '-'}), "
        f"{len(results) - len(done) + len(errors)} failed · "
        f"{time.perf_counter() - started:.1f} s",
        highlight=False,
    )
    if usage:
        console.print(usage, highlight=False)
    for origin, message in errors:
        console.print(f"[red]rejected[/] {origin}: {message}", highlight=False)
    for r in results:
        if r.error:
            console.print(f"[red]failed[/] {r.call_id} ({r.origin}): {r.error}", highlight=False)
    if out is not None:
        write_results(out, results)
        console.print(f"results written to {out}", highlight=False)
    if not done:
        err_console.print("[red]error:[/] nothing could be classified")
        raise typer.Exit(code=1)
