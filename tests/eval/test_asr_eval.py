"""``callscope eval asr``: the normalisers and metrics, and the command end to end on real clips
with the bundled whisper model (ours and, with ``--baseline``, plain faster-whisper)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.core.models import Transcript, Turn
from eval.asr import cer, edit_distance, hypothesis, normalize_en, normalize_zh, wer
from tests.conftest import DATA

runner = CliRunner()

# What is spoken on each channel of stereo_diarization.wav (tests/data/README.md).
LEFT = (
    "He began a confused complaint against the wizard, who had vanished behind the curtain on "
    "the left."
)
RIGHT = "The horizon seems extremely distant."


def test_english_ignores_case_and_punctuation() -> None:
    assert normalize_en("Hello, World! I'm here -- at 5.30 & ok.") == [
        "hello", "world", "im", "here", "at", "5", "30", "ok",
    ]  # fmt: skip
    assert wer("And so, my fellow Americans!", "and so my fellow americans") == 0.0
    assert wer("a b c d", "a x c d") == 0.25  # one substitution in four words
    assert wer("a b c d", "a b c d e f") == 0.5  # two insertions


def test_empty_hypothesis_is_all_deletions() -> None:
    assert wer("ask not what your country", "") == 1.0
    assert cer("广州市", "") == 1.0
    assert edit_distance([], ["x", "y"]) == 2


def test_chinese_is_scored_by_simplified_characters() -> None:
    assert normalize_zh("你好， 世界。") == list("你好世界")
    assert cer("广州市房地产中介协会分析", "广州市佛地产中间协会分析") == pytest.approx(2 / 12)


def test_traditional_hypothesis_matches_simplified_reference() -> None:
    pytest.importorskip("opencc")
    assert cer("广州市房地产中介协会分析", "廣州市房地產中介協會分析。") == 0.0


def test_hypothesis_takes_one_channel_speaker_or_the_whole_mono_call() -> None:
    speakers = ("agent", "customer")
    stereo = Transcript(
        turns=[
            Turn("agent", "hello", 0.0, 1.0),
            Turn("customer", "hi there", 1.2, 2.0),
            Turn("agent", "how can I help", 2.5, 3.0),
        ]
    )
    assert hypothesis(stereo, 0, speakers) == "hello how can I help"
    assert hypothesis(stereo, 1, speakers) == "hi there"
    assert hypothesis(stereo, None, speakers) == "hello hi there how can I help"
    mono = Transcript(turns=[Turn("speaker", "one voice", 0.0, 1.0)])
    assert hypothesis(mono, 1, speakers) == "one voice"


@pytest.fixture
def env(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATHS__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(models_dir))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def _manifest(folder: Path, rows: list[dict | str]) -> Path:
    path = folder / "manifest.jsonl"
    lines = [row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_rows_are_errors_and_nothing_scored_exits_non_zero(env: Path) -> None:
    (env / "corrupt.mp3").write_bytes(os.urandom(2048))
    manifest = _manifest(
        env,
        [
            {"audio": "missing.wav", "text": "hello"},
            {"audio": str(DATA / "jfk.flac")},
            {"audio": str(DATA / "jfk.flac"), "text": "hello", "channel": 2},
            {"audio": "corrupt.mp3", "text": "hello"},
            "not json",
        ],
    )
    result = runner.invoke(app, ["eval", "asr", "--manifest", str(manifest)])
    assert result.exit_code == 1
    assert "ASR eval" in result.stdout and "no row could be scored" in result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])  # the table, then the JSON summary
    errors = [row["error"] for row in summary["rows"]]
    assert "no such file" in errors[0] and errors[1] == "missing reference text"
    assert "channel must be 0" in errors[2] and "not a decodable audio file" in errors[3]
    assert errors[4].startswith("not JSON")
    assert summary["n_errors"] == 5 and summary["n_scored"] == 0


def test_eval_asr_scores_each_channel_ours_and_plain(env: Path) -> None:
    # Relative audio paths resolve against the manifest's folder.
    (env / "clips").mkdir()
    (env / "clips" / "call.wav").symlink_to(DATA / "stereo_diarization.wav")
    manifest = _manifest(
        env,
        [
            {"audio": "clips/call.wav", "text": LEFT, "language": "en", "channel": 0},
            {"audio": "clips/call.wav", "text": RIGHT, "channel": 1},
            {"audio": "clips/gone.wav", "text": RIGHT},
        ],
    )
    result = runner.invoke(
        app, ["eval", "asr", "--manifest", str(manifest), "--baseline", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # --json: the summary and nothing else on stdout
    assert summary["n_rows"] == 3 and summary["n_scored"] == 2 and summary["n_errors"] == 1
    assert summary["n_files"] == 1 and summary["audio_seconds"] == pytest.approx(5.0, abs=0.1)
    for side in ("ours", "plain"):
        totals = summary[side]
        assert totals["rows"] == 2 and totals["wer"] < 0.5 and totals["cer"] is None
        assert totals["rtf"] > 0 and totals["seconds"] > 0
    assert summary["rtf_ours_over_plain"] > 0 and summary["wall_seconds"] > 0
    left, right = summary["rows"][:2]
    assert "wizard" in left["ours"]["hypothesis"].lower()
    assert "wizard" not in right["ours"]["hypothesis"].lower()
    assert "horizon" in right["plain"]["hypothesis"].lower()
    assert left["ours"]["wer"] < 0.5 and right["plain"]["wer"] < 0.5
