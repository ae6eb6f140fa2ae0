"""The Calls tab's Summarize button in a real browser over the real app (see conftest; the
served app has no LLM): the button summarizes the call the table opened, and says why not."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import open_tab
from ui.i18n import t


def test_summarize_the_open_call_says_why_it_was_skipped_without_an_llm(open_ui: Any) -> None:
    page = open_ui()
    open_tab(page, "Calls")
    page.locator("#calls-search").click()
    table = page.locator("#calls-table")
    table.get_by_role("gridcell", name="d2", exact=True).click()
    page.locator("#calls-transcript").get_by_text("The delivery driver never came").wait_for()
    page.locator("#calls-summarize").click()
    summary = page.locator("#calls-summary")
    summary.get_by_text(t("summary.skipped")).wait_for()
    assert "no LLM is configured" in summary.inner_text()
    # Opening another call clears the summary of the previous one.
    table.get_by_role("gridcell", name="r2", exact=True).click()
    page.locator("#calls-transcript").get_by_text("r2", exact=False).first.wait_for()
    page.wait_for_function(
        "() => !document.querySelector('#calls-summary').innerText.includes('skipped')"
    )
