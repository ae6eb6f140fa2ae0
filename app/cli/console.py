"""What the CLI commands share: rich output (progress over a batch, its summary table), the
one error handler, and the settings of a command."""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.core.config import Settings, load_settings
from app.core.errors import CallScopeError
from app.core.models import CallSource, IngestResult

if TYPE_CHECKING:
    from app.runtime import Runtime

# soft_wrap: one error per line, never folded, so logs stay greppable.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

_STYLE = {"indexed": "green", "unchanged": "cyan", "failed": "red"}


def progress_bar(*, disable: bool = False) -> Progress:
    """The CLI's progress bar over calls: description, bar, done/total, time, current call."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}"),
        console=console,
        transient=False,
        disable=disable,
    )


@contextmanager
def batch_progress(
    total: int, title: str
) -> Iterator[tuple[Callable[[CallSource], None], Callable[[IngestResult], None]]]:
    """Callbacks for :meth:`IngestPipeline.run` that drive one progress bar."""
    with progress_bar(disable=total == 0) as progress:
        task = progress.add_task(title, total=total, current="")

        def on_start(source: CallSource) -> None:
            progress.update(task, current=f"{source.kind}: {source.call_id}")

        def on_result(result: IngestResult) -> None:
            progress.advance(task)

        yield on_start, on_result
        progress.update(task, current="")


def print_summary(
    results: list[IngestResult], input_errors: list[tuple[str, str]], started: float
) -> None:
    """A table of outcomes, then every failure and warning on its own line."""
    counts = Counter(r.status for r in results)
    table = Table(title="Ingest summary", show_header=True)
    table.add_column("outcome")
    table.add_column("calls", justify="right")
    table.add_column("turn points", justify="right")
    for status in ("indexed", "unchanged", "failed"):
        points = sum(r.turn_points for r in results if r.status == status)
        table.add_row(f"[{_STYLE[status]}]{status}[/]", str(counts[status]), str(points))
    if input_errors:
        table.add_row("[red]rejected inputs[/]", str(len(input_errors)), "-")
    audio = sum(r.seconds_audio or 0 for r in results)
    console.print(table)
    console.print(
        f"audio transcribed: {audio / 60:.1f} min · elapsed {time.perf_counter() - started:.1f} s"
    )
    for origin, message in input_errors:
        console.print(f"[red]rejected[/] {origin}: {message}", highlight=False)
    for r in results:
        if r.status == "failed":
            console.print(f"[red]failed[/] {r.call_id} ({r.origin}): {r.error}", highlight=False)
        for warning in r.warnings:
            console.print(f"[yellow]warning[/] {r.call_id}: {warning}", highlight=False)


def build_search_index(runtime: Runtime) -> None:
    """After an import: build the engine's search index, saying so when it had work to do."""
    from app.services.search_index import build_search_index as build

    seconds = build(runtime)
    if seconds is not None:
        console.print(f"search index built in {seconds:.1f} s", highlight=False)


def nothing_processed(results: list[IngestResult], input_errors: list[tuple[str, str]]) -> bool:
    """The CLI exits non-zero only when no input at all could be processed."""
    return not any(r.status != "failed" for r in results)


def handled(command: Callable[..., None]) -> Callable[..., None]:
    """The CLI's one error handler: a CallScopeError is one red line and exit code 1, never a
    traceback (a bug still shows its traceback)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except CallScopeError as exc:
            err_console.print(f"[red]error:[/] {exc}", highlight=False)
            raise typer.Exit(code=1) from None

    return run


class App(typer.Typer):
    """A Typer whose every command goes through :func:`handled`; the decorated function itself
    is returned unchanged, so commands can call each other (``callscope demo`` does)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., None]], Any]:
        register = super().command(*args, **kwargs)

        def decorator(fn: Callable[..., None]) -> Callable[..., None]:
            register(handled(fn))
            return fn

        return decorator


def settings_for(index: str | None = None) -> Settings:
    """The settings of a command, with its ``--index`` when given."""
    settings = load_settings()
    return settings.with_changes(qdrant={"index": index}) if index else settings
