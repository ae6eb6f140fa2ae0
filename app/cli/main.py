"""The ``callscope`` command: the Typer app, logging, and the commands of each module
(``calls``, ``classify``, ``batch``, ``sizing``, ``query``, ``eval``, ``serve``, ``demo``,
``topics``, ``summary``, ``insights``, ``llm``)
registered on it."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer
from rich.logging import RichHandler

from app.cli import batch, calls, classify, insights, labels, query, sizing, summary
from app.cli.console import App, err_console
from app.cli.demo import demo
from app.cli.eval import eval_app
from app.cli.llm import llm_app
from app.cli.rules import rules_app
from app.cli.scorecard import scorecard_app
from app.cli.serve import serve
from app.cli.topics import topics_app

app = App(
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
    # Our own progress (rich bars, job progress) is what a user reads; the tqdm bars that
    # FlagEmbedding and faster-whisper draw would interleave with it. tqdm reads this when it is
    # first imported, which is later: every command imports the model libraries lazily. Worker
    # processes inherit it.
    os.environ.setdefault("TQDM_DISABLE", "1")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
    )
    if not verbose:
        # faster-whisper logs every VAD pass at INFO; keep the terminal for our own output.
        logging.getLogger("faster_whisper").setLevel(logging.ERROR)


app.command()(calls.ingest)
app.command("import-labels")(calls.import_labels)
app.command()(calls.status)
app.command()(classify.classify)
app.command()(batch.batch)
app.command()(sizing.sizing)
app.command()(labels.relabel)
app.command("label-history")(labels.label_history)
app.command("undo-relabel")(labels.undo_relabel)
app.command()(calls.reindex)
app.command()(calls.doctor)
app.command()(query.search)
app.command()(query.ask)
app.command()(summary.summary)
app.command()(insights.insights)
app.command()(serve)
app.command()(demo)
app.add_typer(eval_app, name="eval")
app.add_typer(topics_app, name="topics")
app.add_typer(llm_app, name="llm")
app.add_typer(rules_app, name="rules")
app.add_typer(scorecard_app, name="scorecard")


if __name__ == "__main__":
    app()
