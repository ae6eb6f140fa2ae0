"""The Chinese page speaks Chinese throughout, in a real browser over the real app (see
conftest). Every tab is visited and the cheap things a supervisor does first are done in it: ask
and open a citation, classify a pasted transcript, mistype a date, open a call and classify and
summarize it, run a label-quality check and accept then undo its suggestion, discover topics,
list the calls behind a number of Insights and mistype a metric filter, test the inspection
starter pack and write a rule with the form, read the Status tab and its technical details.
After each step every piece of text the page shows is read
(``tests.ui.page_text``): the test fails naming each English word left outside data values
(call ids, labels, transcripts, file names, code), and each table header that does not fit on
one line of its column (Chinese text may break between any two characters: a narrow column
stacked its header one character per line). The window is narrow (800 px), where headers
wrapped.

With ``CALLSCOPE_SCREENSHOTS=<dir>`` it saves a screenshot of each tab there."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from app.services import calls as calls_service
from app.services.call_views import get_call, list_calls
from tests.textcalls import text_sources
from tests.ui.conftest import Served, open_tab, screenshot
from tests.ui.page_text import DataValues, Piece, pieces
from ui.i18n import t

ZH = "zh-CN"
#: A refund call labeled ``account``, added for this test: a label-quality run has a suspect
#: whatever the other tests did to the corpus's own (they accept its suggestion).
SUSPECT = "zh-sweep-suspect"
#: Column keys whose cells hold data values (ids, labels, transcript text, times, scores).
DATA_COLUMNS = (
    "col.call",
    "col.rule_name",
    "col.labels",
    "col.label",
    "col.given_labels",
    "col.current_labels",
    "col.text",
    "col.date",
    "col.time",
    "col.score",
    "col.confidence",
    "col.job",
    "col.created",
    "col.terms",
    "col.topic_name",
    "col.suggested_label",
    "classify.col.labels",
    "ins.predicted",
    "ins.value",
    "ins.week",
    "ins.bin",
)
#: Each shown table header with the lines its text takes (inline text: the browser gives one
#: rectangle per line) and whether the text runs past its cell.
_HEADERS = r"""
() => [...document.querySelectorAll('[role=grid] [role=columnheader]')]
  .filter(th => th.checkVisibility() && th.innerText.trim())
  .map(th => {
    const range = document.createRange();
    range.selectNodeContents(th.querySelector('.header') || th);
    const rects = [...range.getClientRects()];
    return {
      table: (th.closest('[id]') || {}).id || '',
      text: th.innerText.trim(),
      lines: new Set(rects.map(r => Math.round(r.top))).size,
      cut: Math.max(...rects.map(r => r.right)) > th.getBoundingClientRect().right + 1,
    };
  })
