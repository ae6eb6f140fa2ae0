"""Reading transcripts and labeled files: good shapes, and every bad one with a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from app.core.errors import InputError
from app.core.models import Columns
from ingest.labels import load_labeled
from ingest.sources import discover, parse_text_turns, read_transcript


def test_speaker_lines_with_timestamps_and_chinese_roles() -> None:
    turns = parse_text_turns(
        "[00:01] Agent: Hello, how can I help?\n[01:04] Customer: My parcel is late.\n"
        "It was due Monday.\n客户：我要退款\n坐席：好的"
    )
    assert [t.speaker for t in turns] == ["agent", "customer", "customer", "agent"]
    assert turns[1].text == "My parcel is late. It was due Monday."
    assert (turns[0].start, turns[1].start) == (1.0, 64.0)


def test_traditional_chinese_is_normalized() -> None:
    assert parse_text_turns("客戶：我要退款，請儘快處理")[0].text == "我要退款，请尽快处理"


def test_json_transcript(tmp_path: Path) -> None:
    path = tmp_path / "c1.json"
    path.write_text(
        json.dumps(
            {
                "labels": ["refund"],
                "turns": [
                    {"speaker": "Agent", "text": "Hi", "start": 0, "end": 1.5},
                    {"speaker": "Customer", "text": "Refund please", "start": 2, "end": 3},
                ],
            }
        )
    )
    transcript, meta = read_transcript(path)
    assert [t.speaker for t in transcript.turns] == ["agent", "customer"]
    assert meta["labels"] == ["refund"]


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("empty.txt", "", "empty transcript"),
        ("bad.json", "{not json", "invalid JSON"),
        ("shape.json", '{"speech": 1}', "needs a 'turns' list"),
        ("turn.json", '[{"speaker": "a"}]', "turn 0 needs a 'text'"),
    ],
)
def test_bad_transcripts(tmp_path: Path, name: str, content: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError, match=needle):
        read_transcript(path)


def test_discover_reports_missing_and_unsupported(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Agent: hi")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("Agent: hello")  # same stem, other folder
    (tmp_path / "notes.docx").write_text("x")
    sources, errors = discover([tmp_path, tmp_path / "missing.mp3", tmp_path / "notes.docx"])
    assert len(sources) == 2 and len({s.call_id for s in sources}) == 2
    messages = dict(errors)
    assert "no such file" in messages[str(tmp_path / "missing.mp3")]
    assert "unsupported file type '.docx'" in messages[str(tmp_path / "notes.docx")]


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_csv_with_multi_labels_and_audio(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "l.csv",
        [
            ["id", "text", "audio", "label", "date"],
            ["c1", "Customer: refund please", "", "refund;billing_error", "2026-10-01"],
            ["c2", "", "rec/c2.mp3", "delivery_delay", ""],
            ["c3", "", "", "refund", ""],
            ["c4", "Customer: hello", "", "", ""],
        ],
    )
    sources, errors = load_labeled(path)
    assert [s.call_id for s in sources] == ["c1", "c2"]
    assert sources[0].labels == ["refund", "billing_error"] and sources[0].date == "2026-10-01"
    assert sources[1].kind == "audio" and sources[1].path == tmp_path / "rec" / "c2.mp3"
    assert dict(errors) == {"l.csv:4": "no transcript text or audio path", "l.csv:5": "no label"}


def test_xlsx_and_jsonl(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["call", "transcript", "intent"])
    book.active.append(["x1", "I lost my card", "card_lost"])
    book.save(tmp_path / "l.xlsx")
    sources, _ = load_labeled(
        tmp_path / "l.xlsx", Columns(id="call", text="transcript", label="intent")
    )
    assert sources[0].call_id == "x1" and sources[0].labels == ["card_lost"]

    (tmp_path / "l.jsonl").write_text(
        json.dumps(
            {"id": "j1", "labels": ["refund"], "turns": [{"speaker": "customer", "text": "退款"}]},
            ensure_ascii=False,
        )
        + "\n"
    )
    sources, _ = load_labeled(tmp_path / "l.jsonl")
    assert sources[0].transcript.turns[0].text == "退款"


def test_unknown_column_names_the_columns(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "l.csv", [["utterance", "category"], ["hi", "greet"]])
    with pytest.raises(
        InputError, match="no transcript or audio column.*the file has: utterance, category"
    ):
        load_labeled(path)
    with pytest.raises(InputError, match="unknown column 'tag'"):
        load_labeled(path, Columns(text="utterance", label="tag"))
    sources, _ = load_labeled(path, Columns(text="utterance"))  # category is a known fallback
    assert sources[0].labels == ["greet"]


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("empty.csv", "", "empty file"),
        ("header.csv", "text,label\n", "no data rows"),
        ("l.txt", "a", "unsupported label file type"),
        ("bad.jsonl", '{"text": "a", "label": "b"}\nnot json\n', "invalid JSON"),
    ],
)
def test_bad_label_files(tmp_path: Path, name: str, content: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError, match=needle):
        load_labeled(path)
