"""``callscope eval ...``: measuring classification, retrieval and transcription (ASR) on labeled
data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from app.cli.console import App, console, err_console
from app.core.config import load_settings
from app.core.errors import InputError
from app.core.models import Columns

eval_app = App(
    help="Measure classification, retrieval, label and transcription quality.", no_args_is_help=True
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
    unknown_label: Annotated[
        Optional[str],
        typer.Option(
            "--unknown-label",
            help="Rows with this label are calls of no known reason: never trained on, right "
            "only when classified unknown (adds in_scope_accuracy, unknown_recall/precision).",
        ),
    ] = None,
    unknown_rates: Annotated[
        Optional[str],
        typer.Option(
            "--unknown-rates",
            help="Comma-separated false-unknown rates (e.g. 0,0.01,0.02,0.05): score the same "
            "answers at each rate's threshold, to choose CLASSIFY__FALSE_UNKNOWN_RATE.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON summary.")] = False,
) -> None:
    """Index TRAIN in a temporary collection, classify TEST, print accuracy and F1 as JSON."""
    from eval.classify import run as run_classify_eval

    rates = None
    if unknown_rates is not None:
        try:
            rates = [float(x) for x in unknown_rates.split(",") if x.strip()]
        except ValueError:
            raise InputError(
                f"--unknown-rates takes comma-separated numbers, not {unknown_rates!r}"
            ) from None
        if not rates or any(not 0 <= r <= 0.5 for r in rates):
            raise InputError("--unknown-rates needs rates between 0 and 0.5")
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
        unknown_label=unknown_label,
        unknown_rates=rates,
    )
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
            "in_scope_accuracy",
            "unknown_recall",
            "unknown_precision",
        ):
            if key in summary:
                table.add_row(key, str(summary[key]))
        console.print(table)
        if isinstance(summary.get("unknown_sweep"), list):
            sweep = Table(title="False-unknown rate sweep (same answers, each rate's threshold)")
            keys = list(summary["unknown_sweep"][0])
            for key in keys:
                sweep.add_column(key, justify="right")
            for row in summary["unknown_sweep"]:
                sweep.add_row(*(str(row[key]) for key in keys))
            console.print(sweep)
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
        ks = tuple(sorted({int(x) for x in k.split(",") if x.strip()}))
    except ValueError:
        raise InputError(f"--k takes comma-separated whole numbers, not {k!r}") from None
    if not ks or min(ks) < 1:
        raise InputError("--k needs at least one cut-off of 1 or more")
    summary = run_retrieval_eval(load_settings(), corpus=corpus, queries=queries, ks=ks)
    if not as_json:
        table = Table(title="Retrieval eval")
        for key, value in summary["recall_at"].items():
            table.add_row(f"recall@{key}", str(value))
        for key in ("mrr", "n_queries", "mode", "expand", "seconds"):
            table.add_row(key, str(summary[key]))
        console.print(table)
    print(json.dumps(summary, ensure_ascii=False))


@eval_app.command("asr")
def eval_asr(
    manifest: Annotated[
        Path,
        typer.Option(
            "--manifest", help="JSONL: audio, text, optional language (en/zh) and channel (0/1)."
        ),
    ],
    baseline: Annotated[
        bool,
        typer.Option("--baseline", help="Also run plain faster-whisper (default options)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON summary.")] = False,
) -> None:
    """Transcribe MANIFEST's recordings as ingest does; print WER (en), CER (zh) and RTF."""
    from eval.asr import run as run_asr_eval

    summary = run_asr_eval(load_settings(), manifest, baseline)
    if not as_json:
        _print_asr(summary)
    print(json.dumps(summary, ensure_ascii=False))
    if not summary["n_scored"]:
        err_console.print("[red]error:[/] no row could be scored")
        raise typer.Exit(code=1)


def _print_asr(summary: dict) -> None:
    sides = ("ours", "plain") if "plain" in summary else ("ours",)
    table = Table(title="ASR eval")
    for key in ("line", "audio", "ch", "lang", "ref", "audio s"):
        table.add_column(key, justify="left" if key in ("audio", "lang") else "right")
    for side in sides:
        table.add_column(f"{side} WER/CER", justify="right")
        table.add_column(f"{side} RTF", justify="right")
    table.add_column("error")
    for row in summary["rows"]:
        channel = "" if row.get("channel") is None else str(row["channel"])
        if row.get("error"):
            blank = [""] * (3 + 2 * len(sides))
            audio = "-" if row.get("audio") is None else str(row["audio"])
            table.add_row(str(row["line"]), audio, channel, *blank, row["error"])
            continue
        cells = []
        for side in sides:
            result = row[side]
            score = result.get(row["metric"])
            cells += [str(score) if score is not None else "-", str(result.get("rtf", "-"))]
        errors = "; ".join(row[s]["error"] for s in sides if "error" in row[s])
        table.add_row(
            str(row["line"]),
            row["audio"],
            channel,
            row["language"],
            str(row["ref_tokens"]),
            str(row["audio_seconds"]),
            *cells,
            errors,
        )
    console.print(table)
    totals = Table(title="ASR eval totals")
    totals.add_column("")
    for side in sides:
        totals.add_column(side, justify="right")
    for key in ("rows", "wer", "cer", "seconds", "audio_seconds", "rtf", "load_seconds"):
        totals.add_row(key, *(str(summary[side][key]) for side in sides))
    console.print(totals)
    ratio = summary.get("rtf_ours_over_plain")
    console.print(
        f"{summary['n_scored']} of {summary['n_rows']} rows scored ({summary['n_errors']} errors), "
        f"{summary['n_files']} files, {summary['audio_seconds'] / 60:.1f} audio min, "
        f"wall {summary['wall_seconds']} s, model {summary['model']} {summary['compute_type']}"
        + (f"; RTF ours/plain {ratio}" if ratio is not None else ""),
        highlight=False,
    )


