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

import pytest
from playwright.sync_api import expect

from app.core.config import load_settings
from app.runtime import Runtime
from app.services.classify import classify_calls
from tests.textcalls import text_sources
from tests.ui.conftest import KEY, Served, screenshot, serving

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

    from app.api.app import create_app

    root = tmp_path_factory.mktemp("insights-ui")
    settings = load_settings(
        paths={"state_dir": root / "state", "models_dir": models_dir}, api={"api_keys": [KEY]}
    )
    with Runtime(settings, embedder=embedder) as runtime:
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
        app = create_app(runtime=runtime)
        with serving(app, "insights-ui-server") as url:
            yield Served(url, runtime, app)


def _bars(page: Any) -> Any:
    """The bars of the weekly chart (vega draws each as a path in a ``mark-rect`` group)."""
    return page.locator("#insights-weekly path[aria-roledescription=bar]")


def test_the_insights_tab_draws_the_weekly_chart_and_opens_the_calls(open_ui: Any) -> None:
    page = open_ui()
    page.get_by_role("tab", name="Insights").click()
    expect(_bars(page).first).to_be_visible(timeout=60_000)
    assert _bars(page).count() >= 12  # twelve weeks, several labels stacked in each
    chart = page.locator("#insights-weekly").inner_text()
    assert "refund" in chart and "delivery_delay" in chart  # the legend
    summary = page.locator("#insights-summary")
    expect(summary).to_contain_text("calls from 2026-08-24 to 2026-11-15")
    expect(summary).to_contain_text("Rising")
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
    page.get_by_role("tab", name="洞察").click()
    expect(_bars(page).first).to_be_visible(timeout=60_000)
    expect(page.locator("#insights-weekly")).to_contain_text("退款")  # a Chinese label
    heads = page.locator("#insights-weeks").get_by_role("columnheader")
    expect(heads.filter(has_text="周").first).to_be_visible()
    expect(heads.filter(has_text="通话数").first).to_be_visible()
    expect(page.locator("#insights-summary")).to_contain_text("个通话")


def _drawn(page: Any, elem_id: str) -> list[int]:
    """The numbers the bars of a chart stand for (vega labels each bar with its fields)."""
    bars = page.locator(f"#{elem_id} path[aria-roledescription=bar]")
    labels = [bars.nth(i).get_attribute("aria-label") or "" for i in range(bars.count())]
    return [int(re.search(r"Calls: (\d+)", x).group(1)) for x in labels]


def test_the_charts_redraw_with_a_new_filter(open_ui: Any) -> None:
    """Shown again for one agent, both charts draw that agent's numbers, as the tables say."""
    page = open_ui()
    page.get_by_role("tab", name="Insights").click()
    expect(_bars(page).first).to_be_visible(timeout=60_000)
    expect(page.locator("#insights-summary")).to_contain_text("85 calls")
    assert sum(_drawn(page, "insights-weekly")) == 85
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
