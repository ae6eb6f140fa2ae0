"""Label runs on multi-label calls, accepting a run's suggestion, relabeling with confirmation
and undo, through ``app.services.labels`` (real MiniLM, real Qdrant Edge, a real run)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.config import load_settings
from app.core.errors import InputError
from app.runtime import Runtime
from app.services import label_runs, labels
from tests.labelcalls import BOTH, MULTI, ONLY_DELIVERY, calls
from tests.textcalls import text_sources
from tests.ui.corpus import MISLABELED


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder) -> Iterator[Runtime]:
    root = tmp_path_factory.mktemp("labels")
    settings = load_settings(paths={"state_dir": root / "state", "models_dir": models_dir})
    with Runtime(settings, embedder=embedder) as runtime:
        results = runtime.pipeline().run(text_sources(calls()))
        assert {r.status for r in results} == {"indexed"}
        yield runtime


@pytest.fixture(scope="module")
def heard() -> list[tuple[int, str]]:
    """What the run below told its progress listener: (percent, stage)."""
    return []


@pytest.fixture(scope="module")
def run(rt: Runtime, heard: list[tuple[int, str]]) -> dict[str, Any]:
    listen = lambda done, total, stage: heard.append((done, stage))  # noqa: E731
    return label_runs.run_on_store(rt, adjudicate=0, on_progress=listen)


def test_a_runs_progress_moves_through_its_stages(
    run: dict[str, Any], heard: list[tuple[int, str]]
) -> None:
    percents = [done for done, _ in heard]
    assert percents == sorted(percents) and percents[-1] == 100
    # Not one jump from 0 to 100: the bar moves within the stages, and every stage is named.
    assert len(set(percents)) >= 5
    assert {stage for _, stage in heard} <= set(label_runs.STAGES)


def _csv(summary: dict[str, Any]) -> dict[str, dict[str, str]]:
    path = Path(summary["outputs"]["csv"])
    with path.open(encoding="utf-8-sig", newline="") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def test_a_run_judges_a_multi_label_call_by_its_set(run: dict[str, Any]) -> None:
    """The issue's demo-041: a call labeled refund;delivery_delay about a late parcel was
    flagged "refund → delivery_delay" (a label it already has) and accepting that dropped
    refund unannounced. Now the suggestion says which label to remove, and a call whose
    labels both have evidence is not a suspect."""
    rows = _csv(run)
    for call_id, (given, _, _) in calls().items():
        row = rows[call_id]
        if row["flagged"] == "true" and len(given) > 1:
            # Never "suggest" a label the call has: say what to add or remove instead.
            assert row["suggested_label"] not in given or row.get("remove_labels"), row
    only = rows[ONLY_DELIVERY]
    assert only["given_labels"] == "refund;delivery_delay" and only["flagged"] == "true"
    assert (only["change"], only["add_labels"], only["remove_labels"]) == (
        "remove refund",
        "",
        "refund",
    )
    assert rows[BOTH]["flagged"] == "false" and rows[BOTH]["change"] == ""
    wrong = rows[MISLABELED]
    assert wrong["change"] == "replace delivery_delay with refund" and wrong["flagged"] == "true"


def test_a_runs_issues_are_kept_with_the_run(rt: Runtime, run: dict[str, Any]) -> None:
    issues = {i.call_id: i for i in label_runs.run_issues(rt.settings, run["run_id"])}
    assert len(issues) == run["n_scored"]
    only = issues[ONLY_DELIVERY]
    assert only.labels == MULTI and only.remove == ["refund"] and only.add == []
    assert only.suggested_labels == ["delivery_delay"] and "unsupported_label" in only.reasons
    assert issues[MISLABELED].suggested_labels == ["refund"]
    # The report files may go; the run's rows stay.
    Path(run["outputs"]["csv"]).rename(Path(run["outputs"]["csv"]).with_suffix(".bak"))
    try:
        again = label_runs.run_issues(rt.settings, run["run_id"])
    finally:
        Path(run["outputs"]["csv"]).with_suffix(".bak").rename(run["outputs"]["csv"])
    assert [i.call_id for i in again] == [i.call_id for i in issues.values()]
    with pytest.raises(InputError, match="no label-quality run 999"):
        label_runs.run_issues(rt.settings, 999)


def test_accepting_applies_exactly_the_change_and_undo_restores(
    rt: Runtime, run: dict[str, Any]
) -> None:
    run_id = run["run_id"]
    preview = labels.accept_suggestion(rt, run_id, ONLY_DELIVERY, dry_run=True)
    assert (preview.old, preview.new, str(preview.change)) == (
        MULTI,
        ["delivery_delay"],
        "remove refund",
    )
    assert (
        preview.dry_run and preview.entry is None and rt.ledger.get(ONLY_DELIVERY).labels == MULTI
    )

    done = labels.accept_suggestion(rt, run_id, ONLY_DELIVERY, by="test")
    assert done.new == ["delivery_delay"] and done.entry is not None
    [point] = list(rt.calls.scroll({"call_id": ONLY_DELIVERY}))
    assert point.payload["labels"] == ["delivery_delay"]
    assert rt.ledger.history(ONLY_DELIVERY)[-1]["source"] == f"label run {run_id} (test)"
    # Accepting again: the call no longer has the labels the run saw.
    with pytest.raises(labels.LabelsChangedError, match="labels changed since"):
        labels.accept_suggestion(rt, run_id, ONLY_DELIVERY)

    undone = labels.undo_relabel(rt, ONLY_DELIVERY, done.entry, by="test")
    assert (undone.old, undone.new) == (["delivery_delay"], MULTI)
    assert rt.ledger.get(ONLY_DELIVERY).labels == MULTI
    [point] = list(rt.calls.scroll({"call_id": ONLY_DELIVERY}))
    assert point.payload["labels"] == MULTI
    assert all(p.payload["labels"] == MULTI for p in rt.turns.scroll({"call_id": ONLY_DELIVERY}))
    history = labels.label_history(rt, ONLY_DELIVERY)
    assert history[-1]["source"] == f"undo #{done.entry} (test)"
    assert history[-1]["id"] == undone.entry
    # The entry no longer describes the call: undoing it twice is refused ...
    with pytest.raises(labels.LabelsChangedError, match="changed since entry"):
        labels.undo_relabel(rt, ONLY_DELIVERY, done.entry)
    # ... and the undo itself can be undone (a redo), then undone again.
    redo = labels.undo_relabel(rt, ONLY_DELIVERY, undone.entry)
    assert redo.new == ["delivery_delay"]
    labels.undo_relabel(rt, ONLY_DELIVERY, redo.entry)
    assert rt.ledger.get(ONLY_DELIVERY).labels == MULTI


def test_a_label_no_call_has_is_created_only_when_confirmed(rt: Runtime) -> None:
    assert "warranty" not in labels.known_labels(rt)
    with pytest.raises(labels.NewLabelError, match="'warranty'.*confirm"):
        labels.relabel_call(rt, BOTH, add=["warranty"])
    assert rt.ledger.get(BOTH).labels == MULTI
    preview = labels.relabel_call(rt, BOTH, add=["warranty"], dry_run=True)
    assert preview.created == ["warranty"] and str(preview.change) == "add warranty"
    done = labels.relabel_call(rt, BOTH, add=["warranty"], create_labels=True, source="test")
    assert done.new == [*MULTI, "warranty"] and "warranty" in labels.known_labels(rt)
    labels.undo_relabel(rt, BOTH, done.entry)
    assert "warranty" not in labels.known_labels(rt)


def test_a_replace_keeps_the_other_labels_and_expect_guards_the_change(rt: Runtime) -> None:
    edit = labels.relabel_call(rt, BOTH, add=["account"], remove=["refund"], expect=MULTI)
    assert edit.new == ["account", "delivery_delay"]
    assert str(edit.change) == "replace refund with account"
    with pytest.raises(labels.LabelsChangedError, match="then: refund, delivery_delay"):
        labels.relabel_call(rt, BOTH, add=["refund"], expect=MULTI)
    labels.undo_relabel(rt, BOTH, edit.entry)
    assert rt.ledger.get(BOTH).labels == MULTI


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"call_id": "ghost", "add": ["refund"]}, "unknown id"),
        ({"call_id": BOTH}, "nothing to change"),
        ({"call_id": BOTH, "labels": ["refund"], "add": ["account"]}, "not both"),
        ({"call_id": BOTH, "labels": []}, "without a label"),
        ({"call_id": BOTH, "add": ["a;b"]}, "';'"),
        ({"call_id": BOTH, "add": ["unknown"]}, "classifier's answer"),
        ({"call_id": BOTH, "add": ["  "]}, "empty"),
    ],
)
def test_bad_changes_are_refused_with_a_clear_error(
    rt: Runtime, kwargs: dict[str, Any], error: str
) -> None:
    with pytest.raises(InputError, match=error):
        labels.relabel_call(rt, create_labels=True, **kwargs)
    assert rt.ledger.get(BOTH).labels == MULTI


def test_undo_refuses_what_it_cannot_restore(rt: Runtime) -> None:
    with pytest.raises(InputError, match="no label-history entry #424242"):
        labels.undo_relabel(rt, BOTH, 424242)
    with pytest.raises(labels.UnknownCallError):
        labels.undo_relabel(rt, "ghost", 1)
    # A content replacement keeps the labels: there is nothing to restore.
    entry = rt.ledger.add_history(BOTH, MULTI, MULTI, "content replaced (test)")
    with pytest.raises(InputError, match="did not change its labels"):
        labels.undo_relabel(rt, BOTH, entry)


def test_comparing_runs_shows_a_removed_secondary_label(rt: Runtime, run: dict[str, Any]) -> None:
    """A run keeps every label of a call, so removing a secondary label (not only a new
    primary) shows as a relabel between two runs, and the suspect as resolved."""
    edit = labels.relabel_call(rt, BOTH, remove=["delivery_delay"], source="test")
    try:
        after = label_runs.run_on_store(rt, adjudicate=0)
        diff = label_runs.compare(rt.settings, run["run_id"], after["run_id"])
    finally:
        labels.undo_relabel(rt, BOTH, edit.entry)
    assert {"id": BOTH, "from": "refund;delivery_delay", "to": "refund"} in diff["relabeled"]
    assert rt.ledger.get(BOTH).labels == MULTI
