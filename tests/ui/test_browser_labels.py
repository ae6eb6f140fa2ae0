"""The Label-quality tab in a real browser over the real app (see conftest), with two
multi-label calls added to the served corpus for this module (removed after): a real run
whose progress moves, the suspects with every label, the suggested change and the reasons in
words, the transcript beside the table, accepting with a confirmation that says exactly what
changes, a new label created only after a confirmation, and undo; in English and in Chinese.

With ``CALLSCOPE_SCREENSHOTS=<dir>`` each test also saves screenshots there."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from app.services import calls as calls_service
from tests.labelcalls import BOTH, MULTI, ONLY_DELIVERY
from tests.labelcalls import calls as label_calls
from tests.textcalls import text_sources
from tests.ui.conftest import Served, open_tab, screenshot
from ui.i18n import t
from ui.label_quality import STAGE_KEYS


@pytest.fixture(scope="module")
def multi_label(served: Served) -> Iterator[Served]:
    """The served corpus plus the two refund;delivery_delay calls, for this module only."""
    added = {k: v for k, v in label_calls().items() if k in (ONLY_DELIVERY, BOTH)}
    results = served.runtime.pipeline().run(text_sources(added))
    assert {r.status for r in results} == {"indexed"}
    yield served
    for call_id in added:
        calls_service.delete_call(served.runtime, call_id)


def _labels(served: Served, call_id: str) -> list[str]:
    row = served.runtime.ledger.get(call_id)
    assert row is not None
    return list(row.labels)


def _value(page: Any, elem_id: str) -> Any:
    return page.locator(f"#{elem_id} input, #{elem_id} textarea").first


def _run(page: Any, lang: str) -> set[str]:
    """Start a run from the tab and wait for it; returns the progress notes seen."""
    open_tab(page, t("tab.label_quality", lang))
    page.locator("#lq-start").click()
    progress, seen = page.locator("#lq-progress"), set()
    deadline = time.monotonic() + 180
    done = t("lq.done", lang).split("{")[0]
    while time.monotonic() < deadline:
        note = progress.inner_text()
        if "%" in note:
            seen.add(note)
        if note.startswith(done):
            break
        time.sleep(0.1)
    page.locator("#lq-summary").get_by_text(re.compile(r"health|健康度")).wait_for()
    return seen


def _open_suspect(page: Any, lang: str, call_id: str) -> None:
    open_tab(page, t("tab.label_quality", lang))
    cell = page.locator("#lq-suspects").get_by_role("gridcell", name=call_id, exact=True)
    cell.wait_for()
    cell.click()
    expect(_value(page, "lq-call")).to_have_value(call_id)


def test_a_run_moves_and_a_multi_label_suggestion_is_confirmed_then_undone(
    open_ui: Any, multi_label: Served
) -> None:
    served = multi_label
    page = open_ui()
    seen = _run(page, "en")
    # The progress is a percentage and the stage in words, not "0 reading ..." (how many steps
    # a poll catches depends on the machine's speed: that the run's progress moves through
    # its stages is tests/app/services/test_labels.py's).
    assert seen and all(re.search(r"\d+%", n) for n in seen), seen
    stages = [t(f"lq.stage.{key}") for key in STAGE_KEYS.values()]
    assert all(any(stage in n for stage in stages) for n in seen), seen

    table = page.locator("#lq-suspects")
    row = table.get_by_role("row").filter(has_text=ONLY_DELIVERY)
    # Every label of the call, the suggestion as a change, the reason in words.
    expect(row).to_contain_text("refund, delivery_delay")
    expect(row).to_contain_text("remove refund")
    expect(row).to_contain_text("nothing in the call supports one of its labels")
    assert "unsupported_label" not in table.inner_text()
    assert BOTH not in table.inner_text()  # both its labels have evidence: not a suspect
    screenshot(page, "label-quality-multi-en")

    _open_suspect(page, "en", ONLY_DELIVERY)
    transcript = page.locator("#lq-transcript")
    transcript.get_by_text("My parcel is late", exact=False).wait_for()
    expect(_value(page, "lq-suggested")).to_have_value("remove refund")

    page.locator("#lq-accept").click()
    confirm = page.locator("#lq-confirm-text")
    confirm.get_by_text(f"Confirm the change to {ONLY_DELIVERY}: remove refund.").wait_for()
    expect(confirm).to_contain_text("Labels now: refund, delivery_delay → after: delivery_delay")
    screenshot(page, "label-quality-confirm-en")
    assert _labels(served, ONLY_DELIVERY) == MULTI  # nothing written before the yes
    page.locator("#lq-confirm").click()
    message = page.locator("#lq-message")
    message.get_by_text(f"Changed {ONLY_DELIVERY}: remove refund").wait_for()
    assert _labels(served, ONLY_DELIVERY) == ["delivery_delay"]
    expect(page.locator("#lq-confirm-box")).to_be_hidden()
    expect(row).to_contain_text(re.compile(r"delivery_delay\s*$"))

    page.locator("#lq-undo").click()
    message.get_by_text(f"Undone on {ONLY_DELIVERY}").wait_for()
    assert _labels(served, ONLY_DELIVERY) == MULTI
    transcript.get_by_text(re.compile(r"undo #\d+ \(ui\)")).wait_for()
    screenshot(page, "label-quality-undone-en")


def test_in_chinese_a_new_label_is_created_only_after_a_confirmation(
    open_ui: Any, multi_label: Served
) -> None:
    served = multi_label
    page = open_ui("zh-CN")
    seen = _run(page, "zh-CN")
    stages = [t(f"lq.stage.{key}", "zh-CN") for key in STAGE_KEYS.values()]
    assert seen and all(any(stage in n for stage in stages) for n in seen), seen
    _open_suspect(page, "zh-CN", ONLY_DELIVERY)
    table = page.locator("#lq-suspects")
    row = table.get_by_role("row").filter(has_text=ONLY_DELIVERY)
    expect(row).to_contain_text("refund、delivery_delay")
    expect(row).to_contain_text("移除 refund")
    expect(row).to_contain_text("通话内容不支持其中一个标签")
    expect(table.get_by_role("columnheader").filter(has_text="建议修改").first).to_be_visible()
    expect(_value(page, "lq-suggested")).to_have_value("移除 refund")
    page.locator("#lq-transcript").get_by_text("My parcel is late", exact=False).wait_for()

    # Type a label no call has into the label editor, and save.
    editor = page.locator("#lq-editor input")
    editor.fill("保修")
    editor.press("Enter")
    page.locator("#lq-save").click()
    confirm = page.locator("#lq-confirm-text")
    confirm.get_by_text("添加 保修").wait_for()
    expect(confirm).to_contain_text("还没有任何通话使用标签 保修：确认后将新建该标签。")
    screenshot(page, "label-quality-new-label-zh")
    page.locator("#lq-cancel").click()
    page.locator("#lq-message").get_by_text("未做任何修改。").wait_for()
    assert _labels(served, ONLY_DELIVERY) == MULTI

    page.locator("#lq-save").click()
    confirm.get_by_text("添加 保修").wait_for()
    page.locator("#lq-confirm").click()
    page.locator("#lq-message").get_by_text(f"已修改 {ONLY_DELIVERY}：添加 保修").wait_for()
    assert _labels(served, ONLY_DELIVERY) == [*MULTI, "保修"]
    screenshot(page, "label-quality-changed-zh")

    page.locator("#lq-undo").click()
    page.locator("#lq-message").get_by_text(f"已撤销 {ONLY_DELIVERY} 的修改").wait_for()
    assert _labels(served, ONLY_DELIVERY) == MULTI
