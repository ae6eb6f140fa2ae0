"""The Insights tab in a real browser over the real app (the fixtures of ``conftest.py``, with a
corpus of its own: 12 weeks of calls with agents, metrics, a Chinese label, and unlabeled calls
classified by the real classifier). Opening the tab draws the weekly chart; a number in a table
lists its calls, a call shows its transcript; in Chinese, the tab, the headers and a Chinese
label in the chart's legend.

With ``CALLSCOPE_SCREENSHOTS=<dir>`` it saves ``insights.png`` there (the README's picture:
``CALLSCOPE_SCREENSHOTS=docs/screenshots pytest tests/ui/test_browser_insights.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from app.services.classify import classify_calls
from tests.textcalls import text_sources
from tests.ui.conftest import KEY, Served, fresh_runtime, open_tab, screenshot, served_app, upload

FIRST_MONDAY = date(2026, 8, 24)
TEXTS = {
    "refund": (
        "I returned the blender and the money never came back.",
        "Please refund the broken headphones to my card.",
        "You charged me twice, I need the extra payment refunded.",
    ),
    "delivery_delay": (
        "My parcel is a week late and the tracking has not moved.",
        "The courier never came, the parcel is still at the depot.",
        "Where is my order? The shipment is late again.",
    ),
    "account": (
        "I cannot log in, the app says my password is wrong.",
        "My account is locked after too many login attempts.",
    ),
    "退款": ("我要退款，耳机坏了，钱还没有退回来。", "上周退货了，退款什么时候到账？"),
}


def _corpus() -> dict[str, tuple[list[str], str, list[tuple[str, str]]]]:
    """Twelve weeks: refunds rise, delivery delays fall, a few calls come in unlabeled."""
    calls: dict[str, tuple[list[str], str, list[tuple[str, str]]]] = {}
    for week in range(12):
        monday = FIRST_MONDAY + timedelta(weeks=week)
        mix = {
            "refund": 1 + week // 3,
            "delivery_delay": max(1, 4 - week // 3),
            "account": 1 + week % 2,
            "退款": week % 3 // 2 + (week > 8),
        }
        n = 0
        for label, count in mix.items():
            for i in range(count):
                text = TEXTS[label][(week + i) % len(TEXTS[label])]
                day = (monday + timedelta(days=(n * 2) % 7)).isoformat()
                labels = [] if (week + n) % 5 == 0 else [label]  # some come in unlabeled
                calls[f"w{week:02d}-{n}"] = (
                    labels,
                    day,
                    [("agent", "Thanks for calling, how can I help?"), ("customer", text)],
                )
                n += 1
    return calls


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder: Any
) -> Iterator[Served]:
    """The app over this module's corpus, on a free local port (like conftest's ``served``)."""
    with fresh_runtime(tmp_path_factory, models_dir, embedder, "insights-ui") as runtime:
        sources = text_sources(_corpus())
        for i, source in enumerate(sources):
            source.metadata = {
                "agent": ("Li", "Wang", "王芳", "Omar")[i % 4],
                "team": ("north", "south")[i % 2],
                "queue": ("care", "sales")[i % 3 % 2],
            }
        assert {r.status for r in runtime.pipeline().run(sources)} == {"indexed"}
        unlabeled = [s.call_id for s in sources if not s.labels]
        assert unlabeled and all(
            r.classification for r in classify_calls(runtime, unlabeled, source="test")
        )
        for i, source in enumerate(sources):
            metrics = {
                "duration": 90.0 + (i * 37) % 600,
                "longest_silence": float((i * 13) % 95),
                "agent_talk_share": 0.35 + (i % 5) / 10,
                "interruptions": float(i % 4),
            }
            runtime.calls.set_payload(
                {"call_id": source.call_id},
                {"metrics": metrics, "speaker_source": ("transcript", "channels")[i % 2]},
            )
        with served_app(runtime, "insights-ui-server") as served:
            yield served


def _bars(page: Any) -> Any:
    """The bars of the weekly chart (vega draws each as a path in a ``mark-rect`` group)."""
    return page.locator("#insights-weekly path[aria-roledescription=bar]")


def _settled(page: Any, elem_id: str, done: Any) -> list[int]:
    """The chart's numbers once ``done(numbers)`` holds: a chart is drawn again a moment after
    its table (and once more when its legend changes), so it is read until it shows them."""
    for _ in range(75):
        numbers = _drawn(page, elem_id)
        if done(numbers):
            break
        page.wait_for_timeout(200)
    return numbers


def test_the_insights_tab_draws_the_weekly_chart_and_opens_the_calls(open_ui: Any) -> None:
    page = open_ui()
    open_tab(page, "Insights")
    expect(_bars(page).first).to_be_visible(timeout=60_000)
    # Twelve weeks, several labels stacked in each.
    assert len(_settled(page, "insights-weekly", lambda n: len(n) >= 12)) >= 12
    chart = page.locator("#insights-weekly").inner_text()
    assert "refund" in chart and "delivery_delay" in chart  # the legend
    summary = page.locator("#insights-summary")
    expect(summary).to_contain_text("calls from 2026-08-24 to 2026-11-15")
    # No call before 24 August: nothing "rose" from nothing.
    expect(summary).to_contain_text("nothing to compare with, every label is new")
    expect(summary).not_to_contain_text("Rising")
    # A number in the weekly table lists its calls; the count above the list is that number.
    weeks = page.locator("#insights-weeks")
    first = weeks.get_by_role("row").nth(1)
    first.get_by_role("gridcell").nth(1).click()
    title = page.locator("#insights-drill-title")
    expect(title).to_contain_text(re.compile(r"\d+ calls"))
    n = int(re.search(r"(\d+) calls", title.inner_text()).group(1))
    calls = page.locator("#insights-calls").get_by_role("row")
    expect(calls).to_have_count(n + 1)  # and the header row
    calls.nth(1).get_by_role("gridcell").first.click()
    expect(page.locator("#insights-transcript")).to_contain_text("Thanks for calling")
    # The last six weeks against the six before: what rose and what fell.
    page.get_by_label("Date from").fill("2026-10-05")
    page.get_by_label("Date to").fill("2026-11-15")
    page.locator("#insights-run").click()
    expect(summary).to_contain_text("calls from 2026-10-05 to 2026-11-15")
    expect(summary).to_contain_text("Rising")
    expect(summary).to_contain_text("Falling")
    expect(page.locator("#insights-weeks").get_by_role("row")).to_have_count(7)
    expect(title).to_be_empty()  # the list of the numbers shown before is gone
    # The refund calls of these six weeks, from the labels table.
    refund = page.locator("#insights-labels").get_by_role("row").filter(has_text="refund").first
    refund.get_by_role("gridcell").nth(1).click()
    expect(title).to_contain_text("21 calls")
    calls.nth(1).get_by_role("gridcell").first.click()
    expect(page.locator("#insights-transcript")).to_contain_text("refund")
    # The workbook of what is shown.
    page.locator("#insights-export").click()
    expect(page.locator("#insights-file")).to_contain_text(".xlsx")
    page.wait_for_timeout(1500)  # let the charts finish redrawing before the picture
    screenshot(page, "insights")


def test_the_insights_tab_in_chinese(open_ui: Any) -> None:
    page = open_ui("zh-CN")
    open_tab(page, "洞察")
    expect(_bars(page).first).to_be_visible(timeout=60_000)
    expect(page.locator("#insights-weekly")).to_contain_text("退款")  # a Chinese label
    heads = page.locator("#insights-weeks").get_by_role("columnheader")
    expect(heads.filter(has_text="周").first).to_be_visible()
    expect(heads.filter(has_text="通话数").first).to_be_visible()
    expect(page.locator("#insights-summary")).to_contain_text("个通话")


def _drawn(page: Any, elem_id: str) -> list[int]:
    """The numbers the bars of a chart stand for (vega labels each bar with its fields)."""
    bars = page.locator(f"#{elem_id} path[aria-roledescription=bar]")
    # Read at once: a chart being drawn again has its bars replaced meanwhile.
    labels = bars.evaluate_all("bars => bars.map(b => b.getAttribute('aria-label') || '')")
    # "Week: 2026-08-24; Calls: 4; label: refund" (周 / 通话数 in Chinese): the second field.
    return [int(re.match(r"[^;]+; [^:]+: (\d+)", x).group(1)) for x in labels]


def test_the_charts_redraw_with_a_new_filter(open_ui: Any) -> None:
    """Shown again for one agent, both charts draw that agent's numbers, as the tables say."""
    page = open_ui()
    open_tab(page, "Insights")
    expect(_bars(page).first).to_be_visible(timeout=60_000)
    expect(page.locator("#insights-summary")).to_contain_text("85 calls")
    assert sum(_settled(page, "insights-weekly", lambda n: sum(n) == 85)) == 85
    page.get_by_label("Metadata, metrics (agent=Li, longest_silence>=60)").fill("agent=Li")
    page.locator("#insights-run").click()
    expect(page.locator("#insights-summary")).to_contain_text("22 calls")
    bins = page.locator("#insights-bins").get_by_role("row")
    expect(bins).to_have_count(9)
    table = [int(bins.nth(i).get_by_role("gridcell").nth(1).inner_text()) for i in range(1, 9)]
    assert sum(table) == 22
    for _ in range(50):  # the charts redraw a moment after the tables
        if (
            sum(_drawn(page, "insights-weekly")) == 22
            and _drawn(page, "insights-metric-plot") == table
        ):
            break
        page.wait_for_timeout(200)
    assert sum(_drawn(page, "insights-weekly")) == 22
    assert _drawn(page, "insights-metric-plot") == table


