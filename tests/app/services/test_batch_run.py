"""The weekly batch as one resumable run (``app.services.batch_run`` and ``callscope batch``):
real ingest, index and classifier on short transcripts; a kill -9 mid-run and a rerun."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from app.cli.main import app
from app.runtime import Runtime
from app.services import calls
from app.services.batch_run import run_batch
from tests.killing import ROOT, kill_9_when
from tests.retrieval.classify.test_knn import REASONS, _source

runner = CliRunner()

#: New calls of known reasons (and the reason each one is about).
NEW = {
    "late": ("My parcel is late, the courier never came", "delivery_delay"),
    "money": ("I returned the shoes and want my money back", "refund"),
    "cancel": ("Please cancel my order, I changed my mind", "cancel_order"),
    "invoice": ("I need a VAT invoice for my last order", "invoice_request"),
}


def _labeled(runtime: Runtime) -> None:
    sources = [
        _source(f"{label}-{i}", text, [label])
        for label, texts in REASONS.items()
        for i, text in enumerate(texts)
    ]
    assert all(r.status == "indexed" for r in calls.ingest_sources(runtime, sources))


def _inbox(folder: Path, n_copies: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for copy in range(n_copies):
        for name, (text, _) in NEW.items():
            (folder / f"{name}-{copy}.txt").write_text(
                f"Agent: Hello, how can I help?\nCustomer: {text}\n", encoding="utf-8"
            )
    (folder / "broken.mp3").write_bytes(b"\x00\x01 not audio")
    return folder


def test_a_batch_indexes_classifies_and_summarises(runtime: Runtime, tmp_path: Path) -> None:
    _labeled(runtime)
    sources, errors = calls.discover_inputs([_inbox(tmp_path / "in")])
    folder = tmp_path / "run"
    summary = run_batch(runtime, sources, errors, folder=folder, source="test")

    assert summary["n"] == 5 and summary["classified"] == 4 and summary["failed"] == 1
    assert summary["errors"][0]["origin"].endswith("broken.mp3")
    assert "decodable" in summary["errors"][0]["error"]
    rows = {r["call_id"]: r for r in map(json.loads, (folder / "results.jsonl").open())}
    for name, (_, label) in NEW.items():
        assert rows[f"{name}-0"]["label"] == label
        assert rows[f"{name}-0"]["ingest"] == "indexed"
    assert sum(summary["labels"].values()) == 4 and summary["unknown"] == 0
    # Indexed with the rest (searchable, classifiable later) and in each call's history.
    assert runtime.ledger.get("late-0") is not None
    assert runtime.ledger.get("late-0").state == "indexed"
    assert (folder / "results.xlsx").is_file() and (folder / "summary.json").is_file()
    with (folder / "results.csv").open(encoding="utf-8-sig") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 5
    # How each conversation went is exported with its classification.
    late = next(r for r in table if r["call_id"] == "late-0")
    assert late["speakers"] == "transcript" and "longest_silence" in late

    # The same run again: nothing is done twice.
    again = run_batch(runtime, sources, errors, folder=folder, source="test")
    assert again["resumed_from"] == 5 and again["n"] == 5 and again["calls_per_hour"] is None


def test_a_manifest_brings_ids_dates_and_metadata(runtime: Runtime, tmp_path: Path) -> None:
    _labeled(runtime)
    manifest = tmp_path / "week.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "date", "agent", "agent_speaker"])
        w.writerow(["w1", "Customer: my parcel is late again", "2026-11-30", "li.na", "first"])
        w.writerow(["w2", "", "2026-11-30", "li.na", ""])  # no transcript: failed, not fatal
        w.writerow(["w3", "Customer: hello", "2026-11-30", "li.na", "boss"])  # a bad role
    sources, errors = calls.read_manifest(runtime.settings, manifest)
    assert [s.agent_speaker for s in sources] == ["first"]
    assert any("agent_speaker must be one of" in message for _, message in errors)
    summary = run_batch(runtime, sources, errors, folder=tmp_path / "run", source="test")
    assert summary["n"] == 3 and summary["classified"] == 1
    assert summary["labels"] == {"delivery_delay": 1}
    [point] = runtime.calls.scroll({"call_id": "w1"})
    assert point.payload["agent"] == "li.na"  # filterable, like any imported metadata
    assert str(point.payload["date"]).startswith("2026-11-30")


def test_kill_9_mid_batch_then_the_same_command_finishes_without_duplicates(
    make_settings, embedder, tmp_path: Path
) -> None:
    settings = make_settings(batch={"chunk": 1})
    with Runtime(settings, embedder=embedder) as rt:
        _labeled(rt)
    copies = 3
    inbox = _inbox(tmp_path / "in", n_copies=copies)  # 12 calls + 1 broken file
    n = len(NEW) * copies + 1
    env = {
        **os.environ,
        "PATHS__STATE_DIR": str(settings.paths.state_dir),
        "PATHS__MODELS_DIR": str(settings.paths.models),
        "BATCH__CHUNK": "1",
    }
    command = [sys.executable, "-m", "app.cli.main", "batch", str(inbox), "--run", "week48"]
    progress = settings.paths.state_dir / "batches" / "week48" / "progress.jsonl"

    def lines() -> int:
        return len(progress.read_text(encoding="utf-8").splitlines()) if progress.exists() else 0

    done_at_kill = kill_9_when(command, env, lines, at_least=4)
    assert done_at_kill < n

    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-2000:]
    rows = [json.loads(line) for line in progress.read_text(encoding="utf-8").splitlines()]
    origins = [r["input"] for r in rows]
    assert len(origins) == len(set(origins)) == n  # every input once: none lost, none twice
    assert sum(bool(r.get("error")) for r in rows) == 1
    summary = json.loads((progress.parent / "summary.json").read_text(encoding="utf-8"))
    assert summary["resumed_from"] >= 4 and summary["classified"] == n - 1
    with Runtime(settings, embedder=embedder) as rt:
        new_calls = {p.payload["call_id"] for p in rt.calls.scroll() if "-" in p.payload["call_id"]}
        assert {f"{name}-{c}" for name in NEW for c in range(copies)} <= new_calls
        assert rt.calls.count() == len({p.payload["call_id"] for p in rt.calls.scroll()})


def test_cli_batch_writes_results_and_refuses_no_input(
    make_settings, embedder, tmp_path: Path, monkeypatch
) -> None:
    settings = make_settings()
    with Runtime(settings, embedder=embedder) as rt:
        _labeled(rt)
    monkeypatch.setenv("PATHS__STATE_DIR", str(settings.paths.state_dir))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(settings.paths.models))
    out = tmp_path / "results.xlsx"
    result = runner.invoke(app, ["batch", str(_inbox(tmp_path / "in")), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 calls: 4 classified" in result.output and "1 failed" in result.output
    assert out.is_file()
    nothing = runner.invoke(app, ["batch"])
    assert nothing.exit_code != 0 and "--manifest" in nothing.output
