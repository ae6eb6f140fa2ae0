"""The call view's line of how the call went."""

from __future__ import annotations

from ui.calls import metrics_markdown


def test_metrics_line_in_english_and_chinese() -> None:
    how = {
        "speakers": "voices",
        "duration": 125.0,
        "agent_talk_share": 0.62,
        "longest_silence": 61.5,
        "interruptions": 2.0,
    }
    en = metrics_markdown(how, "en")
    assert "told apart by voice" in en and "2:05" in en
    assert "**Agent talk** 62%" in en and "**Longest silence** 61.5 s" in en
    assert "**Interruptions** 2" in en and "Customer talk" not in en
    zh = metrics_markdown(how, "zh-CN")
    assert "按声音区分" in zh and "最长静默" in zh


def test_no_metrics_no_line() -> None:
    assert metrics_markdown({}, "en") == ""
    assert "uncertain" in metrics_markdown({"speakers": "uncertain"}, "en")
