"""Label corrections on indexed calls, with the real embedder and the real Qdrant Edge engine."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.core.config import Settings
from app.core.errors import InputError
from app.core.models import CallSource, Transcript, Turn
from app.runtime import Runtime
from ingest.relabel import (
    Correction,
    LabelChange,
    LabelsChangedError,
    apply_corrections,
    read_corrections,
    undo_change,
)
from retrieval.classify.knn import KnnClassifier
from retrieval.index.embedding import Embedder

TEXTS = {
    "c1": ("I want my money back for the broken blender", ["refund", "complaint"]),
    "c2": ("The courier has not delivered my order yet", ["refund"]),
    "c3": ("I cannot log in, my password does not work", ["account_access"]),
}


def _sources() -> list[CallSource]:
    sources = []
    for call_id, (text, labels) in TEXTS.items():
        turns = [Turn("customer" if i % 2 else "agent", f"{text}. Line {i}.") for i in range(12)]
        sources.append(
            CallSource(
                call_id=call_id,
                kind="text",
                origin="train.csv",
                transcript=Transcript(turns),
                labels=list(labels),
            )
        )
    return sources


@pytest.fixture
def rt(make_settings: Callable[..., Settings], embedder: Embedder) -> Iterator[Runtime]:
    # Small turn pieces, so every call has several turn points to relabel.
    settings = make_settings(index={"max_turn_tokens": 16})
    with Runtime(settings, embedder=embedder) as runtime:
        assert {r.status for r in runtime.pipeline().run(_sources())} == {"indexed"}
        yield runtime


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def _labels(runtime: Runtime, call_id: str) -> tuple[list[list[str]], list[str]]:
    chunks = [p.payload["labels"] for p in runtime.turns.scroll({"call_id": call_id})]
    [call] = list(runtime.calls.scroll({"call_id": call_id}))
    return chunks, call.payload["labels"]


def test_relabel_updates_every_point_ledger_and_history(rt: Runtime) -> None:
    assert rt.turns.count({"call_id": "c2"}) > 1
    ids = sorted(p.id for p in rt.turns.scroll())
    classifier = KnnClassifier(rt.calls, rt.embedder, rt.sparse, rt.settings.classify)
    fitted_on = classifier.label_model().fingerprint
    report = apply_corrections(rt, [Correction("c2", "delivery_delay", "f:2")], "fixes.csv")
    assert [(c.call_id, c.old, c.new) for c in report.changed] == [
        ("c2", ["refund"], ["delivery_delay"])
    ]
    chunks, call = _labels(rt, "c2")
    assert call == ["delivery_delay"] and all(c == ["delivery_delay"] for c in chunks)
    assert rt.ledger.get("c2").labels == ["delivery_delay"]
    [entry] = rt.ledger.history("c2")
    assert entry["old_labels"] == ["refund"] and entry["new_labels"] == ["delivery_delay"]
    assert entry["source"] == "fixes.csv" and entry["at"] > 0
    # Secondary labels are kept, minus the new primary.
    apply_corrections(rt, [Correction("c1", "billing", "f:3")], "fixes.csv")
    assert _labels(rt, "c1")[1] == ["billing", "complaint"]
    apply_corrections(rt, [Correction("c1", "complaint", "f:3")], "more.csv")
    assert rt.ledger.get("c1").labels == ["complaint"] == _labels(rt, "c1")[1]

    # Twice -> two history entries, in the payloads and in the ledger.
    apply_corrections(rt, [Correction("c2", "shipping", "g:2")], "second.jsonl")
    [call_point] = list(rt.calls.scroll({"call_id": "c2"}))
    history = call_point.payload["label_history"]
    assert [(h["from"], h["to"], h["source"]) for h in history] == [
        (["refund"], ["delivery_delay"], "fixes.csv"),
        (["delivery_delay"], ["shipping"], "second.jsonl"),
    ]
    assert history[0]["at"].endswith("+00:00")
    assert all(p.payload["label_history"] == history for p in rt.turns.scroll({"call_id": "c2"}))
    assert len(rt.ledger.history("c2")) == 2
    # Nothing was re-embedded or re-chunked: the same points; the light model sees the change.
    assert sorted(p.id for p in rt.turns.scroll()) == ids and rt.calls.count() == 3
    assert classifier.label_model().fingerprint != fitted_on


def test_unknown_empty_and_same_label(rt: Runtime) -> None:
    report = apply_corrections(
        rt,
        [
            Correction("nope", "refund", "f:2"),
            Correction("c1", "", "f:3"),
            Correction("c3", "account_access", "f:4"),
        ],
        "fixes.csv",
    )
    assert report.unknown == ["nope"] and report.unchanged == ["c3"] and not report.changed
    assert [cid for cid, _ in report.skipped] == ["nope", "c1"]
    assert rt.ledger.history("c1") == [] and rt.ledger.history("c3") == []


def test_dry_run_writes_nothing(rt: Runtime) -> None:
    report = apply_corrections(rt, [Correction("c2", "delivery_delay", "f:2")], "x", dry_run=True)
    assert report.dry_run and [c.new for c in report.changed] == [["delivery_delay"]]
    chunks, call = _labels(rt, "c2")
    assert call == ["refund"] and all(c == ["refund"] for c in chunks)
    assert rt.ledger.get("c2").labels == ["refund"] and rt.ledger.history("c2") == []
    [point] = list(rt.calls.scroll({"call_id": "c2"}))
    assert "label_history" not in point.payload


def test_reingesting_the_original_source_keeps_the_correction(rt: Runtime) -> None:
    before = rt.ledger.get("c2").content_hash
    apply_corrections(rt, [Correction("c2", "delivery_delay", "f:2")], "fixes.csv")
    assert rt.ledger.get("c2").content_hash == before
    results = rt.pipeline().run(_sources())
    assert {r.status for r in results} == {"unchanged"}
    assert _labels(rt, "c2")[1] == ["delivery_delay"]
    assert rt.ledger.get("c2").labels == ["delivery_delay"]


def test_read_corrections_columns_accept_and_duplicates(tmp_path: Path) -> None:
    plain = _write_csv(
        tmp_path / "fixes.csv",
        [["id", "new_label"], ["c1", "a"], ["c2", " b "], ["c1", "c"], ["", "d"]],
    )
    corrections, warnings = read_corrections(plain)
    assert [(c.call_id, c.label) for c in corrections] == [("c1", "c"), ("c2", "b")]
    assert any("duplicate id 'c1'" in w for w in warnings)
    assert any("no id" in w for w in warnings)

    issues = tmp_path / "label_issues.jsonl"
    issues.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [
                {"row": 1, "id": "c1", "given_label": "x", "suggested_label": "a", "accept": "✓"},
                {"row": 2, "id": "c2", "given_label": "x", "suggested_label": "b", "accept": ""},
                {"row": 3, "id": "c3", "given_label": "x", "suggested_label": "c", "accept": "Yes"},
                {"row": 4, "id": "c4", "given_label": "x", "suggested_label": "d", "accept": 1},
            ]
        )
    )
    corrections, warnings = read_corrections(issues)
    assert [(c.call_id, c.label) for c in corrections] == [("c1", "a"), ("c3", "c"), ("c4", "d")]
    assert any("1 row(s) not marked" in w for w in warnings)

    other = _write_csv(tmp_path / "other.csv", [["call", "intent"], ["c1", "a"]])
    with pytest.raises(InputError, match="no id column.*the file has: call, intent"):
        read_corrections(other)
    with pytest.raises(InputError, match="unknown column 'label'.*the file has: call, intent"):
        read_corrections(other, id_col="call", label_col="label")
    assert read_corrections(other, id_col="call", label_col="intent")[0][0].label == "a"

    (tmp_path / "empty.csv").touch()
    with pytest.raises(InputError, match="empty file"):
        read_corrections(tmp_path / "empty.csv")
    header_only = _write_csv(tmp_path / "header.csv", [["id", "new_label"]])
    with pytest.raises(InputError, match="no data rows"):
        read_corrections(header_only)


def test_cli_relabel_end_to_end(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("PATHS__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(models_dir))
    monkeypatch.setenv("COLUMNS", "200")
    train = _write_csv(
        tmp_path / "train.csv",
        [
            ["id", "text", "label"],
            ["a1", "I want my money back", "refund"],
            ["a2", "Late", "refund"],
        ],
    )
    assert runner.invoke(app, ["import-labels", str(train)]).exit_code == 0
    fixes = _write_csv(
        tmp_path / "fixes.csv",
        [["id", "new_label"], ["a2", "delivery_delay"], ["a1", "refund"], ["ghost", "x"]],
    )

    dry = runner.invoke(app, ["relabel", str(fixes), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "would relabel 1, unchanged 1, skipped 1" in dry.output
    assert "replace refund with delivery_delay" in dry.output
    assert "would create new labels (asked first): delivery_delay" in dry.output

    # delivery_delay is on no call yet: created only when the question is answered yes.
    refused = runner.invoke(app, ["relabel", str(fixes)], input="n\n")
    assert refused.exit_code == 0, refused.output
    assert "Create them?" in refused.output and "new labels not created" in refused.output
    assert "relabeled 0, unchanged 1, skipped 2" in refused.output
    ok = runner.invoke(app, ["relabel", str(fixes)], input="y\n")
    assert ok.exit_code == 0, ok.output
    assert "a2" in ok.output and "replace refund with delivery_delay" in ok.output
    assert "relabeled 1, unchanged 1, skipped 1 (unknown ids: ghost)" in ok.output
    again = runner.invoke(app, ["relabel", str(fixes)])
    assert "relabeled 0, unchanged 2, skipped 1" in again.output
    # Re-importing the old training file does not undo the correction.
    assert "unchanged" in runner.invoke(app, ["import-labels", str(train)]).output
    with Runtime(Settings()) as runtime:
        assert runtime.ledger.get("a2").labels == ["delivery_delay"]
        [point] = list(runtime.calls.scroll({"call_id": "a2"}))
        assert point.payload["labels"] == ["delivery_delay"]

    bad = runner.invoke(app, ["relabel", str(fixes), "--label-col", "intent"])
    assert bad.exit_code == 1
    assert "unknown column 'intent'" in bad.output and "id, new_label" in bad.output

    # Every relabel can be undone from the CLI; the history says what to name.
    history = runner.invoke(app, ["label-history", "a2"])
    assert history.exit_code == 0, history.output
    assert "#1" in history.output and "fixes.csv" in history.output
    undone = runner.invoke(app, ["undo-relabel", "a2"])
    assert undone.exit_code == 0, undone.output
    assert "restored a2: delivery_delay → refund (replace delivery_delay with refund)" in (
        undone.output
    )
    again = runner.invoke(app, ["undo-relabel", "a2", "--entry", "1"])
    assert again.exit_code == 1 and "changed since entry #1" in again.output
    assert "undo #1 (cli)" in runner.invoke(app, ["label-history", "a2"]).output
    with Runtime(Settings()) as runtime:
        assert runtime.ledger.get("a2").labels == ["refund"]


def test_a_label_change_touches_only_what_it_names() -> None:
    labels = ["refund", "delivery_delay"]
    remove = LabelChange(remove=("refund",))
    assert (remove.kind, str(remove), remove.apply(labels)) == (
        "remove",
        "remove refund",
        ["delivery_delay"],
    )
    replace = LabelChange(("billing",), ("refund",))
    assert (replace.kind, replace.apply(labels)) == ("replace", ["billing", "delivery_delay"])
    assert str(replace) == "replace refund with billing"
    assert LabelChange(("billing",)).apply(labels) == [*labels, "billing"]
    assert LabelChange(("refund",)).apply(labels) == labels  # already there: no change
    assert str(LabelChange(("a", "b"), ("c",))) == "remove c; add a, b"
    assert LabelChange.between(labels, ["delivery_delay", "x"]) == LabelChange(("x",), ("refund",))


def test_accepting_a_run_report_applies_its_change_and_nothing_else(
    rt: Runtime, tmp_path: Path
) -> None:
    """A label run's report row for c1 (refund;complaint) suggesting to add billing: before,
    the accepted row made billing the primary label and silently dropped refund."""
    report = _write_csv(
        tmp_path / "label_issues.csv",
        [
            ["row", "id", "given_label", "given_labels", "suggested_label", "change",
             "add_labels", "remove_labels", "accept"],
            ["0", "c1", "refund", "refund;complaint", "billing", "add billing", "billing", "",
             "yes"],
            ["1", "c2", "refund", "refund", "shipping", "replace refund with shipping",
             "shipping", "refund", "x"],
            ["2", "c3", "account_access", "account_access", "refund", "", "", "", "yes"],
        ],
    )  # fmt: skip
    corrections, warnings = read_corrections(report)
    assert any("'c3' has no suggested change" in w for w in warnings)
    done = apply_corrections(rt, corrections, report.name)
    assert [(c.call_id, c.new) for c in done.changed] == [
        ("c1", ["refund", "complaint", "billing"]),
        ("c2", ["shipping"]),
    ]
    assert _labels(rt, "c1")[1] == ["refund", "complaint", "billing"]
    # The run saw other labels than c1 has now: accepting its row again is refused.
    again = apply_corrections(rt, read_corrections(report)[0], report.name)
    assert not again.changed and again.unchanged == []
    assert [why for _, why in again.skipped][0].startswith("labels changed since (then: refund")


def test_new_labels_wait_for_confirmation_and_undo_restores(rt: Runtime) -> None:
    known = {"refund", "complaint", "account_access"}
    fix = Correction("c3", change=LabelChange(("refund",)))
    created = Correction("c3", "warranty", "f:2")
    report = apply_corrections(rt, [fix, created], "ui", known_labels=known)
    assert [c.new for c in report.changed] == [["account_access", "refund"]]
    assert report.new_labels == ["warranty"] and "no call has it yet" in report.skipped[0][1]
    entry = report.changed[0].entry
    assert entry == rt.ledger.history("c3")[-1]["id"]

    undone = undo_change(rt, "c3", entry, "undo")
    assert (undone.old, undone.new) == (["account_access", "refund"], ["account_access"])
    assert _labels(rt, "c3")[1] == ["account_access"] == rt.ledger.get("c3").labels
    with pytest.raises(LabelsChangedError, match=f"changed since entry #{entry}"):
        undo_change(rt, "c3", entry, "undo")
    assert [h["source"] for h in rt.ledger.history("c3")] == ["ui", "undo"]


def test_suggestions_without_an_accept_column_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "label_issues.csv"
    path.write_text("row,id,given_label,suggested_label\n0,a,x,y\n", encoding="utf-8")
    with pytest.raises(InputError, match="accept column"):
        read_corrections(path)


def test_the_ledger_serves_many_threads(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from ingest.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger.sqlite")

    def work(i: int) -> int:
        ledger.upsert(f"c{i}", collection="c", kind="text", origin="t", content_hash="h",
                      state="indexed", labels=["a"])  # fmt: skip
        ledger.add_history(f"c{i}", ["a"], ["b"], "test")
        return len(ledger.history(f"c{i}"))

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(work, range(64))) == [1] * 64
    assert ledger.counts()["indexed"] == 64 and len(list(ledger.rows())) == 64
    ledger.close()
