"""Label-quality runs with the real embedder and Qdrant Edge on Banking77 rows with planted
errors: flips rank on top, near-duplicate conflicts are found, reports render, runs compare."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.core.config import Settings
from app.core.errors import InputError
from app.core.models import Columns
from app.runtime import Runtime
from app.services.label_runs import run
from eval.quality.engine import runs_path
from eval.quality.runs import LabelRuns
from ingest.labels import load_labeled
from tests.conftest import DATA
from tests.llm_fixtures import fast_llm_settings, llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply

COLUMNS = Columns(label="category")
FLIPS = 6


def _rows() -> list[dict[str, str]]:
    with (DATA / "banking77_small.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "text", "category"])
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def noisy(tmp_path: Path) -> tuple[Path, set[str], list[dict[str, str]]]:
    """The small Banking77 set with 6 flipped labels, a copy of one call under another label,
    and one row without text."""
    rows = _rows()
    labels = sorted({r["category"] for r in rows})
    rng = random.Random(3)
    flipped = set()
    for i in rng.sample(range(len(rows)), FLIPS):
        rows[i]["category"] = rng.choice([x for x in labels if x != rows[i]["category"]])
        flipped.add(rows[i]["id"])
    original = _rows()
    source = next(r for r in rows if r["id"] not in flipped)
    other = next(x for x in labels if x != source["category"])
    rows.append({"id": "copy", "text": source["text"], "category": other})
    rows.append({"id": "blank", "text": "", "category": labels[0]})
    clean = [dict(r) for r in original] + [dict(rows[-2], category=source["category"])]
    return _write(tmp_path / "noisy.csv", rows), flipped | {"copy"}, clean


def test_planted_flips_rank_on_top_and_reports_render(
    make_settings: Callable[..., Settings], embedder, noisy, tmp_path: Path
) -> None:
    path, planted, _ = noisy
    summary, issues = run(
        make_settings(), data=path, out=tmp_path / "out", columns=COLUMNS, embedder=embedder
    )
    assert summary["n"] == 122 and summary["n_scored"] == 121
    top = [i.call_id for i in sorted(issues, key=lambda i: -i.score)[: len(planted) + 3]]
    assert len(planted & set(top)) >= len(planted) - 1, (planted, top)
    by_id = {i.call_id: i for i in issues}
    assert "near_duplicate_conflict" in by_id["copy"].reasons and by_id["copy"].flagged
    assert by_id["copy"].suggested_label != by_id["copy"].given_label
    assert sum(i.flagged for i in issues if i.call_id in planted) >= len(planted) - 1

    with (tmp_path / "out" / "label_issues.csv").open(encoding="utf-8-sig") as fh:
        table = list(csv.DictReader(fh))
    assert sorted(int(r["row"]) for r in table) == list(range(122))  # one per input row
    assert [float(r["score"] or 0) for r in table] == sorted(
        (float(r["score"] or 0) for r in table), reverse=True
    )
    blank = next(r for r in table if r["row"] == "121")
    assert blank["reasons"].startswith("unreadable")
    assert (tmp_path / "out" / "label_issues.xlsx").stat().st_size > 0

    tags: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list) -> None:
            tags.append(tag)

    Tags().feed((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    assert tags.count("img") == 3 and "table" in tags
    saved = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert saved["run_id"] == summary["run_id"] and saved["health"] == summary["health"]
    assert summary["adjudication"]["skipped"].startswith("no LLM")
    assert set(summary["per_label"]) == {r["category"] for r in _rows()}


def test_fixing_the_labels_shows_in_the_run_comparison(
    make_settings: Callable[..., Settings], embedder, noisy, tmp_path: Path
) -> None:
    path, planted, clean = noisy
    settings = make_settings()
    before, _ = run(settings, data=path, out=tmp_path / "a", columns=COLUMNS, embedder=embedder)
    fixed = _write(tmp_path / "fixed.csv", clean)
    after, _ = run(settings, data=fixed, out=tmp_path / "b", columns=COLUMNS, embedder=embedder)
    runs = LabelRuns(runs_path(settings))
    diff = runs.compare(before["run_id"], after["run_id"])
    runs.close()
    assert diff["health"]["delta"] > 0 and diff["n_flagged"]["delta"] < 0
    assert {r["id"] for r in diff["relabeled"]} == planted
    assert planted - {"copy"} <= set(diff["resolved"]) | {
        r["id"] for r in diff["relabeled"] if r["id"] not in diff["resolved"]
    }
    assert not diff["same_data"]


def test_store_mode_and_llm_adjudication(
    make_settings: Callable[..., Settings],
    embedder,
    noisy,
    tmp_path: Path,
    llm_server: FakeLLMServer,
) -> None:
    path, planted, _ = noisy
    llm_server.default = Reply.json(
        {"verdict": "relabel", "label": "card_arrival", "reason": "asks where the card is"}
    )
    settings = make_settings(llm=fast_llm_settings(llm_server).model_dump())
    sources, _ = load_labeled(path, COLUMNS)
    with Runtime(settings, embedder=embedder) as runtime:
        runtime.pipeline().run(sources)
    summary, issues = run(
        settings, data=None, out=tmp_path / "out", adjudicate_top=3, embedder=embedder
    )
    assert summary["source"] == "store:callscope" and summary["n"] == 121
    assert summary["adjudication"]["done"] == 3 and len(llm_server.requests) == 3
    reviewed = [i for i in issues if i.llm_verdict]
    assert len(reviewed) == 3 and all(i.llm_label == "card_arrival" for i in reviewed)
    prompt = llm_server.requests[0].messages[1]["content"]
    assert "<call>" in prompt and "Given label:" in prompt


def test_cli_prints_the_summary_last_and_compares(
    make_settings: Callable[..., Settings], noisy, tmp_path: Path, monkeypatch
) -> None:
    path, _, _ = noisy
    settings = make_settings()
    monkeypatch.setenv("PATHS__STATE_DIR", str(settings.paths.state_dir))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(settings.paths.models))
    runner = CliRunner()
    args = ["eval", "labels", "--data", str(path), "--label-col", "category", "--json"]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert {"n", "n_flagged", "health", "per_label", "seconds"} <= summary.keys()
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "b")])
    run_b = json.loads(second.stdout.strip().splitlines()[-1])["run_id"]
    compared = runner.invoke(
        app, ["eval", "labels", "--compare", str(summary["run_id"]), str(run_b)]
    )
    assert compared.exit_code == 0, compared.output
    diff = json.loads(compared.stdout.strip().splitlines()[-1])
    assert diff["same_data"] and diff["health"]["delta"] == 0
    missing = runner.invoke(app, ["eval", "labels", "--compare", "1", "99"])
    assert missing.exit_code == 1 and "no label-quality run 99" in missing.output


def test_bad_input_is_a_clear_error_or_a_warning(
    make_settings: Callable[..., Settings], embedder, tmp_path: Path
) -> None:
    settings = make_settings()
    rows = _rows()
    renamed = tmp_path / "topic.csv"
    renamed.write_text("id,text,topic\nx1,hello,a\nx2,card,b\n", encoding="utf-8")
    with pytest.raises(InputError, match="no label column"):
        run(settings, data=renamed, out=tmp_path / "o", embedder=embedder)
    with pytest.raises(InputError, match="nope"):
        run(settings, data=DATA / "banking77_small.csv", out=tmp_path / "o",
            columns=Columns(label="nope"), embedder=embedder)  # fmt: skip
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty file"):
        run(settings, data=empty, out=tmp_path / "o", embedder=embedder)
    one_label = [dict(r, category="same") for r in rows[:10]]
    with pytest.raises(InputError, match="at least two labels"):
        run(settings, data=_write(tmp_path / "one.csv", one_label), out=tmp_path / "o",
            columns=COLUMNS, embedder=embedder)  # fmt: skip
    rows[0]["category"] = "only_once"
    summary, issues = run(settings, data=_write(tmp_path / "s.csv", rows), out=tmp_path / "o",
                          columns=COLUMNS, embedder=embedder)  # fmt: skip
    assert any("'only_once' has only 1 example" in w for w in summary["warnings"])
    assert "only_once" in summary["labels_too_few"]
    assert "singleton_label" in next(i for i in issues if i.given_label == "only_once").reasons
