"""The services' messages in the page's language (``ui.messages``): each frame still matches what
the service really says (made by calling it where that is cheap), an English page shows the
service's words unchanged, a Chinese page the same sentence in Chinese with the same data and no
English outside data and code; job progress, label-run warnings and label-history sources."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from app.core.errors import InputError, LLMError
from app.core.filters import CallFilter, metric_bound
from app.services.insights import InsightsQuery
from app.services.inspection import read_rules
from app.services.labels import LabelsChangedError
from app.services.topics import clean_label
from tests.ui.page_text import ALLOWED
from ui.calls import check_dates
from ui.i18n import t
from ui.insights import build_query
from ui.messages import (
    _ERROR_FRAMES,
    error_text,
    job_message,
    known_text,
    refusal,
    source_text,
    toast_html,
)

FIELDS = ["agent", "team"]
_RULE = "- {name: greeting, severity: high, when: {said: {speaker: agent, any: [您好]}}}\n"


def _raised(call: Callable[[], Any]) -> Exception:
    with pytest.raises(InputError) as caught:
        call()
    return caught.value


#: A real refusal of each service (or UI helper) whose message is known.
REFUSALS = {
    "msg.date_bad": lambda: check_dates("2026-13-01", None),
    "msg.date_order": lambda: CallFilter(date_from=date(2026, 2, 1), date_to=date(2026, 1, 1)),
    "msg.low_confidence": lambda: InsightsQuery(low_confidence=7),
    "msg.metric_unknown": lambda: metric_bound("silence>=1"),
    "msg.metric_syntax": lambda: metric_bound("duration>="),
    "msg.metric_number": lambda: CallFilter(metrics=(("duration", "gte", float("inf")),)),
    "msg.metric_twice": lambda: CallFilter.parse(["turns>=1", "turns>=2"]).spec(),
    "msg.filter_value": lambda: CallFilter.parse(["agent="], FIELDS),
    "msg.filter_date": lambda: CallFilter.parse(["date>=2026-13-01"], FIELDS),
    "msg.filter_range": lambda: CallFilter.parse(["agent>=3"], FIELDS),
    "msg.filter_key": lambda: CallFilter.parse(["region=eu"], FIELDS),
    "msg.filter_grammar": lambda: CallFilter.parse(["refund"], FIELDS),
    "msg.filter_empty": lambda: CallFilter(labels=("",)),
    "msg.metadata_builtin": lambda: CallFilter(metadata=(("labels", ("x",)),)),
    "msg.metadata_syntax": lambda: build_query("", "", "label=refund", "", "both", None, FIELDS),
    "msg.label_empty": lambda: clean_label(" "),
    "msg.label_chars": lambda: clean_label("a;b"),
    "msg.label_long": lambda: clean_label("x" * 81),
    "msg.label_unknown": lambda: clean_label("Unknown"),
    "msg.rule_list": lambda: read_rules("[]"),
    "msg.rule_twice": lambda: read_rules(_RULE * 2),
    "msg.rule_key": lambda: read_rules(_RULE.replace("severity", "level")),
    "msg.rule_said": lambda: read_rules(_RULE.replace("any: [您好]", "any: [您好], all: [x]")),
    "msg.rule_words": lambda: read_rules(_RULE.replace("[您好]", "[]")),
    "msg.rule_severity": lambda: read_rules(_RULE.replace("high", "urgent")),
    "msg.rule_no_when": lambda: read_rules("- {name: greeting}"),
    "msg.rule_metric": lambda: read_rules("- {name: greeting, when: {metric: 'noise>=3'}}"),
    "msg.rule_speaker": lambda: read_rules(_RULE.replace("agent", "boss")),
    "msg.rule_name": lambda: read_rules("- {name: Greeting Rule, when: {metric: 'turns>=3'}}"),
}
#: Messages the services build with data that is costly to reach here, as they write them.
SAID = {
    "msg.no_call": "no call 'c9'",
    "msg.not_transcribed": "no transcribed call 'c9'",
    "msg.no_speech": "no speech or text to classify",
    "msg.no_suggestion": "label run 3 suggests no change for 'c9'",
    "msg.not_in_topic": "not calls of topic 2: a1, b2",
    "msg.topic_changed": "labels changed since the run (refund, account)",
    "msg.few_examples": "label 'warranty' has only 1 example: too few to learn from or to check "
    "well (labels.min_examples=5)",
    "msg.rule_in_card": "rule 'forbidden' answers a question of scorecard 'standard': change the "
    "scorecard first (or delete it)",
    "msg.unscored": "2 row(s) could not be scored (see the reasons column), first: row 7: "
    "unreadable: calls.csv: no label",
}
#: Latin words a Chinese message may hold: allowed names, and the data of the samples (ids,
#: labels, a value typed, a file and its error as an unscored row's reason gives them).
DATA = ALLOWED | {"c9", "a1", "b2", "refund", "account", "warranty", "eu", "x", "inf"}
DATA |= {"calls", "csv", "no", "label"}


def _english(zh: str) -> list[str]:
    """Latin words outside code, quoted data and filter syntax."""
    text = re.sub(r"`[^`]*`|'[^']*'|[\w.]+\s*(?:>=|<=|=|<|>)\s*[\w.-]*", " ", zh)
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]*", text) if w not in DATA]


def _messages() -> dict[str, str]:
    return {**{k: str(_raised(call)) for k, call in REFUSALS.items()}, **SAID}


@pytest.mark.parametrize(("key", "message"), sorted(_messages().items()))
def test_a_known_message_is_said_in_chinese_around_its_data(key: str, message: str) -> None:
    frame = next((p for p, k in _ERROR_FRAMES if k == key), None)
    assert frame is not None and (found := frame.fullmatch(message)), (key, message)
    # The English text of the frame is the service's sentence (the frame has not drifted).
    assert t(key, "en").format(**found.groupdict()) == message
    assert error_text(message, "en") == message
    zh = error_text(InputError(message), "zh-CN")
    assert zh != message and message not in zh, zh  # not the fallback around the English
    assert not _english(zh), (zh, _english(zh))


def test_every_key_of_a_frame_is_tested() -> None:
    assert {k for _, k in _ERROR_FRAMES} - set(_messages()) <= {
        "msg.date_range",
        "msg.no_previous",
        "msg.too_long",
        "msg.no_words",
        "msg.starting",
        "msg.no_citation",  # the notes on answers: test_an_answers_note_is_said_in_chinese
        "msg.answer_no_words",
        "msg.answer_other_language",
        "msg.answer_model_not_found",
    }


def test_an_answers_note_is_said_in_chinese() -> None:
    from retrieval.qa.engine import MODEL_NOT_FOUND, NO_VALID_CITATION, NO_WORDS, OTHER_LANGUAGE

    for note in (NO_VALID_CITATION, NO_WORDS, OTHER_LANGUAGE, MODEL_NOT_FOUND):
        zh = known_text(note, "zh-CN")
        assert known_text(note, "en") == note and zh != note and not _english(zh), zh


def test_a_chinese_message_keeps_its_data_and_shows_names_as_code() -> None:
    zh = error_text(_raised(REFUSALS["msg.date_bad"]), "zh-CN")
    assert zh == "开始日期 '2026-13-01' 不是有效日期：请写成 年-月-日，例如 2026-10-01"
    zh = error_text(_raised(REFUSALS["msg.metric_unknown"]), "zh-CN")
    assert zh.startswith("没有名为 `silence` 的通话指标；可用的指标：`duration`、`turns`、")
    assert "<code>silence</code>" in toast_html(zh)


def test_an_unknown_error_is_framed_by_its_kind_with_its_own_words() -> None:
    assert error_text(LLMError("HTTP 502 from the endpoint"), "zh-CN") == (
        "大模型服务出错（HTTP 502 from the endpoint）"
    )
    changed = LabelsChangedError("'c9': labels are now ['a']")
    assert error_text(changed, "zh-CN").startswith("该通话的标签在此期间已被修改")
    assert error_text("something odd", "zh-CN") == "出错了（something odd）"
    assert error_text(LLMError("HTTP 502"), "en") == "HTTP 502"


def test_a_toast_is_escaped_html() -> None:
    toast = refusal(InputError("metric filter 'a<b': unknown metric; use one of x, y"), "en")
    assert "a&lt;b" in str(toast.message)
    assert toast_html("use `x` & `y`") == "use <code>x</code> &amp; <code>y</code>"


@pytest.mark.parametrize(
    ("message", "zh"),
    [
        ("done", "已完成"),
        ("cancelled before it started", "开始前已取消"),
        ("indexed 3/5 (failed 1, indexed 2)", "已索引 3/5（失败 1、已索引 2）"),
        ("importing 12 rows", "正在导入 12 行"),
        ("classifying call-7.wav", "正在分类 call-7.wav"),
        ("4 calls to process (2 done before)", "待处理 4 个通话（之前已完成 2 个）"),
        ("reading the labeled calls", "正在读取已标注的通话"),
        ("internal error: KeyError", "内部错误：KeyError"),
        ("something new", "something new"),  # a step of a newer version: as it is
    ],
)
def test_a_job_s_progress_is_said_in_chinese(message: str, zh: str) -> None:
    assert job_message(message, "zh-CN") == zh
    assert job_message(message, "en") == message


def test_label_history_sources_and_warnings_in_chinese() -> None:
    assert source_text("label run 3 (ui)", "zh-CN") == "标签检查 3（界面）"
    assert source_text("undo #12 (api)", "zh-CN") == "撤销 #12（API）"
    assert source_text("ui call view", "zh-CN") == "界面（通话详情）"
    assert source_text("someone", "zh-CN") == "someone"
    assert source_text("undo #12 (api)", "en") == "undo #12 (api)"
    warning = SAID["msg.few_examples"]
    assert known_text(warning, "zh-CN").startswith("标签 'warranty' 只有 1 个示例")
    assert known_text("a warning of a newer version", "zh-CN") == "a warning of a newer version"
