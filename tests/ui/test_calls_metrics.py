"""The call view's line of how the call went, and the Calls tab's filter box."""

from __future__ import annotations

import html
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest

from ui.calls import metrics_markdown, typed_filter


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
    assert "按声音区分" in zh and "**最长静默** 61.5 秒" in zh


def test_no_metrics_no_line() -> None:
    assert metrics_markdown({}, "en") == ""
    assert "uncertain" in metrics_markdown({"speakers": "uncertain"}, "en")


def _ctx() -> Any:
    from app.core.config import load_settings

    return SimpleNamespace(runtime=SimpleNamespace(settings=load_settings()))


def test_the_filter_box_reads_metadata_and_metric_bounds_as_people_type_them() -> None:
    typed = typed_filter(_ctx(), "agent=Li, Wang，longest_silence＞＝60", "en")
    assert typed.metadata == (("agent", ("Li", "Wang")),)
    assert typed.metrics == (("longest_silence", "gte", 60.0),)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_a_wrong_filter_names_what_the_box_takes(lang: str) -> None:
    with pytest.raises(gr.Error) as wrong:
        typed_filter(_ctx(), "split=test", lang)
    said = str(wrong.value.message)  # a toast shows HTML: the names it takes are code
    assert "split=test" in said and "<code>longest_silence</code>" in said and "agent" in said
    assert "call_id" not in said  # internal keys are not offered
    with pytest.raises(gr.Error) as wrong:
        typed_filter(_ctx(), "duration=60", lang)
    assert "duration>=60" in html.unescape(str(wrong.value.message))


@pytest.mark.parametrize(
    ("source", "lang", "said"),
    [
        ("file", "en", "**Date** 2026-11-24 09:30:00 (file time)"),
        ("file", "zh-CN", "**日期** 2026-11-24 09:30:00 (文件时间)"),
        ("upload", "en", "**Date** 2026-11-24 09:30:00 (upload time)"),
        ("call", "en", "**Date** 2026-11-24 09:30:00\n"),
    ],
)
def test_a_date_that_is_not_the_calls_own_says_where_it_came_from(
    source: str, lang: str, said: str
) -> None:
    from ui.call_view import date_markdown

    view = SimpleNamespace(row=SimpleNamespace(date="2026-11-24T09:30:00"), date_source=source)
    assert date_markdown(view, lang).startswith(said)  # type: ignore[arg-type]
