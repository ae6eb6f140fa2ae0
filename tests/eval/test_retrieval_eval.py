"""``callscope eval retrieval`` on a small corpus of turns."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.cli.main import app
from tests.retrieval.test_search_qa import CALLS

runner = CliRunner()


def _files(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus.jsonl"
    with corpus.open("w", encoding="utf-8") as f:
        for call_id, (_, date, turns) in CALLS.items():
            for i, (speaker, text) in enumerate(turns):
                row = {
                    "id": f"{call_id}:t{i}",
                    "text": text,
                    "call_id": call_id,
                    "speaker": speaker,
                    "date": date,
                }
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    queries = tmp_path / "queries.jsonl"
    rows = [
        {"question": "Where did the courier leave the parcel?", "evidence": ["c-courier:t1"]},
        {
            "question": "How much money was refunded for the blender?",
            "evidence": ["c-refund:t2"],
            "call_id": "c-refund",
        },
        {"question": "退款什么时候到账？", "evidence": ["c-zh:t2"]},
    ]
    queries.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    return corpus, queries


def test_eval_retrieval_json(tmp_path: Path, models_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATHS__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(models_dir))
    monkeypatch.setenv("CHUNKING__MAX_TOKENS", "40")
    monkeypatch.setenv("CHUNKING__OVERLAP_TOKENS", "0")
    corpus, queries = _files(tmp_path)
    result = runner.invoke(
        app,
        [
            "eval",
            "retrieval",
            "--corpus",
            str(corpus),
            "--queries",
            str(queries),
            "--k",
            "1,5,10",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert set(summary["recall_at"]) == {"1", "5", "10"}
    assert summary["n_queries"] == 3 and 0 < summary["mrr"] <= 1
    assert summary["recall_at"]["10"] == 1.0  # 10 turns of 10 covers the whole tiny corpus
    assert summary["recall_at"]["1"] <= summary["recall_at"]["5"] <= summary["recall_at"]["10"]


def test_eval_retrieval_bad_input(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATHS__STATE_DIR", str(tmp_path / "state"))
    corpus, queries = _files(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x"}\n')
    result = runner.invoke(
        app, ["eval", "retrieval", "--corpus", str(corpus), "--queries", str(bad)]
    )
    assert result.exit_code == 1 and "missing evidence" in result.output
    result = runner.invoke(
        app, ["eval", "retrieval", "--corpus", str(corpus), "--queries", str(queries), "--k", "a,b"]
    )
    assert result.exit_code == 1 and "--k takes" in result.output
