"""``callscope insights`` end to end, in-process: a labeled table with agents imported, then the
report in the terminal, as JSON and as a workbook, the ``--count`` form, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from app.cli.main import app

runner = CliRunner()

ROWS = [
    ("r1", "refund", "2026-10-05", "Li", "I want my money back for the kettle"),
    ("r2", "refund", "2026-10-13", "Wang", "Please refund the broken lamp"),
    ("r3", "delivery_delay", "2026-10-14", "Li", "My parcel is a week late"),
    ("r4", "refund", "2026-09-20", "Li", "Refund my cancelled order"),
]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Path:
    """One state dir for the module (the commands here only read it)."""
    root = tmp_path_factory.mktemp("insights-cli")
    table = root / "calls.csv"
    lines = ["id,label,date,agent,text"] + [",".join(r) for r in ROWS]
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATHS__STATE_DIR", str(root / "state"))
        mp.setenv("PATHS__MODELS_DIR", str(models_dir))
        result = runner.invoke(app, ["import-labels", str(table)])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def env(imported: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATHS__STATE_DIR", str(imported / "state"))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(models_dir))
    monkeypatch.setenv("COLUMNS", "200")
    return imported


def test_insights_in_the_terminal_as_json_and_as_a_workbook(env: Path) -> None:
    period = ["--from", "2026-10-01", "--to", "2026-10-18"]
    shown = runner.invoke(app, ["insights", *period])
    assert shown.exit_code == 0, shown.output
    assert "Insights 2026-10-01 to 2026-10-18" in shown.output
    assert "3 calls (previous period 1)" in shown.output
    assert "Calls per week" in shown.output and "By agent" in shown.output
    # delivery_delay had no call before: new, not "rising +1".
    assert "rising: refund +1\n" in shown.output and "new: delivery_delay (1)" in shown.output
    # What the numbers leave out is said: fields no call has, calls without timings.
    assert "By team: No call of this period has 'team'" in shown.output
    assert "import-labels" in shown.output
    assert "none of the 3 calls has timings" in shown.output
    first = runner.invoke(app, ["insights", "--from", "2026-09-14", "--to", "2026-10-18"])
    assert "no calls in the previous period (2026-08-10 to 2026-09-13)" in first.output
    assert "rising:" not in first.output

    out = env / "insights.xlsx"
    as_json = runner.invoke(
        app, ["insights", *period, "-f", "agent=Li", "--json", "--xlsx", str(out)]
    )
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.output)
    assert body["calls"]["value"] == 2
    assert {c["label"]: c["current"]["value"] for c in body["labels"]} == {
        "refund": 1,
        "delivery_delay": 1,
    }
    book = openpyxl.load_workbook(out)
    assert {"summary", "labels", "weeks", "by agent", "metrics"} <= set(book.sheetnames)
    zh = env / "insights-zh.xlsx"
    done = runner.invoke(app, ["insights", *period, "--xlsx", str(zh), "--lang", "zh-CN"])
    assert done.exit_code == 0, done.output
    assert {"概览", "标签", "每周", "按agent", "通话指标"} <= set(
        openpyxl.load_workbook(zh).sheetnames
    )


def test_count_a_question_or_labels(env: Path) -> None:
    said = runner.invoke(app, ["insights", "--count", "how many refund calls in October 2026?"])
    assert said.exit_code == 0, said.output
    assert "2 calls (refund; 2026-10-01 to 2026-10-31" in said.output
    labels = runner.invoke(
        app, ["insights", "--count", "-l", "refund", "-l", "delivery_delay", "--json"]
    )
    body = json.loads(labels.output)
    assert body["count"]["value"] == 4
    assert {k: v["value"] for k, v in body["per_label"].items()} == {
        "refund": 3,
        "delivery_delay": 1,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "01/10/2026"], "--from '01/10/2026': use YYYY-MM-DD"),
        (["how many refunds?"], "add --count"),
        (["--count", "how many?", "-l", "refund"], "not both"),
        (["--xlsx", "out.csv"], "must end in .xlsx"),
        (["--xlsx", "out.xlsx", "--lang", "fr"], "--lang is en or zh-CN"),
        (["--source", "guess"], "source 'guess'"),
        (["-m", "loudness>=3"], "unknown metric"),
        (["-f", "label=refund"], "counted by label"),
        (["--from", "2020-01-01", "--to", "2026-01-01"], "at most"),
    ],
)
def test_bad_input_is_one_clear_line(env: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["insights", *args])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
