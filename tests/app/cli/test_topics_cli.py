"""``callscope topics`` in-process against a temporary state dir: discover, list the newest run,
show a topic, label it (dry run first), and bad input as one error line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.core.config import load_settings
from app.runtime import Runtime
from tests.topiccalls import PLANTED, sources

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch, embedder) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("PATHS__STATE_DIR", str(state))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(models_dir))
    monkeypatch.setenv("COLUMNS", "200")
    with Runtime(load_settings(), embedder=embedder) as runtime:
        assert {r.status for r in runtime.pipeline().run(sources())} == {"indexed"}
    return state


def test_discover_show_and_label_from_the_command_line(env: Path) -> None:
    found = runner.invoke(app, ["topics"])
    assert found.exit_code == 0, found.output
    assert "14 calls: " in found.output and "thermostat" in found.output
    assert "no LLM configured" in found.output

    listed = runner.invoke(app, ["topics", "--latest", "--json"])
    run = json.loads(listed.output)
    [topic] = [t for t in run["topics"] if t["calls"][0]["call_id"] in PLANTED]
    number = str(topic["id"])

    shown = runner.invoke(app, ["topics", "show", number])
    assert shown.exit_code == 0, shown.output
    assert "★ t" in shown.output and f"callscope topics label {number} " in shown.output
    assert re.search(r"terms: thermostat \(\d", shown.output) or "firmware (" in shown.output

    dry = runner.invoke(app, ["topics", "label", number, "smart_home", "--dry-run"])
    assert dry.exit_code == 0 and "would label 6 calls 'smart_home'" in dry.output
    # Asked first: no is no, and nothing changes.
    asked = runner.invoke(app, ["topics", "label", number, "smart_home"], input="n\n")
    assert asked.exit_code == 0 and "Label 6 calls 'smart_home'? [y/N]" in asked.output
    assert "nothing changed" in asked.output
    assert "→ smart_home" not in runner.invoke(app, ["topics", "--latest"]).output
    args = ["topics", "label", number, "smart_home", "-x", "t5", "--json", "--yes"]
    done = runner.invoke(app, args)
    result = json.loads(done.output)
    assert sorted(c["call_id"] for c in result["changed"]) == PLANTED[:5]
    assert result["excluded"] == ["t5"]
    latest = runner.invoke(app, ["topics", "--latest"])
    assert "→ smart_home" in latest.output


def test_bad_input_is_one_error_line(env: Path) -> None:
    none_yet = runner.invoke(app, ["topics", "show", "1"])
    assert none_yet.exit_code == 1 and "no topic discovery run yet" in none_yet.output
    bad = runner.invoke(app, ["topics", "--method", "kmeans"])
    assert bad.exit_code == 1 and "unknown clustering method 'kmeans'" in bad.output
    assert "Traceback" not in bad.output
    assert runner.invoke(app, ["topics"]).exit_code == 0
    missing = runner.invoke(app, ["topics", "label", "99", "x"])
    assert missing.exit_code == 1 and "has no topic 99" in missing.output
    reserved = runner.invoke(app, ["topics", "label", "1", "unknown"])
    assert reserved.exit_code == 1 and "not a label" in reserved.output