@eval_app.command("labels")
def eval_labels(
    data: Annotated[
        Optional[Path],
        typer.Option("--data", help="Labeled rows (CSV/JSONL/XLSX); default: the store's calls."),
    ] = None,
    text_col: Annotated[
        Optional[str], typer.Option(help="Column with the text (default: text/turns).")
    ] = None,
    label_col: Annotated[
        Optional[str], typer.Option(help="Column with the label (default: label/category/...).")
    ] = None,
    id_col: Annotated[
        Optional[str], typer.Option(help="Column with the row id (default: id).")
    ] = None,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Directory for the CSV/XLSX/HTML/JSON reports.")
    ] = None,
    adjudicate: Annotated[
        Optional[int],
        typer.Option(help="LLM reviews of the top N suspects (default labels.adjudicate_top)."),
    ] = None,
    compare: Annotated[
        Optional[tuple[int, int]],
        typer.Option("--compare", help="Show what changed from run A to run B (two run ids)."),
    ] = None,
    runs: Annotated[bool, typer.Option("--runs", help="List the stored runs.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON summary.")] = False,
) -> None:
    """Find probably mislabeled calls and measure each label's health; store and compare runs."""
    from app.services import label_runs

    settings = load_settings()
    if compare or runs:
        result: object = (
            label_runs.compare(settings, *compare) if compare else label_runs.list_runs(settings)
        )
        if not as_json:
            _print_runs(result) if runs and not compare else _print_comparison(result)
        print(json.dumps(result, ensure_ascii=False))
        return
    if out is None:
        raise InputError("--out DIR is needed: the reports are written there")
    columns = Columns(id=id_col, text=text_col, label=label_col)
    summary, _ = label_runs.run(
        settings, data=data, out=out, columns=columns, adjudicate_top=adjudicate
    )
    if not as_json:
        _print_label_summary(summary)
    brief = {k: v for k, v in summary.items() if k != "confusion"}
    print(json.dumps(brief, ensure_ascii=False))


def _print_label_summary(summary: dict) -> None:
    for warning in summary["warnings"]:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    table = Table(title=f"Label quality run {summary['run_id']}")
    for key in ("label", "support", "precision", "recall", "f1", "flagged", "health"):
        table.add_column(key, justify="left" if key == "label" else "right")
    worst_first = sorted(summary["per_label"].items(), key=lambda kv: kv[1]["health"])
    for label, row in worst_first:
        table.add_row(
            label,
            *(str(row[k]) for k in ("support", "precision", "recall", "f1", "n_flagged", "health")),
        )
    console.print(table)
    adjudication = summary["adjudication"]
    if adjudication.get("skipped"):
        console.print(f"LLM review skipped: {adjudication['skipped']}", highlight=False)
    console.print(
        f"{summary['n_flagged']} of {summary['n']} rows flagged, health {summary['health']}; "
        f"reports in {Path(summary['outputs']['html']).parent}",
        highlight=False,
    )


def _print_runs(rows: object) -> None:
    table = Table(title="Label quality runs")
    for key in ("run_id", "started_at", "source", "n", "n_flagged", "health"):
        table.add_column(key)
    for row in rows:  # type: ignore[attr-defined]
        table.add_row(
            *(str(row[k]) for k in ("run_id", "started_at", "source", "n", "n_flagged", "health"))
        )
    console.print(table)


def _print_comparison(result: object) -> None:
    c: dict = result  # type: ignore[assignment]
    table = Table(title=f"Run {c['a']} -> run {c['b']}")
    for key in ("", "A", "B", "change"):
        table.add_column(key)
    for key in ("health", "n_flagged", "macro_f1", "n"):
        table.add_row(key, *(str(c[key][k]) for k in ("a", "b", "delta")))
    for label, row in c["per_label"].items():
        if row["delta_f1"]:
            table.add_row(f"F1 {label}", str(row["f1_a"]), str(row["f1_b"]), str(row["delta_f1"]))
    console.print(table)
    console.print(
        f"relabeled {len(c['relabeled'])}, resolved {len(c['resolved'])}, "
        f"new suspects {len(c['new_flags'])}"
        + ("" if c["same_data"] else " (the runs saw different data)"),
        highlight=False,
    )