"""


@pytest.fixture
def suspect(served: Served) -> Iterator[Served]:
    """The served corpus with :data:`SUSPECT` in it, for this test only."""
    turns = [
        ("agent", "Thanks for calling, how can I help?"),
        ("customer", "I sent the kettle back two weeks ago and my refund never came, I want "
         "my money back."),
        ("agent", "The refund was issued today, it takes five business days to reach your card."),
    ]  # fmt: skip
    found = served.runtime.pipeline().run(
        text_sources({SUSPECT: (["account"], "2026-10-16", turns)})
    )
    assert {r.status for r in found} == {"indexed"}
    yield served
    calls_service.delete_call(served.runtime, SUSPECT)


@pytest.fixture
def data(suspect: Served) -> DataValues:
    """The served corpus's call ids, labels and transcripts, and the data columns' headers."""
    served = suspect
    calls = list_calls(served.runtime, limit=1000).calls
    labels = {label for c in calls for label in c.labels} | {"unknown"}
    texts = [
        turn.text
        for c in calls
        if (view := get_call(served.runtime, c.call_id)) is not None
        for turn in view.turns
    ]
    columns = {t(key, ZH) for key in DATA_COLUMNS} | labels  # label columns of Insights
    return DataValues.of({c.call_id for c in calls} | labels, texts, columns)


class Sweep:
    """Reads the page after each step; keeps the English words and the headers that do not fit
    a line."""

    def __init__(self, page: Any, data: DataValues) -> None:
        self.page, self.data = page, data
        self.english: dict[str, set[str]] = {}
        self.headers: set[str] = set()

    def read(self, step: str) -> None:
        for piece in pieces(self.page):
            words = self._english(piece)
            if words:
                where = f"{step}: #{piece.where} ({piece.kind}) «{piece.text[:200]}»"
                self.english.setdefault(where, set()).update(words)
        for head in self.page.evaluate(_HEADERS):
            if head["lines"] > 1 or head["cut"]:
                how = f"{head['lines']} lines" if head["lines"] > 1 else "cut off"
                self.headers.add(f"{step}: #{head['table']} «{head['text']}» {how}")

    def _english(self, piece: Piece) -> list[str]:
        words = self.data.english(piece)
        # Gradio 6.31 titles every error toast "Error", whatever gr.Error(title=...) says.
        if piece.kind == "toast-title":
            words = [w for w in words if w != "Error"]
        return words

    def report(self) -> str:
        english = [f"{sorted(words)} in {where}" for where, words in sorted(self.english.items())]
        return "\n".join(
            [f"English on the Chinese page ({len(english)}):", *english]
            + [f"Table headers not on one line ({len(self.headers)}):", *sorted(self.headers)]
        )


def _tab(page: Any, key: str) -> None:
    open_tab(page, t(key, ZH))


def _box(page: Any, elem_id: str) -> Any:
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def _toast(page: Any) -> None:
    """Wait for an error toast to be shown whole (it fades in)."""
    toast = page.locator(".toast-body").last
    toast.wait_for()
    toast.evaluate(
        "el => new Promise(done => { const look = () => getComputedStyle(el).opacity === '1' "
        "? done() : setTimeout(look, 50); look(); })"
    )


def _close_toasts(page: Any) -> None:
    for close in page.locator(".toast-close").all():
        close.click()
    expect(page.locator(".toast-body")).to_have_count(0)


def test_the_chinese_page_shows_no_english_outside_data(
    open_ui: Any, served: Served, data: DataValues
) -> None:
    started = time.monotonic()
    page = open_ui(ZH)
    page.set_viewport_size({"width": 800, "height": 1000})
    sweep = Sweep(page, data)

    # Ask: a question, then a citation (its excerpt and recording).
    _box(page, "ask-question").fill("哪些客户要求退款？ refund money")
    page.locator("#ask-send").click()
    page.locator("#ask-chat").get_by_text(t("ask.generation_off", ZH)[:6]).wait_for()
    page.locator("#ask-citations").get_by_role("gridcell").first.click()
    page.locator("#ask-excerpt strong").first.wait_for()
    sweep.read("ask")
    screenshot(page, "zh-sweep-ask")

    # Classify: a pasted transcript, then the batch button with nothing uploaded.
    _tab(page, "tab.classify")
    _box(page, "classify-text").fill(
        "坐席：您好，请问有什么可以帮您？\n客户：我的退款三周了还没到账。"
    )
    page.locator("#classify-run").click()
    page.locator("#classify-summary h3").wait_for()
    sweep.read("classify")
    screenshot(page, "zh-sweep-classify")
    page.locator("#classify-batch").click()
    _toast(page)
    sweep.read("classify: batch without files")
    _close_toasts(page)

    # Calls: a mistyped date (a service's refusal), then a call opened, classified, summarized
    # and given the label it has.
    _tab(page, "tab.calls")
    page.locator("#calls-count strong").first.wait_for()
    _box(page, "calls-from").fill("2026-13-01")
    _box(page, "calls-from").press("Enter")
    _toast(page)
    sweep.read("calls: mistyped date")
    _close_toasts(page)
    _box(page, "calls-from").fill("")
    _box(page, "calls-from").press("Enter")
    page.locator("#calls-table").get_by_role("gridcell", name="d4", exact=True).click()
    page.locator("#calls-transcript h3").filter(has_text="d4").wait_for()
    page.locator("#calls-classify").click()
    page.locator("#calls-classification h4").wait_for()
    page.locator("#calls-summarize").click()
    page.locator("#calls-summary em").wait_for()
    page.locator("#calls-relabel").click()
    page.locator("#calls-relabel-result p").wait_for()
    sweep.read("calls")
    screenshot(page, "zh-sweep-calls")

    # Label quality: a run (its progress read while it runs), then its suspect: the suggested
    # change accepted after the confirmation, then undone (the call's history shows both).
    _tab(page, "tab.label_quality")
    page.locator("#lq-start").click()
    progress, done = page.locator("#lq-progress"), t("lq.done", ZH).split("{")[0]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not progress.inner_text().startswith(done):
        sweep.read("label quality: running")
        page.wait_for_timeout(300)
    first = page.locator("#lq-suspects").get_by_role("gridcell").first
    call = first.inner_text().strip()
    before = list(served.runtime.ledger.get(call).labels)
    first.click()
    expect(_box(page, "lq-call")).to_have_value(call)
    page.locator("#lq-accept").click()
    page.locator("#lq-confirm-text strong").first.wait_for()
    sweep.read("label quality: confirm")
    page.locator("#lq-confirm").click()
    page.locator("#lq-message").get_by_text(f"已修改 {call}").wait_for()
    page.locator("#lq-undo").click()
    page.locator("#lq-message").get_by_text(f"已撤销 {call}").wait_for()
    sweep.read("label quality")
    screenshot(page, "zh-sweep-label-quality")
    assert list(served.runtime.ledger.get(call).labels) == before  # as it was

    # Topics: a discovery run.
    _tab(page, "tab.topics")
    page.locator("#topics-discover").click()
    page.locator("#topics-summary strong").first.wait_for()
    sweep.read("topics")
    screenshot(page, "zh-sweep-topics")

    # Insights: shown when opened; the calls behind a number, one of them; the workbook; a
    # mistyped metric filter.
    _tab(page, "tab.insights")
    number = page.locator("#insights-numbers").get_by_role("gridcell").nth(1)
    number.click()
    page.locator("#insights-calls").get_by_role("gridcell").first.click()
    page.locator("#insights-transcript h3").wait_for()
    page.locator("#insights-export").click()
    expect(page.locator("#insights-file")).to_contain_text(".xlsx")
    sweep.read("insights")
    screenshot(page, "zh-sweep-insights")
    page.get_by_label(t("ins.metric_filter", ZH)).fill("silence>=1")
    page.locator("#insights-run").click()
    _toast(page)
    sweep.read("insights: mistyped metric")
    _close_toasts(page)

    # Inspection: the starter pack tested on the first calls (nothing saved: the other tests
    # share the store), its evidence read; the rule form opened, a rule without words refused,
    # then written into the editor.
    _tab(page, "tab.quality")
    page.locator("#quality-starter").click()
    expect(page.locator("#quality-editor")).to_contain_text("no_greeting")
    page.locator("#quality-test").click()
    page.locator("#quality-message").get_by_text(t("q.tested", ZH)[:3]).wait_for()
    sweep.read("inspection: test")
    screenshot(page, "zh-sweep-inspection")
    page.locator("#rule-form").get_by_text(t("qf.title", ZH)).first.click()
    _box(page, "rule-form-name").fill("坐席未问好")
    page.locator("#rule-form-add").click()
    _toast(page)
    sweep.read("inspection: a rule without words")
    _close_toasts(page)
    _box(page, "rule-form-a-text").fill("您好")
    page.locator("#rule-form-add").click()
    page.locator("#quality-message").get_by_text("坐席未问好").wait_for()
    sweep.read("inspection: form")

    # Status: the jobs of the steps above, the technical details unfolded.
    _tab(page, "tab.status")
    page.locator("#status-jobs").get_by_role("gridcell").first.wait_for()
    page.locator("#status-technical").get_by_text(t("status.technical", ZH)).click()
    page.locator("#status-technical-text li").first.wait_for()
    sweep.read("status")
    screenshot(page, "zh-sweep-status")

    print(f"zh sweep: {time.monotonic() - started:.1f} s")
    assert not sweep.english and not sweep.headers, sweep.report()
