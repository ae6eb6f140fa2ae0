"""``callscope eval classify`` end to end on a small labeled set."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.core.models import Columns
from eval.classify import sample_shots
from ingest.labels import load_labeled
from tests.llm_fixtures import llm_server_fixture  # noqa: F401
from tests.llm_server import Reply
from tests.retrieval.classify.test_knn import REASONS, TRAIN, TRAIN_ZH

runner = CliRunner()


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["utterance", "intent"])
        writer.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    train = [(t, label) for data in (TRAIN, TRAIN_ZH) for label, ts in data.items() for t in ts]
    test = [
        ("where is the money for my returned shoes", "refund"),
        ("the delivery is two days late", "delivery_delay"),
        ("I can't get into my account", "account_access"),
        ("快递怎么还没到", "delivery_delay"),
    ]
    return _write(tmp_path / "train.csv", train), _write(tmp_path / "test.csv", test)


def _eval(files: tuple[Path, Path], *extra: str):
    train, test = files
    args = [
        "eval",
        "classify",
        "--train",
        str(train),
        "--test",
        str(test),
        "--text-col",
        "utterance",
        "--label-col",
        "intent",
        *extra,
    ]
    return runner.invoke(app, args)


def test_eval_classify_prints_the_summary_json(files, tmp_path, models_dir, monkeypatch) -> None:
    monkeypatch.setenv("PATHS__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(models_dir))
    result = _eval(files, "--k", "5", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    for key in (
        "accuracy",
        "macro_f1",
        "n_train",
        "n_test",
        "k",
        "mode",
        "label_recall_at_k",
        "abstained",
        "seconds",
        "per_label",
    ):
        assert key in summary
    assert summary["n_train"] == 18 and summary["n_test"] == 4 and summary["k"] == 5
    assert summary["mode"] == "knn" and summary["accuracy"] >= 0.75
    assert summary["label_recall_at_k"] == 1.0
    assert set(summary["per_label"]["refund"]) == {"precision", "recall", "f1", "support"}
    # The temporary collection is gone; nothing was written to the state dir's store.
    assert not (tmp_path / "state" / "qdrant").exists()


def test_shots_sample_per_label_and_are_seeded(files) -> None:
    sources, _ = load_labeled(files[0], Columns(text="utterance", label="intent"))
    two = sample_shots(sources, 2, seed=1)
    assert len(two) == 6 and {s.labels[0] for s in two} == {
        "refund",
        "delivery_delay",
        "account_access",
    }
    assert [s.call_id for s in sample_shots(sources, 2, seed=1)] == [s.call_id for s in two]
    assert sample_shots(sources, None, seed=1) == sources


def test_llm_mode_without_llm_is_a_clear_error(files, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATHS__STATE_DIR", str(tmp_path / "state"))
    result = _eval(files, "--mode", "llm")
    assert result.exit_code == 1 and "no LLM is configured" in result.output


def test_eval_llm_mode_against_a_local_openai_server(
    files, tmp_path, models_dir, monkeypatch, llm_server
) -> None:
    monkeypatch.setenv("PATHS__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(models_dir))
    monkeypatch.setenv("LLM__BASE_URL", llm_server.base_url)
    monkeypatch.setenv("LLM__MODEL", llm_server.model)
    monkeypatch.setenv("LLM__TRUST", "always")
    # This scripted model answers "refund" for every call: 1 of 4 test rows is right.
    llm_server.default = Reply.json(
        {"label": "refund", "secondary_labels": [], "confidence": 0.6, "reason": "scripted"}
    )
    result = _eval(files, "--mode", "llm", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["mode"] == "llm" and len(llm_server.requests) == 4
    # Where the neighbours are unambiguous the scripted answer is overruled; elsewhere it wins.
    assert summary["decided_by"].get("llm", 0) + summary["decided_by"].get("knn", 0) == 4
    assert "4 requests" in summary["llm_usage"]


def test_multi_label_metrics_on_a_hand_checked_example() -> None:
    from eval.classify import multi_label_score
    from retrieval.classify.knn import Classification

    def predicted(*labels: str) -> Classification:
        return Classification(labels[0], 0.9, list(labels), {}, [], "knn", [], {})

    gold = [["hotel", "metro"], ["hotel"], ["taxi", "metro"]]
    preds = [predicted("hotel", "metro"), predicted("hotel", "taxi"), predicted("taxi")]
    m = multi_label_score(gold, preds)
    # Row 1 exact; row 2 has an extra taxi; row 3 misses metro.
    assert m["exact_match"] == round(1 / 3, 4)
    # tp = hotel,metro,hotel,taxi = 4; fp = taxi(row 2) = 1; fn = metro(row 3) = 1.
    assert m["micro_f1"] == 0.8
    assert m["per_label"]["metro"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert m["per_label"]["taxi"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    assert m["per_label"]["hotel"]["f1"] == 1.0
    assert m["macro_f1"] == round((1.0 + 0.6667 + 0.6667) / 3, 4)


def test_unknown_label_rows_are_out_of_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows of the unknown label are never trained on and are right only as ``unknown``: with
    the learned threshold they come back ``unknown``; with abstaining off, never."""
    rows = [(t, label) for label, ts in REASONS.items() for t in ts]
    rows.append(("what is the weather like in Paris tomorrow", "weather"))
    train_oos = _write(tmp_path / "train_oos.csv", rows)
    test = _write(
        tmp_path / "test_oos.csv",
        [
            ("where is the money for my returned shoes", "refund"),
            ("the delivery is two days late", "delivery_delay"),
            ("please cancel the order I made today", "cancel_order"),
            ("will it rain in Paris tomorrow", "weather"),
            ("who won the football match last night", "weather"),
        ],
    )
    args = ["eval", "classify", "--train", str(train_oos), "--test", str(test)]
    args += ["--text-col", "utterance", "--label-col", "intent", "--json", "--unknown-label"]
    # Twenty-four labeled calls: a 1% budget of false unknowns allows none; 10% does.
    monkeypatch.setenv("CLASSIFY__FALSE_UNKNOWN_RATE", "0.1")
    learned = json.loads(runner.invoke(app, [*args, "weather", "--unknown-rates", "0,0.1"]).stdout)
    assert learned["n_out_of_scope"] == 2 and learned["in_scope_accuracy"] == 1.0
    assert learned["unknown_recall"] == 1.0 and learned["unknown_precision"] == 1.0
    assert learned["accuracy"] == 0.6 and learned["abstained"] == 2  # 3 right of 5 scored rows
    # The sweep scores the same answers at each rate's threshold: 0.1 is the run's own.
    off, same = learned["unknown_sweep"]
    assert (off["false_unknown_rate"], off["threshold"], off["abstained"]) == (0.0, 0.0, 0)
    assert off["unknown_recall"] == 0.0 and off["accuracy"] == 0.6  # 3 right, 2 wrong labels
    assert same["abstained"] == 2 and same["unknown_recall"] == 1.0
    assert same["in_scope_accuracy"] == 1.0
    bad = runner.invoke(app, [*args, "weather", "--unknown-rates", "0.01,lots"])
    assert bad.exit_code != 0 and "--unknown-rates" in bad.output
    monkeypatch.setenv("CLASSIFY__FALSE_UNKNOWN_RATE", "0")
    plain = json.loads(runner.invoke(app, [*args, "weather"]).stdout)
    assert plain["in_scope_accuracy"] == 1.0 and plain["unknown_recall"] == 0.0
    assert plain["unknown_precision"] is None  # nothing said unknown
    assert "weather" not in plain["per_label"] or plain["per_label"]["weather"]["recall"] == 0.0
