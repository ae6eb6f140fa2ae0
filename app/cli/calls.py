"""``callscope ingest``, ``import-labels``, ``status``: calls in and what is there (over
``app.services.calls`` and ``app.services.status``; label corrections: ``app.cli.labels``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from app.cli.console import (
    batch_progress,
    build_search_index,
    console,
    err_console,
    nothing_processed,
    print_summary,
    settings_for,
)
from app.cli.options import AgentSpeakerOpt, HotwordsOpt, IndexOpt
from app.core.config import Settings
from app.core.models import CallSource, Columns


def _run(
    sources: list[CallSource], input_errors: list[tuple[str, str]], settings: Settings, title: str
) -> None:
    from app.runtime import Runtime
    from app.services import calls

    started = time.perf_counter()
    results = []
    if sources:
        with Runtime(settings) as runtime, batch_progress(len(sources), title) as callbacks:
            on_start, on_result = callbacks
            results = calls.ingest_sources(runtime, sources, on_result=on_result, on_start=on_start)
            build_search_index(runtime)
    print_summary(results, input_errors, started)
    if nothing_processed(results, input_errors):
        err_console.print("[red]error:[/] nothing could be processed")
        raise typer.Exit(code=1)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Recordings, transcripts or folders.")],
    label: Annotated[
        Optional[list[str]],
        typer.Option("--label", "-l", help="Label for every input (repeatable)."),
    ] = None,
    language: Annotated[
        Optional[str], typer.Option("--language", help="Force the spoken language (e.g. zh, en).")
    ] = None,
    agent_speaker: AgentSpeakerOpt = None,
    hotwords: HotwordsOpt = None,
    index: IndexOpt = None,
) -> None:
    """Transcribe, cut into turns, embed and index recordings and transcripts."""
    from app.services import calls

    settings = settings_for(index)
    if language:
        settings = settings.with_changes(whisper={"language": language.lower()})
    sources, errors = calls.discover_inputs(paths, label)
    calls.set_agent_speaker(sources, agent_speaker)
    calls.set_hotwords(sources, hotwords)
    _run(sources, errors, settings, "ingest")


def import_labels(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or JSONL of labeled calls.")],
    id_col: Annotated[Optional[str], typer.Option(help="Column with the call id.")] = None,
    text_col: Annotated[
        Optional[str], typer.Option(help="Column with transcript text (or turns).")
    ] = None,
    audio_col: Annotated[
        Optional[str], typer.Option(help="Column with an audio path (relative to FILE).")
    ] = None,
    label_col: Annotated[Optional[str], typer.Option(help="Column with the label(s).")] = None,
    label_sep: Annotated[str, typer.Option(help="Separator between several labels.")] = ";",
    index: IndexOpt = None,
) -> None:
    """Import labeled training calls (text or audio) into the index."""
    from app.services import calls

    settings = settings_for(index)
    columns = Columns(
        id=id_col, text=text_col, audio=audio_col, label=label_col, label_sep=label_sep
    )
    sources, errors = calls.read_labeled(settings, file, columns)
    _run(sources, errors, settings, "import")


def status(
    index: IndexOpt = None,
    failures: Annotated[int, typer.Option(help="How many failed inputs to list.")] = 10,
) -> None:
    """Show what is indexed, what failed, and which models and store are in use."""
    from app.runtime import Runtime
    from app.services import status as status_service

    settings = settings_for(index)
    with Runtime(settings) as runtime:
        report = status_service.status(runtime, failures=failures)
    table = Table(title="Ledger", show_header=True)
    table.add_column("state")
    table.add_column("calls", justify="right")
    for state, n in report.ledger.items():
        table.add_row(state, str(n))
    console.print(table)
    console.print(f"store: {report.store}", highlight=False)
    console.print(f"state dir: {report.state_dir}", highlight=False)
    console.print(
        f"speech model: {report.speech_model} · embedding model: {report.embedding_model}",
        highlight=False,
    )
    console.print(f"LLM: {report.llm or 'not configured'}", highlight=False)
    if report.llm:
        trust = (
            report.llm_trust
            or "not measured yet (at the first classification, or `callscope llm trust`)"
        )
        console.print(f"LLM trust: {trust}", highlight=False)
    if report.collection is not None:
        c = report.collection
        console.print(
            f"index: {c.calls} calls, {c.points} speaker turns searchable (collection "
            f"{c.name!r}) · embedded by {c.model_id}, {c.dim} numbers per vector",
            highlight=False,
        )
    if report.store_error:
        console.print(f"[yellow]store unavailable:[/] {report.store_error}", highlight=False)
    for f in report.failures:
        console.print(f"[red]failed[/] {f.call_id} ({f.origin}): {f.error}", highlight=False)


def reindex(index: IndexOpt = None) -> None:
    """Rebuild the index in this version's schema from the ledger (nothing is transcribed)."""
    from app.runtime import Runtime
    from app.services import status as status_service
    from app.services.reindex import reindex as rebuild

    settings = settings_for(index)
    started = time.perf_counter()
    with Runtime(settings) as runtime:
        ledger = status_service.status(runtime, failures=0, open_store=False).ledger
        total = sum(ledger.values())
        with batch_progress(total, "reindex") as (_, on_result):
            report = rebuild(runtime, on_result=on_result)
        build_search_index(runtime)
    was = f"schema {report.old_schema}" if report.old_schema is not None else "no collections"
    if report.old_model is not None:
        was = f"embedded by {report.old_model}"
    console.print(
        f"re-indexed {report.calls} calls ({was} before): "
        + ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
        + f" · {time.perf_counter() - started:.1f} s",
        highlight=False,
    )
    for name in report.set_aside:
        console.print(f"kept the unreadable collection as {name}", highlight=False)
    for call_id in report.skipped:
        console.print(f"[yellow]skipped[/] {call_id}: no transcript in the ledger", highlight=False)
    for call_id, error in report.failed:
        console.print(f"[red]failed[/] {call_id}: {error}", highlight=False)


def doctor(
    check: Annotated[
        bool, typer.Option("--check", help="Only report; change nothing (exit 1 if unhealthy).")
    ] = False,
    index: IndexOpt = None,
) -> None:
    """Check the ledger and the job table against the store and repair them: a damaged or
    emptied ledger is rebuilt from the store's payloads, orphan points are removed; damaged
    files are kept beside the new ones."""
    from app.services.doctor import doctor as run_doctor

    report = run_doctor(settings_for(index), repair=not check)
    for problem in report.problems:
        console.print(f"[yellow]found[/] {problem}", highlight=False)
    if report.ledger == "rebuilt":
        console.print(
            f"ledger rebuilt from the store: {report.rebuilt_calls} calls", highlight=False
        )
    if report.store == "rebuilt":
        console.print("vector store rebuilt from the ledger (nothing transcribed)", highlight=False)
    if report.jobs == "reset":
        console.print("job table was damaged: set aside, started afresh", highlight=False)
    if report.orphan_points:
        console.print(f"removed {report.orphan_points} orphan points", highlight=False)
    for name in report.kept:
        console.print(f"kept the damaged file as {name}", highlight=False)
    if not report.problems:
        console.print("ledger, job table and store agree: nothing to repair", highlight=False)
    if check and report.problems:
        raise typer.Exit(code=1)
