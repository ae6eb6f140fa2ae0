"""The ``callscope`` commands end to end, in-process, against a temporary state dir."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.core.config import load_settings
from app.runtime import Runtime
from ingest.ledger import Ledger
from tests.conftest import DATA

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("PATHS__STATE_DIR", str(state))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(models_dir))
    monkeypatch.setenv("COLUMNS", "200")
    return state


def test_ingest_folder_with_corrupt_file_reports_it_and_succeeds(env: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(DATA / "stereo_diarization.wav", inbox / "call-a.wav")
    (inbox / "call-b.txt").write_text("Agent: Hello\nCustomer: My bill is wrong this month.\n")
    (inbox / "corrupt.mp3").write_bytes(os.urandom(2048))

    result = runner.invoke(app, ["ingest", str(inbox)])
    assert result.exit_code == 0, result.output
    assert "indexed" in result.output and "corrupt" in result.output
    assert "not a decodable audio file" in result.output

    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert "index: 2 calls, 4 speaker turns searchable" in status.output
    assert "failed corrupt" in status.output and "turn points" not in status.output


def test_nothing_processable_exits_non_zero(env: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.mp3").touch()
    result = runner.invoke(app, ["ingest", str(tmp_path / "empty.mp3"), str(tmp_path / "nope.wav")])
    assert result.exit_code == 1
    assert "empty file" in result.output and "no such file" in result.output
    assert "nothing could be processed" in result.output


def test_unsupported_type_is_one_line(env: Path, tmp_path: Path) -> None:
    (tmp_path / "x.pdf").write_text("%PDF")
    result = runner.invoke(app, ["ingest", str(tmp_path / "x.pdf")])
    assert result.exit_code == 1 and "unsupported file type '.pdf'" in result.output


def test_ingest_listens_for_the_hot_words_it_is_given(env: Path, tmp_path: Path) -> None:
    call = tmp_path / "hot.flac"
    shutil.copy(DATA / "hotwords_call.flac", call)
    bad = runner.invoke(app, ["ingest", str(call), "--hotwords", "x" * 41])
    assert bad.exit_code != 0 and "hot word too long" in bad.output, bad.output
    result = runner.invoke(app, ["ingest", str(call), "--hotwords", "Zentavo Plus, Quorvia"])
    assert result.exit_code == 0, result.output
    row = Ledger(env / "ledger.sqlite").get("hot")
    said = " ".join(t.text for t in row.transcript.turns)
    assert "Zentavo Plus" in said and "Quorvia" in said, said


def test_import_labels_and_unknown_column(env: Path, tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(
            [
                ["text", "category"],
                ["I want my money back", "refund"],
                ["Where is my parcel?", "delivery_delay"],
            ]
        )
    ok = runner.invoke(app, ["import-labels", str(path)])
    assert ok.exit_code == 0, ok.output
    assert "indexed" in ok.output

    bad = runner.invoke(app, ["import-labels", str(path), "--label-col", "intent"])
    assert bad.exit_code == 1
    assert "unknown column 'intent'" in bad.output and "text, category" in bad.output

    empty = tmp_path / "empty.csv"
    empty.touch()
    result = runner.invoke(app, ["import-labels", str(empty)])
    assert result.exit_code == 1 and "empty file" in result.output


def test_search_and_ask_commands(env: Path, tmp_path: Path) -> None:
    (tmp_path / "c1.txt").write_text(
        "Agent: Hello.\nCustomer: The courier left my parcel with the wrong neighbour.\n"
    )
    (tmp_path / "c2.txt").write_text("Agent: Hi.\nCustomer: 我要退款，商品坏了。\n")
    assert (
        runner.invoke(
            app, ["ingest", str(tmp_path / "c1.txt"), str(tmp_path / "c2.txt"), "--label", "demo"]
        ).exit_code
        == 0
    )
    found = runner.invoke(app, ["search", "parcel given to the wrong neighbour", "--k", "1"])
    assert found.exit_code == 0 and "c1" in found.output
    zh = runner.invoke(app, ["search", "退款", "--k", "1", "--filter", "label=demo"])
    assert zh.exit_code == 0 and "c2" in zh.output
    bad = runner.invoke(app, ["search", "x", "--filter", "colour=red"])
    assert bad.exit_code == 1 and "unknown key" in bad.output
    answer = runner.invoke(app, ["ask", "what happened to the parcel?", "--json"])
    assert answer.exit_code == 0, answer.output
    data = __import__("json").loads(answer.output.strip().splitlines()[-1])
    assert data["generated"] is False and data["citations"][0]["call_id"] == "c1"
    assert "Generation is off" in data["note"]


def test_ingest_of_a_file_named_like_a_labeled_call_keeps_its_labels(
    env: Path, tmp_path: Path
) -> None:
    table = tmp_path / "train.csv"
    with table.open("w", newline="") as f:
        csv.writer(f).writerows(
            [["id", "text", "category"], ["call-7", "I want my money back", "refund"]]
        )
    assert runner.invoke(app, ["import-labels", str(table)]).exit_code == 0
    (tmp_path / "call-7.txt").write_text("Customer: I want a refund for the blender.\n")
    result = runner.invoke(app, ["ingest", str(tmp_path / "call-7.txt")])
    assert result.exit_code == 0 and "indexed" in result.output, result.output
    ledger = Ledger(load_settings().paths.ledger)
    try:
        assert ledger.get("call-7").labels == ["refund"]
        assert ledger.history("call-7")[-1]["source"] == "content replaced (cli)"
    finally:
        ledger.close()


def test_status_says_when_the_store_is_held_elsewhere(env: Path, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Customer: my bill is wrong this month.\n")
    assert runner.invoke(app, ["ingest", str(tmp_path / "a.txt")]).exit_code == 0
    with Runtime(load_settings()) as holder:
        holder.turns  # noqa: B018 - held open, like a running server
        result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert "store unavailable" in result.output and "already open" in result.output
