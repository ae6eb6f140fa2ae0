"""The ``callscope`` command line: a thin layer over ``ingest/`` and ``retrieval/``."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.logging import RichHandler
from rich.table import Table

from app.config import Settings, load_settings
from app.console import batch_progress, console, err_console, nothing_processed, print_summary
from app.errors import CallScopeError
from app.runtime import Runtime
from ingest.labels import Columns, load_labeled
from ingest.models import CallSource
from ingest.sources import discover

app = typer.Typer(
    name="callscope",
    help="CallScope: a knowledge service over customer-service call recordings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show library logs.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
    )
    if not verbose:
        # faster-whisper logs every VAD pass at INFO; keep the terminal for our own output.
        logging.getLogger("faster_whisper").setLevel(logging.ERROR)


def _settings(collection: str | None) -> Settings:
    settings = load_settings()
    if collection:
        settings.qdrant.collection = collection
    return settings


def _run(
    sources: list[CallSource], input_errors: list[tuple[str, str]], settings: Settings, title: str
) -> None:
    started = time.perf_counter()
    results = []
    if sources:
        with Runtime(settings) as runtime:
            pipeline = runtime.pipeline()
            with batch_progress(len(sources), title) as (on_start, on_result):
                results = pipeline.run(sources, on_result=on_result, on_start=on_start)
    print_summary(results, input_errors, started)
    if nothing_processed(results, input_errors):
        err_console.print("[red]error:[/] nothing could be processed")
        raise typer.Exit(code=1)


CollectionOpt = Annotated[
    Optional[str],
    typer.Option("--collection", help="Collection name (default: qdrant.collection)."),
]


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Recordings, transcripts or folders.")],
    label: Annotated[
        Optional[list[str]],
        typer.Option("--label", "-l", help="Label for every input (repeatable)."),
    ] = None,
    language: Annotated[
        Optional[str], typer.Option("--language", help="Force the spoken language (e.g. zh, en).")
    ] = None,
    collection: CollectionOpt = None,
) -> None:
    """Transcribe, chunk, embed and index recordings and transcripts."""
    try:
        settings = _settings(collection)
        if language:
            settings.whisper.language = language.lower()
        sources, errors = discover(paths)
        for source in sources:
            if label:
                source.labels = list(dict.fromkeys([*source.labels, *label]))
        _run(sources, errors, settings, "ingest")
    except CallScopeError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None


@app.command("import-labels")
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
    collection: CollectionOpt = None,
) -> None:
    """Import labeled training calls (text or audio) into the index."""
    try:
        settings = _settings(collection)
        columns = Columns(
            id=id_col, text=text_col, audio=audio_col, label=label_col, label_sep=label_sep
        )
        sources, errors = load_labeled(file, columns)
        _run(sources, errors, settings, "import")
    except CallScopeError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None


@app.command()
def status(
    collection: CollectionOpt = None,
    failures: Annotated[int, typer.Option(help="How many failed inputs to list.")] = 10,
) -> None:
    """Show what is indexed, what failed, and which models and store are in use."""
    try:
        settings = _settings(collection)
        with Runtime(settings) as runtime:
            counts = runtime.ledger.counts()
            table = Table(title="Ledger", show_header=True)
            table.add_column("state")
            table.add_column("calls", justify="right")
            for state, n in counts.items():
                table.add_row(state, str(n))
            console.print(table)
            store_line = (
                f"Qdrant server {settings.qdrant.url}"
                if settings.qdrant.url
                else (f"Qdrant Edge (embedded) at {settings.paths.shards}")
            )
            console.print(f"store: {store_line}", highlight=False)
            console.print(f"state dir: {settings.paths.state_dir.resolve()}", highlight=False)
            console.print(
                f"speech model: {settings.whisper.model} · embedding model: "
                f"{settings.embedding.model}",
                highlight=False,
            )
            console.print(
                "LLM: "
                + (
                    f"{settings.llm.model} at {settings.llm.base_url}"
                    if settings.llm.enabled
                    else "not configured"
                ),
                highlight=False,
            )
            if counts["indexed"] or counts["failed"] or counts["pending"] or counts["transcribed"]:
                store = runtime.store
                console.print(
                    f"collection {store.info.name!r}: {store.count()} chunks · model "
                    f"{store.info.model_id} ({store.info.dim}-d)",
                    highlight=False,
                )
            for row in list(runtime.ledger.rows("failed"))[:failures]:
                console.print(
                    f"[red]failed[/] {row.call_id} ({row.origin}): {row.error}", highlight=False
                )
    except CallScopeError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None


if __name__ == "__main__":
    app()
