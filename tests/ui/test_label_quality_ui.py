"""The Label-quality tab's texts without a browser: suspects with every label, the suggested
change and the reasons in words (English and Chinese), and a run's progress that moves."""

from __future__ import annotations

from types import SimpleNamespace

from app.services.label_runs import STAGES, LabelIssue
from eval.quality.progress import Tracker
from ui.i18n import EN, ZH
from ui.label_quality import STAGE_KEYS, progress_note, suspects, table_rows
from ui.label_review import change_text, reasons_text


def _issues() -> list[LabelIssue]:
    return [
        LabelIssue(0, "a", "refund", "refund", 0.1, given_labels=["refund"]),
        LabelIssue(
            1,
            "demo-041",
            "refund",
            "delivery_delay",
            0.7,
            reasons=["unsupported_label"],
            flagged=True,
            given_labels=["refund", "delivery_delay"],
            remove=["refund"],
        ),
        LabelIssue(
            2,
            "c",
            "account",
            "refund",
            0.9,
            reasons=["other_label_confident", "near_duplicate_conflict"],
            flagged=True,
            conflicts=["x1", "x2"],
            add=["refund"],
            remove=["account"],
        ),
    ]


def test_suspects_show_every_label_the_change_and_reasons_in_words() -> None:
    found = suspects(_issues(), {"demo-041": ["refund", "delivery_delay"], "c": ["refund"]})
    assert [s["id"] for s in found] == ["c", "demo-041"]
    en = table_rows(found, "en")
    assert en[1] == [
        "demo-041",
        "refund, delivery_delay",
        "remove refund",
        0.7,
        "nothing in the call supports one of its labels",
        "refund, delivery_delay",
    ]
    assert en[0][2] == "replace account with refund"
    assert en[0][4] == (
        "another label fits better, an almost identical call has other labels (x1, x2)"
    )
    zh = table_rows(found, "zh-CN")
    assert zh[1][1:3] == ["refund、delivery_delay", "移除 refund"]
    assert zh[0][2] == "将 account 改为 refund"
    assert zh[0][4] == "另一个标签更符合、一个几乎相同的通话标签不同（x1, x2）"
    # No reason code is left untranslated in either language.
    for row in (*en, *zh):
        assert "_" not in row[4]


def test_change_texts_in_both_languages() -> None:
    assert (
        change_text(["x"], [], "en") == "add x" and change_text([], [], "en") == "keep the labels"
    )
    assert change_text(["x", "y"], ["z"], "zh-CN") == "移除 z; 添加 x、y"
    assert reasons_text(["small_label", "outlier"], [], "zh-CN") == (
        "该标签的通话太少，无法检查、与同标签的其他通话差别很大"
    )


def test_every_stage_has_words_in_both_languages() -> None:
    assert set(STAGE_KEYS) == set(STAGES)
    for key in STAGE_KEYS.values():
        assert EN[f"lq.stage.{key}"] and ZH[f"lq.stage.{key}"]


def test_progress_moves_through_the_run_and_says_the_stage() -> None:
    """Before, a store run reported "0 reading the labeled calls" and then nothing the UI
    could show until the end: the light model (most of the run) had one report at its start."""
    seen: list[tuple[int, str]] = []
    track = Tracker(lambda done, total, stage: seen.append((done, stage)))
    track(STAGES[1])
    for stage in STAGES[2:4]:
        track(stage)
    for fold in range(5):
        track(STAGES[4], fold / 5)
    track(STAGES[6])
    track(STAGES[6], 0.5)
    percents = [done for done, _ in seen]
    assert percents == sorted(percents) and percents[-1] < 100
    # The light model's folds each move the bar.
    model = [done for done, stage in seen if stage == STAGES[4]]
    assert len(set(model)) == 5 and model[-1] - model[0] >= 50
    job = SimpleNamespace(id="j1", state="running", done=45, total=100, message=STAGES[4])
    assert progress_note(job, "en") == "Job `j1`: 45% · cross-checking with the light model"
    assert progress_note(job, "zh-CN") == "任务 `j1`：45% · 正在用轻量模型交叉验证"
    queued = SimpleNamespace(id="j1", state="queued", done=0, total=None, message="")
    assert "waiting" in progress_note(queued, "en")


def test_a_finished_run_reports_100_percent() -> None:
    seen: list[int] = []
    track = Tracker(lambda done, total, stage: seen.append(done), indexing=True, llm=True)
    track(STAGES[0], 0.5)
    track.finished()
    assert seen[-1] == 100 and seen[0] < 50


def test_reasons_without_ids_or_unknown_codes_still_read_well() -> None:
    assert reasons_text(["near_duplicate_conflict"], [], "en") == (
        "an almost identical call has other labels"
    )
    assert reasons_text(["near_duplicate_conflict"], [], "zh-CN") == "一个几乎相同的通话标签不同"
    assert reasons_text(["some_new_reason {x}"], [], "en") == "some_new_reason {x}"
