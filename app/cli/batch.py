"""``callscope batch``: the weekly job in one resumable command (over
``app.services.batch_run``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.cli.console import build_search_index, console, err_console, settings_for
from app.cli.options import AgentSpeakerOpt, HotwordsOpt, IndexOpt
from app.core.errors import InputError
from app.core.models import Columns


def batch(
    paths: Annotated[
        Optional[list[Path]], typer.Argument(help="Recordings, transcripts or folders.")
    ] = None,
    manifest: Annotated[
        Optional[Path],
        typer.Option(
            "--manifest",
            help="CSV/XLSX/JSONL listing the calls: an audio (or text) column, and id, date, "
            "agent/team/queue… columns when present.",
        ),
    ] = None,
    out: Annotated[
        Optional[Path],
        typer.Option("--out", help="Also write the results here (.csv/.xlsx/.jsonl)."),
    ] = None,
    run: Annotated[
        Optional[str],
        typer.Option(
            "--run",
            help="Name of the run (default: derived from the inputs, so the same command "
            "continues the same run).",
        ),
    ] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="Forget this run's results and start it over.")
    ] = False,
    language: Annotated[
        Optional[str], typer.Option("--language", help="Force the spoken language (e.g. zh, en).")
    ] = None,
    workers: Annotated[
        Optional[int],
        typer.Option(
            "--workers",
            min=1,
            help="Transcription worker processes (default: whisper.workers, one per core).",
        ),
    ] = None,
    ray_address: Annotated[
        Optional[str],
        typer.Option(
            "--ray-address",
            envvar="RAY_ADDRESS",
            help="Transcribe on this Ray cluster (needs callscope[ray]; 'local' starts one here).",
        ),
    ] = None,
    agent_speaker: AgentSpeakerOpt = None,
    hotwords: HotwordsOpt = None,
    index: IndexOpt = None,
) -> None:
    """Transcribe, index and classify a batch of calls in one resumable run, with a summary.

    Killed or interrupted, the same command continues where it stopped: no call is done twice
    and none is lost. Results go to the run's folder (and --out)."""
    from app.runtime import Runtime
    from app.services import calls
    from app.services.batch_run import batches_dir, run_batch, run_id

    settings = settings_for(index)
    if language:
        settings = settings.with_changes(whisper={"language": language.lower()})
    if workers:
        settings = settings.with_changes(whisper={"workers": workers})
    if ray_address:
        settings = settings.with_changes(ray={"address": ray_address})
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx", ".jsonl"):
        raise InputError(f"--out must end in .csv, .xlsx or .jsonl, not {out.suffix!r}")
    if not paths and manifest is None:
        raise InputError("give recordings, transcripts or folders, or --manifest FILE")
    sources, errors = calls.discover_inputs(paths) if paths else ([], [])
    if manifest is not None:
        listed, bad = calls.read_manifest(settings, manifest, Columns())
        sources, errors = sources + listed, errors + bad
    calls.set_agent_speaker(sources, agent_speaker)
    calls.set_hotwords(sources, hotwords)
    inputs = [str(p.resolve()) for p in paths or []]
    if manifest is not None:
        inputs.append(f"manifest:{manifest.resolve()}")
    name = run or run_id(inputs)
    with Runtime(settings) as runtime:
        folder = batches_dir(runtime) / name
        if restart and folder.exists():
            shutil.rmtree(folder)
        with Progress(
            TextColumn("[bold]batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"),
            console=console,
        ) as bar:
            task = bar.add_task("batch", total=len(sources) + len(errors), note="")

            def progress(done: int, total: int | None, message: str) -> None:
                bar.update(task, completed=done, total=total, note=message)

            summary = run_batch(
                runtime, sources, errors, folder=folder, source=f"batch:{name}", progress=progress
            )
        build_search_index(runtime)
    _print(summary, name, folder)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / f"results{out.suffix.lower()}", out)
        console.print(f"results written to {out}", highlight=False)
    if summary["n"] and not summary["classified"]:
        err_console.print("[red]error:[/] nothing could be classified")
        raise typer.Exit(code=1)


def _print(summary: dict, name: str, folder: Path) -> None:
    table = Table(title=f"Batch {name}")
    table.add_column("label")
    table.add_column("calls", justify="right")
    for label, n in summary["labels"].items():
        table.add_row(label, str(n))
    console.print(table)
    pace = summary["calls_per_hour"]
    console.print(
        f"{summary['n']} calls: {summary['classified']} classified "
        f"({summary['unknown']} unknown, {summary['low_confidence']} below "
        f"{summary['low_confidence_below']} confidence), {summary['failed']} failed · "
        f"{summary['audio_hours']} h of audio · {summary['seconds']} s"
        + (f" · {pace:.0f} calls/h" if pace else "")
        + (f" · resumed after {summary['resumed_from']}" if summary["resumed_from"] else ""),
        highlight=False,
    )
    if summary["llm_usage"]:
        console.print(summary["llm_usage"], highlight=False)
    for e in summary["errors"]:
        console.print(f"[red]failed[/] {e['origin']}: {e['error']}", highlight=False)
    console.print(f"run folder: {folder} (summary.json, results.csv/.xlsx/.jsonl)", highlight=False)
    console.print(json.dumps(summary, ensure_ascii=False), highlight=False, soft_wrap=True)