def _drawn_bins(page: Any) -> list[tuple[str, int]]:
    """(bin, calls) of each bar of the metric chart, in the table's order of the bins."""
    bars = page.locator("#insights-metric-plot path[aria-roledescription=bar]")
    labels = bars.evaluate_all("bars => bars.map(b => b.getAttribute('aria-label') || '')")
    # "Range: 0–5; Calls: 4" (区间 / 通话数 in Chinese)
    found = [m.groups() for m in (re.match(r"[^:]+: (.+?); [^:]+: (\d+)", x) for x in labels) if m]
    order = [b for b, _ in _table_bins(page)]
    drawn = [(b, int(n)) for b, n in found]
    return sorted(drawn, key=lambda b: order.index(b[0]) if b[0] in order else len(order))


def _table_bins(page: Any) -> list[tuple[str, int]]:
    rows = page.locator("#insights-bins").get_by_role("row")
    out = []
    for i in range(1, rows.count()):
        cells = rows.nth(i).get_by_role("gridcell")
        out.append((cells.nth(0).inner_text(), int(cells.nth(1).inner_text())))
    return out


def _open_tab(page: Any, locale: str) -> None:
    open_tab(page, "Insights" if locale == "en-US" else "洞察")
    expect(_bars(page).first).to_be_visible(timeout=60_000)


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_charts_follow_the_choices_and_gaps_are_said(open_ui: Any, locale: str) -> None:
    """Issue 23, one page per language: (1) the histograms say they cover only calls with
    timings; (2) a table by a field no call has says how calls get it; (3) switching the metric
    redraws its chart (the table followed, the chart kept the old metric's bars under the new
    title); (4) four weeks, the first two without calls: every week shows and the legend names
    exactly the labels drawn (a week without calls added a nameless entry, and the legend kept
    the labels of the first chart drawn)."""
    page = open_ui(locale)
    _open_tab(page, locale)
    en = locale == "en-US"
    # (1)
    expect(page.locator("#insights-timed")).to_contain_text(
        "85 of 85 calls have timings (recordings)" if en else "85 个通话中有 85 个带时间信息"
    )
    # (2)
    # The fields and metrics are chosen by their names in the page's language.
    page.get_by_label("Table by" if en else "分组字段", exact=True).click()
    page.get_by_role("option", name="direction" if en else "呼叫方向").click()
    note = page.locator("#insights-group-note")
    expect(note).to_contain_text(
        "No call of this period has direction" if en else "本周期没有任何通话带有 呼叫方向"
    )
    expect(note).to_contain_text("callscope import-labels")
    expect(note.locator("code").first).to_have_text("direction")  # the column to import
    page.get_by_label("Table by" if en else "分组字段", exact=True).click()
    page.get_by_role("option", name="agent" if en else "坐席").click()
    expect(note).to_be_empty()
    # (3)
    expect(page.locator("#insights-bins")).to_contain_text("1800")  # duration's bins
    page.get_by_label("Metric" if en else "通话指标", exact=True).click()
    page.get_by_role("option", name="longest_silence" if en else "最长静默").click()
    expect(page.locator("#insights-bins")).to_contain_text("≥ 120")
    table = _table_bins(page)
    assert [b for b, _ in table] == ["0–5", "5–10", "10–20", "20–30", "30–60", "60–120", "≥ 120"]
    for _ in range(50):  # the chart redraws a moment after the table
        if _drawn_bins(page) == table:
            break
        page.wait_for_timeout(200)
    assert _drawn_bins(page) == table
    title = "Calls per range of longest_silence" if en else "最长静默 各区间"
    expect(page.locator("#insights-metric-plot")).to_contain_text(title)
    # (4)
    page.get_by_label("Date from" if en else "开始日期").fill("2026-08-10")
    page.get_by_label("Date to" if en else "结束日期").fill("2026-09-06")
    page.locator("#insights-run").click()
    expect(page.locator("#insights-weeks").get_by_role("row")).to_have_count(5)
    legend = page.locator("#insights-weekly .role-legend-label text")
    for _ in range(50):
        names = legend.all_text_contents()  # at once: the legend is redrawn meanwhile
        if names == ["delivery_delay", "account", "refund"]:
            break
        page.wait_for_timeout(200)
    assert names == ["delivery_delay", "account", "refund"]  # no 退款 (no call), no nameless
    assert page.locator("#insights-weekly .role-legend-symbol path").count() == 3
    weeks = set(page.locator("#insights-weekly .role-axis-label text").all_text_contents())
    assert {"2026-08-10", "2026-08-17", "2026-08-24", "2026-08-31"} <= weeks
    assert sum(_settled(page, "insights-weekly", lambda n: sum(n) == 13)) == 13


