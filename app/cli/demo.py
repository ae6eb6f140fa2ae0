"""``callscope demo``: the whole main job on the bundled demo corpus, offline, then serve.

Ingest the demo calls (20 of them as recordings, transcribed on the way in), classify the
held-back ones and print the accuracy, answer two questions with citations, write a
label-quality report, and serve the API and UI on 127.0.0.1:8000 (``--no-serve`` stops before).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from app.cli.console import console
from app.cli.serve import is_loopback, run_server
from app.core.config import load_settings
from app.demo import CORPUS_DIR

DEMO_DIR = CORPUS_DIR


def demo(
    serve: Annotated[bool, typer.Option(help="Serve the API and UI at the end.")] = True,
    data_dir: Annotated[
        Path, typer.Option(help="The demo corpus (calls.jsonl, audio/).")
    ] = DEMO_DIR,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Run the main job on the bundled demo corpus, then serve the API and UI."""
    from app.cli.calls import import_labels, status
    from app.cli.eval import eval_classify, eval_labels
    from app.cli.query import ask

    calls = data_dir / "calls.jsonl"
    if not calls.is_file():
        console.print(f"[red]error:[/] no demo corpus at {calls}")
        raise typer.Exit(code=1)
    settings = load_settings()
    state = settings.paths.state_dir

    _step("1/5 ingest the demo corpus (recordings are transcribed)")
    import_labels(file=calls)
    status()

    _step("2/5 classify the held-back demo calls (no LLM needed)")
    split = state / "demo-eval"
    _split_module(data_dir).main(split)
    eval_classify(
        train=split / "train.jsonl",
        test=split / "test.jsonl",
        text_col="turns",
        label_col="labels",
    )

    _step("3/5 answer two questions with citations")
    ask(question="Which customers asked to speak to a supervisor?", k=3)
    ask(question="客户的快递为什么延误了？", k=2)

    _step("4/5 label-quality report of the labeled calls")
    eval_labels(out=state / "label-report")
    console.print(f"report: {(state / 'label-report' / 'report.html').resolve()}")

    if not serve:
        return
    _step("5/5 serve the API and the web UI (Ctrl+C stops)")
    if not settings.api.api_keys and not settings.api.dev_mode:
        if not is_loopback(host):
            console.print("[red]error:[/] set API__API_KEYS to serve the demo beyond this machine")
            raise typer.Exit(code=1)
        # Only this machine can reach a loopback address: no key, like any local dev server.
        settings = settings.with_changes(api={"dev_mode": True})
        console.print("no API keys configured: serving in dev mode on loopback only")
    run_server(settings, host, port)


def _step(title: str) -> None:
    console.rule(f"[bold]{title}")


def _split_module(data_dir: Path):  # noqa: ANN202 - a module loaded from the corpus folder
    spec = importlib.util.spec_from_file_location("demo_split_eval", data_dir / "split_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
