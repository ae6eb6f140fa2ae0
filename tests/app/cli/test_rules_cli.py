"""``callscope rules`` in-process against a temporary state dir: the starter pack loaded and
applied, listed, a preview, a call's evidence, delete (asks first) and restore, and a bad rule
as one error line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.core.config import load_settings
from app.runtime import Runtime
from tests.app.services.test_inspection import CALLS
from tests.textcalls import text_sources

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch, embedder) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("PATHS__STATE_DIR", str(state))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(models_dir))
    monkeypatch.setenv("COLUMNS", "200")
    with Runtime(load_settings(), embedder=embedder) as runtime:
        assert {r.status for r in runtime.pipeline().run(text_sources(CALLS))} == {"indexed"}
    return tmp_path


def test_the_starter_pack_from_the_command_line(env: Path) -> None:
    starter = runner.invoke(app, ["rules", "starter"])
    assert starter.exit_code == 0 and "forbidden_phrase" in starter.output
    path = env / "rules.yaml"
    path.write_text(starter.output, encoding="utf-8")

    loaded = runner.invoke(app, ["rules", "load", str(path), "--by", "lead", "--json"])
    assert loaded.exit_code == 0, loaded.output
    out = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert set(out["rules"].values()) == {"added"} and out["applied"]["calls"] == 4
    assert out["applied"]["matched"]["forbidden_phrase"] == 1

    listed = runner.invoke(app, ["rules", "list"])
    assert listed.exit_code == 0 and "服务禁语" in listed.output and "critical" in listed.output

    shown = runner.invoke(app, ["rules", "call", "zh-bad"])
    assert shown.exit_code == 0, shown.output
    assert "forbidden_phrase (critical): MATCH" in shown.output
    assert "T2 20s agent: 不关我的事" in shown.output and "said “不关我的事”" in shown.output

    asked = runner.invoke(app, ["rules", "delete", "forbidden_phrase"], input="n\n")
    assert asked.exit_code == 1  # answered no: nothing deleted
    assert "forbidden_phrase" in runner.invoke(app, ["rules", "list"]).output
    gone = runner.invoke(app, ["rules", "delete", "forbidden_phrase", "--yes"])
    assert gone.exit_code == 0 and "undo" in gone.output
    back = runner.invoke(app, ["rules", "restore", "forbidden_phrase", "1"])
    assert back.exit_code == 0 and "version 1 restored" in back.output
    history = runner.invoke(app, ["rules", "history", "forbidden_phrase", "--json"])
    assert [h["action"] for h in json.loads(history.output)] == ["added", "deleted", "restored"]


def test_a_preview_and_a_bad_rule(env: Path) -> None:
    path = env / "one.yaml"
    path.write_text("- name: parcel\n  when: {said: {any: [快递, parcel]}}\n", encoding="utf-8")
    tried = runner.invoke(app, ["rules", "test", str(path), "--call", "zh-bad", "--call", "en-bad"])
    assert tried.exit_code == 0, tried.output
    assert "zh-bad  parcel: MATCH" in tried.output and "en-bad  parcel: -" in tried.output
    assert "1 of 2 checks matched (nothing saved)" in tried.output
    assert "no rules yet" in runner.invoke(app, ["rules", "list"]).output

    path.write_text("- name: parcel\n  when: {said: {any: []}}\n", encoding="utf-8")
    bad = runner.invoke(app, ["rules", "load", str(path)])
    assert bad.exit_code == 1
    assert "rule parcel: when.said.any: expected a non-empty list" in bad.output
    assert "Traceback" not in bad.output


def test_scorecards_from_the_command_line(env: Path) -> None:
    rules = env / "rules.yaml"
    rules.write_text(runner.invoke(app, ["rules", "starter"]).output, encoding="utf-8")
    assert runner.invoke(app, ["rules", "load", str(rules)]).exit_code == 0
    card = env / "card.yaml"
    card.write_text(
        "scorecards:\n  - name: basic\n    title: 基本评分表\n    sections:\n"
        "      - title: 开场\n        questions:\n"
        "          - {id: greeted, text: 坐席是否问候？, weight: 1, fails_on: no_greeting}\n"
        "          - {id: polite, text: 无服务禁语？, weight: 1, fails_on: forbidden_phrase}\n",
        encoding="utf-8",
    )
    loaded = runner.invoke(app, ["scorecard", "load", str(card)])
    assert loaded.exit_code == 0 and "basic: added" in loaded.output
    scored = runner.invoke(app, ["scorecard", "score", "basic"])
    assert scored.exit_code == 0 and "scored 4 calls" in scored.output
    shown = runner.invoke(app, ["scorecard", "call", "zh-bad"])
    assert shown.exit_code == 0 and "basic (基本评分表): 0" in shown.output
    assert "rule forbidden_phrase matched" in shown.output
    listed = runner.invoke(app, ["scorecard", "list"])
    assert "basic" in listed.output and "62.5" in listed.output  # (0 + 50 + 100 + 100) / 4
    queue = runner.invoke(app, ["scorecard", "queue", "basic"])
    assert queue.output.split()[:2] == ["0", "zh-bad"]  # lowest first
    review = ["scorecard", "review", "zh-bad", "basic", "greeted", "yes", "--comment", "问候了"]
    reviewed = runner.invoke(app, review)
    assert (
        reviewed.exit_code == 0
        and "automatic 0, reviewed 50 (reviews so far: 1)" in reviewed.output
    )
    agreed = runner.invoke(app, ["scorecard", "agreement", "basic", "--json"])
    assert json.loads(agreed.output)["agreement"] == 0.0
    refused = runner.invoke(app, ["scorecard", "delete", "basic"], input="n\n")
    assert refused.exit_code == 1 and "basic" in runner.invoke(app, ["scorecard", "list"]).output
    deleted = runner.invoke(app, ["scorecard", "delete", "basic", "--yes"])
    assert deleted.exit_code == 0 and "undo" in deleted.output
    history = runner.invoke(app, ["scorecard", "history", "basic"]).output
    assert "v1 added" in history and "v2 deleted" in history
    restored = runner.invoke(app, ["scorecard", "restore", "basic", "1"])
    assert restored.exit_code == 0 and "version 1 restored" in restored.output
    assert "62.5" in runner.invoke(app, ["scorecard", "list"]).output  # its scores were kept