def test_a_call_uploaded_in_the_ui_is_dated_by_its_upload_time(
    open_ui: Any, served: Served, tmp_path: Path
) -> None:
    """Issue 23: a call uploaded in the UI ("Index and classify") had no date and was silently
    left out of Insights. It is dated by its upload time, counted, and that is said: in the
    summary, as a number that lists it, and on the call."""
    kettle = tmp_path / "ui-upload-dated.txt"
    kettle.write_text(
        "Agent: Thanks for calling, how can I help?\nCustomer: Please refund the broken kettle.\n",
        encoding="utf-8",
    )
    page = open_ui()
    open_tab(page, "Classify")
    upload(page, kettle)
    page.locator("#classify-batch").click()
    page.locator("#classify-summary").get_by_text("Batch: 1 calls").wait_for(timeout=120_000)
    try:
        for locale, said, number, how in (
            (
                "en-US",
                "1 calls of this period are dated by their upload time",
                "Dated by upload",
                "(upload time)",
            ),
            ("zh-CN", "本周期有 1 个通话按上传时间定日期", "按上传时间定日期", "(上传时间)"),
        ):
            page = page if locale == "en-US" else open_ui(locale)
            _open_tab(page, locale)  # the period up to the latest call: today's upload
            expect(page.locator("#insights-summary")).to_contain_text(said)
            numbers = page.locator("#insights-numbers")
            expect(numbers).to_contain_text(number)
            row = numbers.get_by_role("row").filter(has_text=number)
            row.get_by_role("gridcell").nth(1).click()
            calls = page.locator("#insights-calls").get_by_role("row")
            expect(calls).to_have_count(2)
            calls.nth(1).get_by_role("gridcell").first.click()
            view = page.locator("#insights-transcript")
            expect(view).to_contain_text("ui-upload-dated")
            expect(view).to_contain_text(how)
    finally:  # the other tests of the module see the corpus they expect
        r = httpx.delete(f"{served.base}/api/calls/ui-upload-dated", headers={"X-API-Key": KEY})
        assert r.status_code == 200, r.text
