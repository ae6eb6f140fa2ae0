"""``callscope sizing`` end to end, in-process, over a summary.json in a temporary state dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from tests.app.services.test_sizing import _summary

runner = CliRunner()


def test_sizing_table_json_and_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("PATHS__STATE_DIR", str(state))
    monkeypatch.setenv("COLUMNS", "200")
    week = ["sizing", "--calls-per-week", "36000", "--minutes", "6"]

    missing = runner.invoke(app, week)
    assert missing.exit_code == 1
    assert "run `callscope batch` on a sample first" in missing.output

    folder = state / "batches" / "run-x"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(_summary()), encoding="utf-8")

    shown = runner.invoke(app, week)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    row = next(line for line in lines if line.strip("│ ").startswith("transcribe"))
    assert "360 s / audio hour" in row and "360.0" in row and "720.0" in row
    assert "430.0" in shown.output and "120 h window (24 h × 5 days" in shown.output
    assert "Cores needed: 15" in shown.output and "8 machine(s)" in shown.output
    assert "2 × 8-core server(s)" in shown.output and "take 115.0 h a week: fits" in shown.output
    assert "measured run run-x: 40 calls" in shown.output

    as_json = runner.invoke(app, [*week, "--json", "--run", "run-x"])
    assert as_json.exit_code == 0, as_json.output
    plan = json.loads(as_json.output)
    assert (plan["cores_needed"], plan["machines_needed"], plan["servers_needed"]) == (15, 8, 2)
    assert plan["stages"]["transcribe"]["core_hours"] == 720.0
    assert plan["measured"]["run"] == "run-x"

    unknown = runner.invoke(app, [*week, "--run", "run-y"])
    assert unknown.exit_code == 1 and "no run summary at" in unknown.output

    gpu = runner.invoke(app, [*week, "--device", "cuda"])
    assert gpu.exit_code == 1
    assert "WHISPER__DEVICE=cuda callscope batch" in gpu.output and "GPU host" in gpu.output
