"""The Quality tab (质检) in a real browser, in English and Chinese: load the starter pack, test
it on two calls without saving, save it (every stored call checked as a job), read a call's
evidence, and delete a rule (asked first; cancel keeps it) then restore it from its history.

Screenshots go to $CALLSCOPE_SCREENSHOTS when it is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.app.services.test_inspection import CALLS
from tests.textcalls import text_sources
from tests.ui.conftest import Served, fresh_runtime, open_tab, screenshot, served_app


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder: Any
) -> Iterator[Served]:
    """The app over four calls (a good and a bad one in each language)."""
    with fresh_runtime(tmp_path_factory, models_dir, embedder, "quality-ui") as runtime:
        assert {r.status for r in runtime.pipeline().run(text_sources(CALLS))} == {"indexed"}
        with served_app(runtime, "quality-ui-server") as served:
            yield served


TEXT = {
    "en-US": {
        "tab": "Inspection",
        "tested": "Nothing was saved",
        "yes": "yes",
        "saved": "Saved:",
        "checked": "Every stored call is checked",
        "severity": "critical",
        "asked": "Delete rule forbidden_phrase and what it found",
        "cancelled": "Nothing was deleted.",
        "deleted": "deleted",
        "restored": "restored; 4 calls checked again",
        "title": "Forbidden phrase",
        "history": "added",
    },
    "zh-CN": {
        "tab": "质检",
        "tested": "未保存任何内容",
        "yes": "是",
        "saved": "已保存：",
        "checked": "所有已存通话均已检查",
        "severity": "严重",
        "asked": "删除规则 forbidden_phrase 以及",
        "cancelled": "未删除任何内容。",
        "deleted": "已删除",
        "restored": "重新检查了 4 通电话",
        "title": "服务禁语",
        "history": "已新增",
    },
}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_write_test_save_review_and_undo_rules_in_the_browser(
    open_ui: Any, served: Served, locale: str
) -> None:
    text = TEXT[locale]
    page = open_ui(locale)
    open_tab(page, text["tab"])
    page.locator("#quality-starter").click()
    expect(page.locator("#quality-editor")).to_contain_text("no_greeting", timeout=60_000)
    page.locator("#quality-test-calls textarea").fill("zh-bad, en-good")
    page.locator("#quality-test").click()
    preview = page.locator("#quality-preview")
    expect(preview).to_contain_text("zh-bad", timeout=120_000)
    expect(page.locator("#quality-message")).to_contain_text(text["tested"])
    row = preview.get_by_role("row").filter(has_text="forbidden_phrase").first
    expect(row).to_contain_text("zh-bad")
    expect(row).to_contain_text(text["yes"])
    screenshot(page, f"quality-test-{locale}")

    page.locator("#quality-save").click()
    message = page.locator("#quality-message")
    expect(message).to_contain_text(text["checked"], timeout=120_000)
    expect(message).to_contain_text(text["saved"])
    rules = page.locator("#quality-rules")
    forbidden = rules.get_by_role("row").filter(has_text="forbidden_phrase")
    expect(forbidden).to_contain_text(text["severity"])
    assert served.runtime.rule_book.matched_calls("forbidden_phrase") == ["zh-bad"]

    # One call's results: the rule that matched, the turn that shows it.
    page.locator("#quality-check").locator("xpath=..").locator("textarea, input").first.fill(
        "zh-bad"
    )
    page.locator("#quality-check").click()
    results = page.locator("#quality-call")
    hit = results.get_by_role("row").filter(has_text=text["title"]).first
    expect(hit).to_contain_text("不关我的事", timeout=60_000)
    expect(hit).to_contain_text("00:20")
    screenshot(page, f"quality-call-{locale}")

    # Delete asks first: cancel keeps the rule; confirm deletes it; restore brings it back.
    page.locator("#quality-pick input").fill("forbidden_phrase")
    page.locator("#quality-pick input").press("Enter")
    expect(page.locator("#quality-history")).to_contain_text(text["history"])
    page.locator("#quality-delete").click()
    expect(message).to_contain_text(text["asked"])
    page.locator("#quality-cancel").click()
    expect(message).to_contain_text(text["cancelled"])
    assert "forbidden_phrase" in {r.name for r, _ in served.runtime.rule_book.rules()}
    page.locator("#quality-delete").click()
    page.locator("#quality-confirm").click()
    expect(message).to_contain_text(text["deleted"])
    expect(forbidden).to_have_count(0)
    assert served.runtime.calls.count({"categories": "forbidden_phrase"}) == 0
    page.locator("#quality-pick input").fill("forbidden_phrase")
    page.locator("#quality-pick input").press("Enter")
    page.locator("#quality-restore").click()
    expect(message).to_contain_text(text["restored"])
    expect(forbidden).to_have_count(1)
    assert served.runtime.calls.count({"categories": "forbidden_phrase"}) == 1


FORM_TEXT = {
    "en-US": {"form": "Write a rule with a form", "name": "agent_no_hello", "agent": "the agent",
              "where": "first N turns", "added": "written into the editor", "yes": "yes",
              "no": "no", "empty": "non-empty list of words", "or": "or (either)",
              "none": "no second condition"},
    "zh-CN": {"form": "用表单编写规则", "name": "坐席未问好", "agent": "坐席",
              "where": "前 N 轮发言", "added": "已写入编辑器", "yes": "是", "no": "否",
              "empty": "需要一个非空的词语或短语列表", "or": "或者（满足其一）",
              "none": "无第二个条件"},
}  # fmt: skip


def _pick(page: Any, element: str, text: str) -> None:
    box = page.locator(f"#{element} input")
    box.click()
    box.fill(text)
    page.get_by_role("option", name=text).first.click()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_rule_written_with_the_form_is_tested_in_the_browser(
    open_ui: Any, served: Served, locale: str
) -> None:
    """A supervisor who writes no YAML: "the agent did not say 您好/hello in the first turn",
    from the form into the editor, then tested on a bad and a good call."""
    text = FORM_TEXT[locale]
    page = open_ui(locale)
    open_tab(page, TEXT[locale]["tab"])
    page.locator("#rule-form").get_by_text(text["form"]).first.click()
    page.locator("#rule-form-name textarea").fill(text["name"])
    page.locator("#rule-form-add").click()  # no words yet: refused, in the page's language
    expect(page.get_by_text(text["empty"]).first).to_be_visible(timeout=60_000)
    for close in page.locator(".toast-close").all():
        close.click()
    page.locator("#rule-form-a-text textarea").fill("您好，hello")
    _pick(page, "rule-form-a-who", text["agent"])
    _pick(page, "rule-form-a-where", text["where"])
    page.locator("#rule-form-a-size input").fill("1")
    page.locator("#rule-form-a-absent input").check()
    expect(page.locator("#rule-form-b-text")).to_be_hidden()  # until a second is asked for
    _pick(page, "rule-form-join", text["or"])
    expect(page.locator("#rule-form-b-text")).to_be_visible()
    _pick(page, "rule-form-join", text["none"])
    page.locator("#rule-form-add").click()
    expect(page.locator("#quality-message")).to_contain_text(text["added"], timeout=60_000)
    editor = page.locator("#quality-editor")
    expect(editor).to_contain_text(text["name"])
    expect(editor).to_contain_text("first_turns")
    screenshot(page, f"quality-form-{locale}")

    page.locator("#quality-test-calls textarea").fill("zh-bad, en-good")
    page.locator("#quality-test").click()
    preview = page.locator("#quality-preview")
    expect(preview).to_contain_text("zh-bad", timeout=120_000)
    rows = preview.get_by_role("row").filter(has_text=text["name"])
    expect(rows.filter(has_text="zh-bad")).to_contain_text(text["yes"])  # "喂。"
    expect(rows.filter(has_text="en-good")).to_contain_text(text["no"])  # "Hello, thank you…"


CARD_TEXT = {
    "en-US": {"saved": "Saved:", "scored": "Scored", "verdict": "automatic score", "no": "no",
              "yes": "yes", "after": "after review 50"},
    "zh-CN": {"saved": "已保存：", "scored": "已为", "verdict": "自动评分", "no": "否",
              "yes": "是", "after": "复核后 50"},
}  # fmt: skip
CARD = """scorecards:
  - name: basic
    title: 基本评分表
    sections:
      - title: 开场
        questions:
          - {id: greeted, text: 坐席是否问候客户？, weight: 1, fails_on: no_greeting}
          - {id: polite, text: 坐席是否避免服务禁语？, weight: 1, fails_on: forbidden_phrase}
