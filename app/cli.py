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
from app.errors import CallScopeError, InputError
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


@app.command()
def classify(
    paths: Annotated[list[Path], typer.Argument(help="Recordings, transcripts or folders.")],
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Write results (.csv, .xlsx, .jsonl).")
    ] = None,
    collection: CollectionOpt = None,
) -> None:
    """Classify new calls against the labeled calls in the index (LLM-refined when configured)."""
    from collections import Counter

    from app.results import write_results
    from retrieval.batch import CallResult, classify_sources

    try:
        settings = _settings(collection)
        if out is not None and out.suffix.lower() not in (".csv", ".xlsx", ".jsonl"):
            raise InputError(f"--out must end in .csv, .xlsx or .jsonl, not {out.suffix!r}")
        sources, errors = discover(paths)
        started = time.perf_counter()
        with Runtime(settings) as runtime:
            classifier = runtime.classifier
            refine = runtime.llm_refiner()
            with batch_progress(len(sources), "classify") as (_, on_result):

                def done(r: CallResult) -> None:
                    if r.classification is not None:  # the call's classification history
                        runtime.ledger.add_classification(r.call_id, r.classification, "cli")
                    on_result(None)

                results = classify_sources(
                    sources,
                    classifier,
                    transcriber=runtime.transcriber,
                    refine=refine,
                    on_result=done,
                )
            usage = runtime.llm_usage()
    except CallScopeError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None

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


@app.command()
def relabel(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or JSONL of id,new_label corrections.")],
    id_col: Annotated[Optional[str], typer.Option(help="Column with the call id.")] = None,
    label_col: Annotated[
        Optional[str], typer.Option(help="Column with the new label (new_label/suggested_label).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Show what would change; write nothing.")] = False,
    collection: CollectionOpt = None,
) -> None:
    """Apply accepted label corrections to indexed calls (no re-embedding; history kept)."""
    from ingest.relabel import apply_corrections, read_corrections

    try:
        settings = _settings(collection)
        corrections, warnings = read_corrections(file, id_col, label_col)
        with Runtime(settings) as runtime:
            report = apply_corrections(runtime, corrections, file.name, dry_run=dry_run)
    except CallScopeError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None
    for warning in warnings:
        console.print(f"[yellow]warning[/] {warning}", highlight=False)
    table = Table(title="Label changes" + (" (dry run: nothing written)" if dry_run else ""))
    for col in ("id", "from", "to"):
        table.add_column(col)
    for change in report.changed:
        table.add_row(change.call_id, ", ".join(change.old) or "-", ", ".join(change.new))
    console.print(table)
    for call_id, reason in report.skipped:
        console.print(f"[yellow]skipped[/] {call_id}: {reason}", highlight=False)
    unknown = f" (unknown ids: {', '.join(report.unknown)})" if report.unknown else ""
    console.print(
        f"{'would relabel' if dry_run else 'relabeled'} {len(report.changed)}, "
        f"unchanged {len(report.unchanged)}, skipped {len(report.skipped)}{unknown}",
        highlight=False,
    )


FilterOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--filter",
        "-f",
        help="label=refund, call=123, speaker=agent, split=train, "
        "language=zh, date>=2026-10-01, date<=2026-10-31 (repeatable).",
    ),
]


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for (English or Chinese).")],
    filter_: FilterOpt = None,
    k: Annotated[int, typer.Option("--k", help="How many passages.")] = 10,
    mode: Annotated[Optional[str], typer.Option(help="hybrid, dense or sparse.")] = None,
    expand: Annotated[bool, typer.Option(help="Bring each hit's neighbouring turns.")] = False,
    collection: CollectionOpt = None,
) -> None:
    """Hybrid (dense + BM25) search over call passages, with citations."""
    from retrieval.search import clock, parse_filters

    try:
        settings = _settings(collection)
        with Runtime(settings) as runtime:
            result = runtime.searcher().search(
                query, filters=parse_filters(filter_ or []), k=k, mode=mode, expand=expand
            )
    except CallScopeError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None
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
    if result.weak:
        console.print("[yellow]weak match: nothing here is close to the query[/]")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question about the calls.")],
    filter_: FilterOpt = None,
    k: Annotated[int, typer.Option("--k", help="Evidence passages to use.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    collection: CollectionOpt = None,
) -> None:
    """Answer a question from the calls, citing call, time and speaker."""
    import json

    from retrieval.qa import Answer, answer_dict
    from retrieval.search import clock, parse_filters

    try:
        settings = _settings(collection)
        with Runtime(settings) as runtime:
            engine = runtime.qa(k=k, filters=parse_filters(filter_ or []))
            answer: Answer | None = None
            for part in engine.stream(question):
                if isinstance(part, Answer):
                    answer = part
                elif not as_json:
                    console.print(part, end="", highlight=False, markup=False)
    except CallScopeError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None
    assert answer is not None
    if as_json:
        print(json.dumps(answer_dict(answer), ensure_ascii=False))
        return
    if answer.generated:
        console.print()
    else:
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


from app.cli_demo import demo  # noqa: E402 - registered after the main commands
from app.cli_eval import eval_app  # noqa: E402
from app.cli_serve import serve  # noqa: E402

app.command()(serve)
app.command()(demo)
app.add_typer(eval_app, name="eval")


if __name__ == "__main__":
    app()
