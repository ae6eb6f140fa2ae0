"""``callscope eval ...``: measuring classification and retrieval on labeled data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from app.config import load_settings
from app.console import console, err_console
from app.errors import CallScopeError, InputError
from ingest.labels import Columns

eval_app = typer.Typer(
    help="Measure classification (and later retrieval, label quality).", no_args_is_help=True
)


@eval_app.command("classify")
def eval_classify(
    train: Annotated[Path, typer.Option("--train", help="Labeled training rows (CSV/JSONL/XLSX).")],
    test: Annotated[Path, typer.Option("--test", help="Labeled test rows to classify.")],
    text_col: Annotated[str, typer.Option(help="Column with the text.")] = "text",
    label_col: Annotated[str, typer.Option(help="Column with the label.")] = "label",
    shots: Annotated[
        Optional[int], typer.Option(help="Training rows per label (seeded sample); all if omitted.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for --shots sampling.")] = 0,
    k: Annotated[
        Optional[int], typer.Option(help="Neighbours per index (default classify.k).")
    ] = None,
    mode: Annotated[str, typer.Option(help="knn (no LLM) or llm.")] = "knn",
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON summary.")] = False,
) -> None:
    """Index TRAIN in a temporary collection, classify TEST, print accuracy and F1 as JSON."""
    from eval.classify import run as run_classify_eval

    try:
        columns = Columns(text=text_col, label=label_col)
        summary = run_classify_eval(
            load_settings(),
            train=train,
            test=test,
            columns=columns,
            shots=shots,
            seed=seed,
            k=k,
            mode=mode,
        )
    except CallScopeError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None
    if not as_json:
        table = Table(title="Classification eval")
        for key in (
            "accuracy",
            "macro_f1",
            "label_recall_at_k",
            "abstained",
            "n_train",
            "n_test",
            "k",
            "mode",
            "seconds",
        ):
            table.add_row(key, str(summary[key]))
        console.print(table)
    print(json.dumps(summary, ensure_ascii=False))


@eval_app.command("retrieval")
def eval_retrieval(
    corpus: Annotated[Path, typer.Option("--corpus", help="JSONL of turns: id, text, call_id.")],
    queries: Annotated[Path, typer.Option("--queries", help="JSONL: question, evidence ids.")],
    k: Annotated[str, typer.Option("--k", help="Cut-offs, comma-separated.")] = "1,5,10,25,50",
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON summary.")] = False,
) -> None:
    """Index CORPUS in a temporary collection and measure recall@k and MRR on QUERIES."""
    from eval.retrieval import run as run_retrieval_eval

    try:
        try:
            ks = tuple(sorted({int(x) for x in k.split(",") if x.strip()}))
        except ValueError:
            raise InputError(f"--k takes comma-separated whole numbers, not {k!r}") from None
        if not ks or min(ks) < 1:
            raise InputError("--k needs at least one cut-off of 1 or more")
        summary = run_retrieval_eval(load_settings(), corpus=corpus, queries=queries, ks=ks)
    except CallScopeError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None
    if not as_json:
        table = Table(title="Retrieval eval")
        for key, value in summary["recall_at"].items():
            table.add_row(f"recall@{key}", str(value))
        for key in ("mrr", "n_queries", "mode", "expand", "seconds"):
            table.add_row(key, str(summary[key]))
        console.print(table)
    print(json.dumps(summary, ensure_ascii=False))