"""


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_scorecard_scored_opened_and_reviewed_in_the_browser(
    open_ui: Any, served: Served, locale: str
) -> None:
    from app.services import inspection

    if not served.runtime.rule_book.rules():
        inspection.save_rules(served.runtime, inspection.starter_rules(), by="setup")
    text, page = CARD_TEXT[locale], open_ui(locale)
    open_tab(page, TEXT[locale]["tab"])
    editor = page.locator("#scorecards-editor .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    editor.fill(CARD)  # CodeMirror's own content: what a person types
    page.locator("#scorecards-save").click()
    message = page.locator("#scorecards-message")
    expect(message).to_contain_text(text["saved"], timeout=60_000)
    page.locator("#scorecards-score").click()
    expect(message).to_contain_text(text["scored"], timeout=120_000)
    queue = page.locator("#scorecards-queue")
    if not served.runtime.card_book.reviews("basic", "zh-bad"):
        # The queue lists the unreviewed calls, lowest score first: zh-bad (0) on top.
        first = queue.get_by_role("row").nth(1)
        expect(first).to_contain_text("zh-bad", timeout=60_000)
        first.get_by_role("gridcell").first.click()
    else:  # reviewed in the other language's run: opened by its id
        expect(queue).not_to_contain_text("zh-bad", timeout=60_000)
        page.locator("#scorecards-call textarea").fill("zh-bad")
        page.locator("#scorecards-open").click()
    verdict = page.locator("#scorecards-verdict")
    expect(verdict).to_contain_text(text["verdict"], timeout=60_000)
    expect(page.locator("#scorecards-answers")).to_contain_text("不关我的事")
    # Overturn "greeted" with a comment: the reviewed score moves, the row says who.
    page.locator("#scorecards-question input").click()
    page.get_by_role("option", name="坐席是否问候客户？").click()
    page.locator("#scorecards-value input").click()
    page.get_by_role("option", name=text["yes"], exact=True).click()
    page.locator("#scorecards-comment textarea").fill("问候了（喂）")
    page.locator("#scorecards-send").click()
    expect(page.locator("#scorecards-answers")).to_contain_text("问候了（喂）", timeout=60_000)
    expect(verdict).to_contain_text(text["after"])
    screenshot(page, f"scorecard-review-{locale}")
    reviews = served.runtime.card_book.reviews("basic", "zh-bad")
    assert reviews[-1]["value"] == "yes" and reviews[-1]["automatic"] == "no"


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_insights_show_scores_and_a_bad_rule_is_refused_in_the_pages_language(
    open_ui: Any, served: Served, locale: str
) -> None:
    from app.services import inspection, scorecards

    if not served.runtime.rule_book.rules():
        inspection.save_rules(served.runtime, inspection.starter_rules(), by="setup")
    scorecards.save_scorecards(served.runtime, CARD, by="setup")
    scorecards.score_calls(served.runtime, "basic", use_llm=False)
    page = open_ui(locale)
    open_tab(page, "洞察" if locale == "zh-CN" else "Insights")
    page.locator("#insights-run").click()
    weeks = page.locator("#insights-weeks")
    expect(weeks).to_contain_text("★ 基本评分表", timeout=120_000)
    screenshot(page, f"insights-scores-{locale}")

    open_tab(page, TEXT[locale]["tab"])
    editor = page.locator("#quality-editor .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    editor.fill("- {name: greeting, level: high, when: {said: {any: [您好]}}}")
    page.locator("#quality-test").click()
    said = "不认识的键" if locale == "zh-CN" else "unknown key"
    expect(page.get_by_text(said).first).to_be_visible(timeout=60_000)
