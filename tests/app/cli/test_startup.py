"""A command imports what it needs when it needs it: ``--help``, ``status`` and a re-run over
unchanged calls never load the speech, embedding, LLM or web stacks (each costs seconds).
The times themselves are measured by ``eval/bench_startup.py`` (docs/benchmarks.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Libraries no command needs before it does its work.
HEAVY = (
    "torch",
    "faster_whisper",
    "ctranslate2",
    "FlagEmbedding",
    "transformers",
    "qdrant_client",
    "llama_index",
    "openai",
    "sklearn",
    "scipy",
    "librosa",
    "gradio",
    "fastapi",
    "uvicorn",
    "matplotlib",
    "openpyxl",
    "jieba",
    "pandas",
    "tqdm",
)
#: What ``status`` and an unchanged re-run may load: the store engine and the audio decoder
#: (hashing and probing recordings), nothing that computes.
STORE_AND_AUDIO = ("qdrant_edge", "av", "numpy")


def _loaded(code: str, tmp_path: Path) -> list[str]:
    probe = (
        "import json, sys\n"
        f"{code}\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    env = {
        **os.environ,
        "PATHS__STATE_DIR": str(tmp_path / "state"),
        "HF_HUB_OFFLINE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_loads_no_heavy_library(tmp_path: Path) -> None:
    code = (
        "from app.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'tqdm' not in sys.modules"
    )
    assert _loaded(code, tmp_path) == []


@pytest.mark.parametrize("command", [["status"], ["ingest", "{calls}"]])
def test_status_and_an_unchanged_rerun_load_no_model(tmp_path: Path, command: list[str]) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()
    for i in range(3):
        (calls / f"c{i}.txt").write_text(
            f"Agent: Hello, how can I help?\nCustomer: Refund order {i}, please.\n", "utf-8"
        )
    run = (
        "from app.cli import app\n"
        "def call(args):\n"
        "    try:\n        app(args)\n    except SystemExit as done:\n"
        "        assert not done.code, done.code\n"
    )
    env = {**os.environ, "PATHS__STATE_DIR": str(tmp_path / "state"), "HF_HUB_OFFLINE": "1"}
    # The first ingest embeds the calls (and loads the embedder); only the re-run is probed.
    first = subprocess.run(
        [sys.executable, "-c", run + f"call(['ingest', {str(calls)!r}])"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert first.returncode == 0, first.stderr
    args = [str(calls) if a == "{calls}" else a for a in command]
    assert _loaded(run + f"call({args!r})", tmp_path) == []
