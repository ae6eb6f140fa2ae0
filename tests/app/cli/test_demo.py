"""``callscope demo --no-serve`` runs the whole main job (on a small copy of the demo corpus:
the full one transcribes 20 recordings, which `make demo` does)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from ingest.ledger import Ledger
from tests.app.cli.test_cli import env  # noqa: F401 - the fixture

ROOT = Path(__file__).parents[3]


def _small_corpus(folder: Path) -> Path:
    """Four calls per label (three train, one test) and one recording."""
    rows = [json.loads(line) for line in (ROOT / "app/demo/calls.jsonl").open(encoding="utf-8")]
    picked, taken = [], {}
    for row in rows:
        key = (row["labels"][0], row["split"])
        if "audio" in row and not any("audio" in r for r in picked):
            picked.append(row)
            continue
        if "audio" not in row and taken.get(key, 0) < (3 if row["split"] == "train" else 1):
            taken[key] = taken.get(key, 0) + 1
            picked.append(row)
    folder.mkdir()
    (folder / "audio").mkdir()
    with (folder / "calls.jsonl").open("w", encoding="utf-8") as f:
        for row in picked:
            if "audio" in row:
                shutil.copy(ROOT / "app/demo" / row["audio"], folder / row["audio"])
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    shutil.copy(ROOT / "app/demo/split_eval.py", folder / "split_eval.py")
    return folder


def test_demo_without_serving_runs_every_step(env: Path, tmp_path: Path) -> None:  # noqa: F811
    corpus = _small_corpus(tmp_path / "demo")
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--data-dir", str(corpus)])
    out = result.output
    assert result.exit_code == 0, out
    n = len((corpus / "calls.jsonl").read_text(encoding="utf-8").splitlines())
    assert "1/5 ingest" in out and "Ledger" in out  # the status table
    ledger = Ledger(env / "ledger.sqlite")
    assert ledger.counts()["indexed"] == n
    [recorded] = [r for r in ledger.rows() if r.kind == "audio"]
    ledger.close()
    # Imported from a table row, its recording is known, so the UI can play it.
    assert recorded.origin.startswith("calls.jsonl:") and recorded.recording is not None
    assert recorded.recording.parent == (corpus / "audio").resolve()
    evaluation = next(json.loads(line) for line in out.splitlines() if '"accuracy"' in line)
    assert evaluation["n_test"] == 8 and evaluation["n_train"] == 25
    assert "[1] call" in out  # a cited answer
    summary = json.loads((env / "label-report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["n"] == 25 + 8  # every labeled call, held-back ones included
    assert "5/5" not in out  # --no-serve


def test_the_installed_demo_finds_its_corpus_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The corpus is package data (app/demo), not a path relative to the repository root."""
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    found = subprocess.run(
        [sys.executable, "-c", "from app.cli.demo import DEMO_DIR; print(DEMO_DIR)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    corpus = Path(found)
    assert corpus.is_absolute() and (corpus / "calls.jsonl").is_file()
    assert (corpus / "split_eval.py").is_file() and any((corpus / "audio").glob("*.mp3"))
