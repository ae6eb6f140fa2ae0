"""Issue 23 in a real browser, in English and Chinese, over calls full of boilerplate: a mobile
operator's 24 new calls (English and Chinese, roaming / eSIM / broken screen, every one with the
company's greeting, closing and a filler turn) beside labeled calls of other reasons.

Topics: named (the Name column is never empty), runs listed by when they ran (not by the
clustering method), and "Make it a label" asks first: cancel changes nothing, confirm labels.
Ask: evidence cited in the order listed, the speaker once, no greeting or filler cited.

Screenshots go to $CALLSCOPE_SCREENSHOTS when it is set."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.telecomcalls import chinese_calls, english_calls
from tests.textcalls import text_sources
from tests.ui.conftest import Served, fresh_runtime, open_tab, screenshot, served_app
from tests.ui.corpus import calls as labeled_calls


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder: Any
) -> Iterator[Served]:
    """The app over this module's corpus, on a free local port (like conftest's ``served``)."""
    with fresh_runtime(tmp_path_factory, models_dir, embedder, "topics-ui") as runtime:
        calls = {**labeled_calls(), **english_calls(), **chinese_calls()}
        assert {r.status for r in runtime.pipeline().run(text_sources(calls))} == {"indexed"}
        with served_app(runtime, "topics-ui-server") as served:
            yield served


TEXT = {
    "en": {
        "tab": "Topics",
        "discover": "Discover topics",
        "apply": "Make it a label",
        "confirm": "Yes, label them",
        "cancel": "Cancel",
        "asked": "Nothing changes until you confirm",
        "cancelled": "Cancelled: no call was labeled.",
        "labeled": "Labeled",
        "theme": "esim",
        "label": "esim_problems",
    },
    "zh-CN": {
        "tab": "话题",
        "discover": "发现话题",
        "apply": "设为标签",
        "confirm": "确认设为标签",
        "cancel": "取消",
        "asked": "确认之前不会做任何修改",
        "cancelled": "已取消：没有通话被设定标签。",
        "labeled": "已为话题",
        "theme": "屏幕",
        "label": "屏幕损坏",
    },
}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_topics_are_named_and_labeling_asks_first(
    open_ui: Any, served: Served, locale: str
) -> None:
    text = TEXT["en" if locale == "en-US" else "zh-CN"]
    page = open_ui(locale)
    open_tab(page, text["tab"])
    # The tab opens on the latest run (the other language's, when it ran first): wait for the
    # new run to be listed, not for a row of the old one.
    runs_box = page.locator("#topics-runs input")
    clicked = datetime.now().replace(microsecond=0)
    page.get_by_role("button", name=text["discover"]).click()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # runs are named by when they ran (local time)
        shown = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) · ", runs_box.input_value())
        if shown and datetime.fromisoformat(shown.group(1)) >= clicked:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"no new run listed: {runs_box.input_value()!r}")
    table = page.locator("#topics-table")
    row = table.get_by_role("row").filter(has_text=text["theme"]).first
    expect(row).to_be_visible(timeout=120_000)
    # The Name column (the third) of every topic says what it is about.
    rows = table.get_by_role("row")
    for i in range(1, rows.count()):
        name = rows.nth(i).get_by_role("gridcell").nth(2).inner_text().strip()
        assert name and "·" in name, name
    body = page.locator("#topics-summary").inner_text() + page.locator("#topics-runs").inner_text()
    runs = page.locator("#topics-runs input").input_value()
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d · ", runs), runs
    assert "agglomerative" not in body + runs and "Northwind" not in table.inner_text()
    assert "北风" not in table.inner_text()

    row.get_by_role("gridcell").nth(1).click()
    expect(page.locator("#topics-detail")).to_contain_text(text["theme"])
    page.locator("#topics-label textarea, #topics-label input").first.fill(text["label"])
    page.get_by_role("button", name=text["apply"]).click()
    message = page.locator("#topics-message")
    expect(message).to_contain_text(text["asked"])
    screenshot(page, f"topics-confirm-{locale}")
    # Cancelled: nothing changed.
    page.get_by_role("button", name=text["cancel"]).click()
    expect(message).to_contain_text(text["cancelled"])
    expect(page.get_by_role("button", name=text["confirm"])).to_be_hidden()
    assert text["label"] not in served.runtime.labels()
    # Asked again and confirmed: the topic's calls are labeled examples now.
    page.get_by_role("button", name=text["apply"]).click()
    page.get_by_role("button", name=text["confirm"]).click()
    expect(message).to_contain_text(text["labeled"])
    expect(page.locator("#topics-detail")).to_contain_text(f"[{text['label']}]")
    assert text["label"] in served.runtime.labels()
    screenshot(page, f"topics-labeled-{locale}")


@pytest.mark.parametrize(
    ("locale", "question"),
    [
        ("en-US", "Which customers had a cracked or broken phone screen?"),
        ("zh-CN", "哪些客户的手机屏幕摔坏了？"),
    ],
)
def test_ask_cites_content_in_order_with_the_speaker_once(
    open_ui: Any, locale: str, question: str
) -> None:
    page = open_ui(locale)
    # Headed in the page's language before anything is asked (by the page itself, so no late
    # server answer can empty the table once a question has filled it).
    expect(page.locator("#ask-citations").get_by_role("columnheader").nth(1)).to_have_attribute(
        "title", "通话" if locale.startswith("zh") else "Call"
    )
    page.locator("#ask-question textarea").fill(question)
    page.locator("#ask-question textarea").press("Enter")
    chat = page.locator("#ask-chat")
    expect(chat).to_contain_text("[1]", timeout=120_000)
    expect(page.locator("#ask-citations").get_by_role("gridcell").first).to_be_visible(
        timeout=60_000
    )
    answer = chat.inner_text()
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", answer)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 3, numbers
    assert not re.search(r"\((customer|agent)\): (Customer|Agent):", answer), answer
    for said in ("Northwind", "北风", "好的，麻烦你了", "行吧，那就这样", "thank you so much"):
        assert said not in answer
    cells = page.locator("#ask-citations").get_by_role("row")
    listed = [cells.nth(i).get_by_role("gridcell").first.inner_text() for i in range(1, 4)]
    assert listed == ["1", "2", "3"]
    # The excerpt of a citation: the speaker in its heading, the words below, once each.
    cells.nth(1).get_by_role("gridcell").nth(1).click()
    excerpt = page.locator("#ask-excerpt")
    expect(excerpt).to_contain_text("[1]")
    assert not re.search(r"^\s*(Customer|Agent):", excerpt.inner_text(), re.MULTILINE)
    screenshot(page, f"ask-evidence-{locale}")
