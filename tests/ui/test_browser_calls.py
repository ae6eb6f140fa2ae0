"""The Calls tab, the call view, the Status tab and the entry points in a real browser over the
real app (see conftest), in English and Chinese: the newest calls and their count on open,
Enter in every filter box, filter errors that name what the box takes, "no calls match", a
stored call classified and relabeled from its view (asked first, undone), the Status tab in
plain words, ``/`` leading to the UI and ``/docs`` working with no internet."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.ui.conftest import FLAGS, KEY, Served, open_tab, screenshot
from ui.i18n import t

LOCALES = [("en-US", "en"), ("zh-CN", "zh-CN")]


def _indexed(served: Served) -> int:
    r = httpx.get(f"{served.base}/api/calls?state=indexed&limit=1", headers={"X-API-Key": KEY})
    return int(r.json()["total"])


def _labels(served: Served, call_id: str) -> list[str]:
    r = httpx.get(f"{served.base}/api/calls/{call_id}", headers={"X-API-Key": KEY})
    return list(r.json()["labels"])


def _calls_tab(page: Any, lang: str) -> Any:
    open_tab(page, t("tab.calls", lang))
    count = page.locator("#calls-count")
    count.locator("strong").first.wait_for()
    return count


def _box(page: Any, elem_id: str) -> Any:
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


@pytest.mark.parametrize(("locale", "lang"), LOCALES)
def test_opening_the_calls_tab_lists_the_newest_calls_and_their_count(
    open_ui: Any, served: Served, locale: str, lang: str
) -> None:
    page = open_ui(locale)
    count = _calls_tab(page, lang)  # nothing pressed: the tab lists the calls when it opens
    total = _indexed(served)
    expect(count).to_contain_text(re.sub(r"\*\*", "", t("calls.total", lang).format(n=total)))
    first = page.locator("#calls-table").get_by_role("gridcell").first
    # 2026-10-20, the newest call of the corpus. The rows can arrive after the count on a busy
    # machine (seen once in a full run: the count drawn, the grid still empty after 5 s).
    expect(first).to_have_text("r-mislabeled", timeout=30_000)
    screenshot(page, f"calls-open-{lang}")


@pytest.mark.parametrize(("locale", "lang"), LOCALES)
def test_enter_in_the_filter_boxes_filters_and_says_when_nothing_matches(
    open_ui: Any, locale: str, lang: str
) -> None:
    page = open_ui(locale)
    count = _calls_tab(page, lang)
    table = page.locator("#calls-table")
    # Enter in a date box filters, as the Search button does.
    _box(page, "calls-from").fill("2026-10-20")
    _box(page, "calls-from").press("Enter")
    expect(count).to_contain_text(t("calls.where", lang).format(filters="2026-10-20 – …"))
    expect(table.get_by_role("row")).to_have_count(2)  # the header and r-mislabeled
    _box(page, "calls-from").fill("")
    # Enter in the metadata box too; a filter nothing matches says so.
    _box(page, "calls-metadata").fill("agent=Li")
    _box(page, "calls-metadata").press("Enter")
    expect(count).to_have_text(t("calls.no_match", lang).format(filters="agent=Li"))
    # A metric bound from the placeholder's grammar works (every test call has 3 turns).
    _box(page, "calls-metadata").fill("turns>=3")
    _box(page, "calls-metadata").press("Enter")
    expect(count).to_contain_text("turns>=3")
    expect(table.get_by_role("gridcell", name="d2", exact=True)).to_be_visible()
    # A key the box does not take: the error names the fields and metrics it does take.
    _box(page, "calls-metadata").fill("split=test")
    _box(page, "calls-metadata").press("Enter")
    toast = page.locator(".toast-body").filter(has_text="split=test").first
    toast.wait_for()
    said = toast.inner_text()
    assert "longest_silence" in said and "agent" in said and "call_id" not in said, said
    screenshot(page, f"calls-filter-error-{lang}")


def _open_call(page: Any, call_id: str) -> None:
    page.locator("#calls-table").get_by_role("gridcell", name=call_id, exact=True).click()
    page.locator("#calls-transcript h3").filter(has_text=call_id).wait_for()


def _choose(page: Any, label: str) -> None:
    box = page.locator("#calls-new-label input")
    box.fill(label)
    box.press("Enter")


@pytest.mark.parametrize(("locale", "lang"), LOCALES)
def test_a_stored_call_is_classified_and_relabeled_from_its_view_after_a_yes(
    open_ui: Any, served: Served, locale: str, lang: str
) -> None:
    call = "d4"  # near the top of the list (the table draws only the rows in view)
    assert _labels(served, call) == ["delivery_delay"]
    page = open_ui(locale)
    _calls_tab(page, lang)
    _open_call(page, call)
    # Classify the stored call: no upload, the answer is offered as its label.
    page.locator("#calls-classify").click()
    heading = page.locator("#calls-classification h4")
    expect(heading).to_contain_text(t("view.classified", lang))
    answer = re.search(r"`?(\w+)`?\s*$", heading.inner_text())
    assert answer and answer.group(1) == "delivery_delay", heading.inner_text()
    expect(page.locator("#calls-new-label input")).to_have_value("delivery_delay")
    try:
        # Relabel asks first; Cancel writes nothing.
        _choose(page, "refund")
        page.locator("#calls-relabel").click()
        question = page.locator("#calls-confirm-text")
        expect(question).to_contain_text("refund")
        screenshot(page, f"calls-relabel-confirm-{lang}")
        page.locator("#calls-relabel-cancel").click()
        expect(page.locator("#calls-relabel-result")).to_have_text(t("view.not_changed", lang))
        expect(page.locator("#calls-confirm")).to_be_hidden()
        assert _labels(served, call) == ["delivery_delay"]
        # Yes applies it; the view and the list show the new label.
        page.locator("#calls-relabel").click()
        page.locator("#calls-relabel-confirm").click()
        expect(page.locator("#calls-transcript h3")).to_have_text(f"{call} · refund")
        row = page.locator("#calls-table").get_by_role("row", name=re.compile(rf"^{call} "))
        expect(row).to_contain_text("refund")
        assert _labels(served, call) == ["refund"]
        # ...and Undo puts the old label back.
        page.locator("#calls-relabel-undo").click()
        expect(page.locator("#calls-transcript h3")).to_have_text(f"{call} · delivery_delay")
        expect(page.locator("#calls-relabel-undo")).to_be_hidden()
        assert _labels(served, call) == ["delivery_delay"]
    finally:  # the other browser tests expect the corpus as it was
        if _labels(served, call) != ["delivery_delay"]:
            from app.services.labels import relabel_call

            relabel_call(served.runtime, call, labels=["delivery_delay"], source="test")


@pytest.mark.parametrize(("locale", "lang"), LOCALES)
def test_status_is_in_plain_words_and_refreshes(
    open_ui: Any, served: Served, locale: str, lang: str
) -> None:
    page = open_ui(locale)
    open_tab(page, t("tab.status", lang))
    status = page.locator("#status-text")
    ready = re.sub(r"\*\*", "", t("status.ready", lang).format(n=_indexed(served)))
    expect(status).to_contain_text(ready)
    text = status.inner_text()
    assert "turn points" not in text and "384" not in text and "Qdrant" not in text, text
    stamp = re.search(r"\d\d:\d\d:\d\d", text)
    assert stamp
    page.wait_for_timeout(1100)
    page.locator("#status-refresh").click()
    expect(status).not_to_contain_text(stamp.group(0))
    # The models and the store are there for whoever runs the service, folded away.
    page.get_by_text(t("status.technical", lang)).click()
    details = page.locator("#status-technical-text")
    expect(details).to_contain_text("multilingual-e5-small")
    assert "384" in details.inner_text()
    screenshot(page, f"status-{lang}")


def test_the_root_address_opens_the_ui_and_docs_work_without_internet(
    playwright: Any, chromium: Path, served: Served
) -> None:
    context = playwright.chromium.launch_persistent_context(
        tempfile.mkdtemp(prefix="callscope-chromium-"),
        executable_path=str(chromium),
        headless=True,
        args=FLAGS,
    )
    try:
        # No internet: every request that does not go to the app itself fails.
        context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(served.base) else route.abort()
            ),
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{served.base}/")
        assert page.url.rstrip("/").endswith("/ui"), page.url
        page.locator("input[type=password]").wait_for()  # the UI's sign-in
        page.goto(f"{served.base}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("CallScope API")
        expect(page.locator(".opblock-summary-path").first).to_be_visible()
        screenshot(page, "docs")
    finally:
        context.close()
