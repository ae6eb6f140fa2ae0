"""The Calls tab's Summarize button without a browser: the Markdown in both languages, the call a
table click opens, and the handler over a real runtime and the local OpenAI-compatible server."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest

from app.core.models import FollowUp, SummaryPoint, Transcript, Turn, TurnRef
from app.runtime import Runtime
from app.services.summary import NO_LLM, SummaryResult
from retrieval.llm.summary import CallSummary
from retrieval.llm.turn_lines import PromptWindow
from tests.llm_fixtures import fast_llm_settings, llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply
from ui.summary import open_for_summary, summarize_handler, summary_markdown

TURN2 = TurnRef(2, 6.0, 9.0, "customer", "My router keeps dropping.")
TURN3 = TurnRef(3, 85.0, 90.0, "agent", "A technician comes on Friday.")
SUMMARY = CallSummary(
    reason=SummaryPoint("The router drops the connection.", [TURN2]),
    outcome=SummaryPoint("A visit was booked.", [TURN3], ["9"]),
    follow_ups=[FollowUp("Technician visit", [], by="agent", due="Friday")],
    window=PromptWindow(frozenset({1, 2, 3})),
    flags=["invalid_citations", "uncited"],
    prompt_hash="h",
    cached=False,
    redactions={"phone": 1},
)


def _request(lang: str = "en") -> Any:
    return SimpleNamespace(headers={"accept-language": lang})


def test_summary_markdown_cites_turns_in_both_languages() -> None:
    result = SummaryResult("c1", SUMMARY, model="m", note="Turns T5–T9 were not sent.")
    en = summary_markdown(result, "en")
    assert "**Reason**: The router drops the connection. `[T2 00:06 customer]`" in en
    assert "**Outcome**: A visit was booked. `[T3 01:25 agent]` _(citations of turns the " in en
    assert "- Technician visit (agent, Friday) _(no cited turn)_" in en
    assert "_Turns T5–T9 were not sent._" in en
    assert "redacted before sending: phone number × 1" in en
    zh = summary_markdown(result, "zh-CN")
    assert "**来电原因**: The router drops the connection. `[第2句 00:06 客户]`" in zh
    assert "**承诺的后续事项**" in zh and "发送前已脱敏: 电话号码 × 1" in zh


def test_the_turns_not_sent_are_said_in_chinese_with_their_times() -> None:
    window = PromptWindow(frozenset({1, 2, 10}), omitted=(3, 9), shortened=(2,))
    result = SummaryResult("c1", replace(SUMMARY, window=window), model="m", note="The call...")
    turns = [Turn("agent", "x", float(10 * i), float(10 * i + 5)) for i in range(10)]
    zh = summary_markdown(result, "zh-CN", turns)
    assert "中间的第3句至第9句（00:20–01:25）没有发送给模型" in zh
    assert "过长的轮次发送时被截短（省去了中间部分）：第2句。" in zh
    assert "The call" not in zh and "_The call..._" in summary_markdown(result, "en", turns)
    assert "中间的第3句至第9句没有发送给模型" in summary_markdown(result, "zh-CN")


def test_a_skipped_summary_says_why_in_the_reader_s_language() -> None:
    assert "未配置大模型" in summary_markdown(SummaryResult("c1", skipped=NO_LLM), "zh-CN")
    empty = summary_markdown(SummaryResult("c1", skipped="call 'c1' has no words"), "en")
    assert empty == "_Summary skipped: call 'c1' has no words_"
    why = "call 'c1' has no words to summarize (state: pending)"
    assert summary_markdown(SummaryResult("c1", skipped=why), "zh-CN") == (
        "_未生成摘要: 通话 'c1' 没有可摘要的内容（状态：pending）_"
    )


def test_a_table_click_names_the_call_and_clears_the_old_summary() -> None:
    rows = [{"call_id": "a"}, {"call_id": "b"}]
    assert open_for_summary(rows, gr.SelectData(None, {"index": [1, 3], "value": "x"})) == (
        "b",
        "",
    )
    skipped = open_for_summary(rows, gr.SelectData(None, {"index": [5, 0], "value": "x"}))
    assert all(isinstance(part, dict) and part.get("__type__") == "update" for part in skipped)


def test_the_button_summarizes_the_open_call(runtime: Runtime, llm_server: FakeLLMServer) -> None:
    runtime.settings.llm = fast_llm_settings(llm_server, max_retries=0)
    turns = [Turn("agent", "Hello."), Turn("customer", "My router keeps dropping.", 6.0, 9.0)]
    runtime.ledger.upsert(
        "r1",
        collection="calls",
        kind="text",
        origin="r1.txt",
        content_hash="h",
        state="indexed",
        transcript=Transcript(turns),
    )
    summarize = summarize_handler(SimpleNamespace(runtime=runtime))  # type: ignore[arg-type]
    llm_server.enqueue(
        Reply.json(
            {
                "reason": {"text": "路由器掉线", "turns": [2]},
                "outcome": {"text": "已预约上门", "turns": [2]},
                "follow_ups": [],
            }
        )
    )
    text = summarize("r1", _request("zh-CN"))
    assert "**来电原因**: 路由器掉线 `[第2句 00:06 客户]`" in text and "无承诺事项" in text
    assert summarize("gone", _request()) == "This call is no longer in the ledger."
    with pytest.raises(gr.Error):
        summarize(None, _request())  # no call open yet
    # A changed transcript is a new prompt (no stale cached summary): the failing LLM is asked.
    llm_server.default = Reply.error(500)
    runtime.ledger.upsert("r1", transcript=Transcript(turns[::-1]))
    with pytest.raises(gr.Error, match="500"):
        summarize("r1", _request())
    assert len(llm_server.requests) == 2
