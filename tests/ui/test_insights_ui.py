"""The Insights tab's logic without a browser: the form read into a query, every table's numbers
against the filters beside them, the weekly chart's data, the calls behind a number (listed by
the Calls tab's own function), the weeks picked on the chart, the workbook, texts in en and zh."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi import FastAPI

from app.core.config import load_settings
from app.core.errors import InputError
from app.core.filters import CallFilter
from app.runtime import Runtime
from app.services.insights import InsightsQuery, insights, insights_dict
from tests.textcalls import text_sources
from tests.ui.corpus import calls as corpus
from ui.app import build_blocks
from ui.context import UIContext
from ui.insights import build_query, drill, drill_table, export_file
from ui.insights_tables import (
    CHART_LABELS,
    bins_table,
    groups_table,
    labels_table,
    missing_markdown,
    numbers_table,
    summary_markdown,
    timed_markdown,
    weekly_frame,
    weeks_filter,
    weeks_table,
)

FIELDS = ["agent", "team", "queue", "direction", "tags"]
PERIOD = ("2026-10-05", "2026-10-25")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder: Any) -> Any:
    """One runtime for the module: the tests here only read."""
    state = tmp_path_factory.mktemp("insights-ui")
    settings = load_settings(paths={"state_dir": state, "models_dir": models_dir})
    with Runtime(settings, embedder=embedder) as rt:
        yield rt


@pytest.fixture(scope="module")
def ctx(runtime: Runtime) -> UIContext:
    """The UI corpus (15 calls and a mislabeled one, 10-20 October) with agents, metrics, a
    Chinese label and an unlabeled call with a planted prediction."""
    sources = text_sources(corpus())
    extra = text_sources(
        {
            "zh-1": (["退款"], "2026-10-21", [("customer", "我要退款，耳机坏了")]),
            "new-1": ([], "2026-10-22", [("customer", "My parcel has not arrived")]),
        }
    )
    for i, source in enumerate([*sources, *extra]):
        source.metadata = {"agent": ("Li", "Wang", "王芳")[i % 3], "team": "north"}
    assert {r.status for r in runtime.pipeline().run([*sources, *extra])} == {"indexed"}
    runtime.calls.set_payload(
        {"call_id": "new-1"},
        {"predicted": "delivery_delay", "confidence": 0.41, "decided_by": "knn"},
        annotation=True,
    )
    for i, point in enumerate(runtime.calls.scroll()):
        metrics = {"longest_silence": float(i * 9 % 80), "duration": 60.0 + i * 30}
        runtime.calls.set_payload({"call_id": point.payload["call_id"]}, {"metrics": metrics})
    app = FastAPI()
    app.state.runtime = runtime
    return UIContext(app, runtime.settings)


def _report(ctx: UIContext, **kw: Any) -> dict[str, Any]:
    query = build_query(*PERIOD, kw.get("meta", ""), kw.get("metric", ""), "both", 0.5, FIELDS)
    return insights_dict(insights(ctx.runtime, query))


def _check_cells(ctx: UIContext, rows: list[list[Any]], cells: list[list[Any]]) -> int:
    """Every number whose cell has a filter is what that filter counts; returns how many."""
    assert len(rows) == len(cells)
    checked = 0
    for row, grid in zip(rows, cells, strict=True):
        assert len(row) == len(grid)
        for value, spec in zip(row, grid, strict=True):
            if spec is not None:
                assert ctx.runtime.calls.count(spec) == value, spec
                checked += 1
    return checked


def test_the_form_becomes_a_query() -> None:
    q = build_query(" 2026-10-01 ", "2026-10-31", "agent=Li, team=north", "", "labels", 0.3, FIELDS)
    assert q.filters == CallFilter(
        date_from=q.filters.date_from,
        date_to=q.filters.date_to,
        metadata=(("agent", ("Li",)), ("team", ("north",))),
    )
    assert str(q.filters.date_from) == "2026-10-01" and q.source == "labels"
    assert q.low_confidence == 0.3
    q = build_query("", "", "", "longest_silence>=60, duration<300", None, None, FIELDS)
    assert q.filters.metrics == (("longest_silence", "gte", 60.0), ("duration", "lt", 300.0))
    assert q.source == "both" and q.low_confidence is None
    assert q == InsightsQuery(filters=CallFilter(metrics=q.filters.metrics))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2026/10/01", "", "", "", "both", None), "date from"),
        (("", "31.10.2026", "", "", "both", None), "date to"),
        (("", "", "region=eu", "", "both", None), "unknown key"),
        (("", "", "label=refund", "", "both", None), "field=value"),
        (("", "", "date>=2026-01-01", "", "both", None), "field=value"),
        (("", "", "", "hold>=60", "both", None), "unknown metric"),
        (("", "", "", "duration>=", "both", None), "name>=number"),
        (("", "", "", "", "maybe", None), "source 'maybe'"),
        (("", "", "", "", "both", 7), "low confidence"),
    ],
)
def test_a_wrong_field_is_named(args: tuple, message: str) -> None:
    with pytest.raises(InputError, match=message):
        build_query(*args, FIELDS)


def test_every_table_number_is_what_its_filter_counts(ctx: UIContext) -> None:
    report = _report(ctx)
    assert report["calls"]["value"] == 18  # 15 + mislabeled + zh-1 + new-1
    checked = 0
    for lang in ("en", "zh-CN"):
        rows, cells = numbers_table(report, lang)
        checked += _check_cells(ctx, rows, cells)
    rows, cells = labels_table(report, "en")
    checked += _check_cells(ctx, rows, cells)
    assert {r[0]: r[1] for r in rows} == {
        "delivery_delay": 7,  # five, the mislabeled one, and new-1 by its prediction
        "refund": 5,
        "account": 5,
        "退款": 1,
    }
    rows, heads, cells = weeks_table(report, "en")
    assert heads[:2] == ["Week", "Calls"] and "退款" in heads
    assert [r[0] for r in rows] == ["2026-10-05", "2026-10-12", "2026-10-19"]
    assert sum(r[1] for r in rows) == 18
    checked += _check_cells(ctx, rows, cells)
    rows, heads, cells = groups_table(report, "agent", "zh-CN")
    assert heads[:2] == ["取值", "通话数"] and {r[0] for r in rows} == {"Li", "Wang", "王芳"}
    checked += _check_cells(ctx, rows, cells)
    rows, cells = bins_table(report, "longest_silence")
    assert rows[0][0] == "0–5" and rows[-1][0] == "≥ 120" and sum(r[1] for r in rows) == 18
    checked += _check_cells(ctx, rows, cells)
    assert groups_table(report, "nope", "en")[0] == [] and bins_table(report, None) == ([], [])
    assert checked > 60


def test_the_weekly_chart_stacks_labels_per_week(ctx: UIContext) -> None:
    report = _report(ctx)
    frame = weekly_frame(report, "zh-CN")
    assert list(frame.columns) == ["week", "label", "calls"]
    per_week = frame.groupby("week")["calls"].sum().to_dict()
    assert per_week == {w["start"]: w["calls"]["value"] for w in report["weeks"]}
    assert "退款" in set(frame["label"])
    # More labels than colours: the rest become one "other" series, nothing is lost.
    many = dict(report)
    many["labels"] = [
        {**report["labels"][0], "label": f"l{i}", "current": {"value": 1, "filter": {}}}
        for i in range(CHART_LABELS + 3)
    ]
    many["weeks"] = [
        {**report["weeks"][0], "labels": {f"l{i}": {"value": 1, "filter": {}} for i in range(13)}}
    ]
    frame = weekly_frame(many, "en")
    assert frame["calls"].sum() == 13 + many["weeks"][0]["unassigned"]["value"]
    assert "(other)" in set(frame["label"]) and len(set(frame["label"]) - {"(other)"}) <= 11


def test_a_week_without_calls_adds_no_nameless_series(ctx: UIContext) -> None:
    """The week before the corpus has no calls: it still shows, as a bar of height 0 of a
    label the chart has, not as a series of its own (a legend entry without a name)."""
    query = build_query("2026-09-28", "2026-10-25", "", "", "both", None, FIELDS)
    report = insights_dict(insights(ctx.runtime, query))
    assert report["weeks"][0]["calls"]["value"] == 0
    frame = weekly_frame(report, "en")
    assert "2026-09-28" in set(frame["week"])
    assert set(frame["label"]) == {c["label"] for c in report["labels"] if c["current"]["value"]}


def test_labels_after_a_period_without_calls_are_new(ctx: UIContext) -> None:
    """Before 5 October there were no calls: every label is "new", none "rising +N"."""
    report = _report(ctx)
    assert report["previous_calls"]["value"] == 0
    for lang, new in (("en", "new"), ("zh-CN", "新出现")):
        rows, _ = labels_table(report, lang)
        assert {r[4] for r in rows} == {new}
    en, zh = summary_markdown(report, "en"), summary_markdown(report, "zh-CN")
    assert "No calls in the previous period (2026-09-14 to 2026-10-04)" in en
    assert "Rising" not in en and "上一周期（2026-09-14 至 2026-10-04）没有通话" in zh
    # A week against the week before: risen, fallen, and a label with no call before is new.
    week = insights_dict(
        insights(ctx.runtime, build_query("2026-10-19", "2026-10-25", "", "", "both", None, FIELDS))
    )
    assert week["previous_calls"]["value"] > 0
    new = [c["label"] for c in week["new"]]
    assert "退款" in new and "退款" not in [c["label"] for c in week["rising"]]
    assert "**New**: `退款` (1)" in summary_markdown(week, "en")
    assert "**新出现**: `退款` (1)" in summary_markdown(week, "zh-CN")


def test_what_the_numbers_leave_out_is_said(ctx: UIContext) -> None:
    """The histograms cover the calls with timings; an empty table by a field says how calls
    get that field; in English and Chinese."""
    report = _report(ctx)
    assert timed_markdown(report, "en") == (
        "**18 of 18 calls** have timings (recordings): only they are in these histograms."
    )
    assert "**18 个通话中有 18 个**带时间信息" in timed_markdown(report, "zh-CN")
    assert missing_markdown(report, "agent", "en") == ""
    en, zh = (
        missing_markdown(report, "direction", "en"),
        missing_markdown(report, "direction", "zh-CN"),
    )
    assert en.startswith("No call of this period has **direction**") and "import-labels" in en
    # The field in the page's language, the column to import by its name.
    assert "本周期没有任何通话带有 **呼叫方向**" in zh and "名为 `direction` 的列" in zh
    numbers = dict((r[0], r[1]) for r in numbers_table(report, "en")[0])
    assert numbers["With timings (recordings)"] == 18


def test_a_number_lists_its_calls_like_the_calls_tab(ctx: UIContext) -> None:
    report = _report(ctx)
    label = next(c for c in report["labels"] if c["label"] == "delivery_delay")
    total, rows = drill(ctx, label["current"]["filter"])
    assert total == 7 == len(rows)
    ids = {r["call_id"] for r in rows}
    assert ids == {f"d{i}" for i in range(5)} | {"r-mislabeled", "new-1"}
    new = next(r for r in rows if r["call_id"] == "new-1")
    assert (new["predicted"], new["confidence"], new["labels"]) == ("delivery_delay", 0.41, "")
    assert all(r["text"] for r in rows)  # the Calls tab's opening words
    assert len(drill_table(rows)[0]) == 7
    assert drill(ctx, {"call_id": "nope"}) == (0, [])
    with pytest.raises(InputError, match="not a field of calls"):
        drill(ctx, {"text": "refund"})


def test_weeks_picked_on_the_chart(ctx: UIContext) -> None:
    report = _report(ctx)
    one = weeks_filter(report, ["2026-10-12"])
    assert one is not None and ctx.runtime.calls.count(one) == report["weeks"][1]["calls"]["value"]
    span = weeks_filter(report, ["2026-10-05", "2026-10-19"])
    assert ctx.runtime.calls.count(span) == 18
    assert weeks_filter(report, []) is None and weeks_filter(report, ["1999-01-04"]) is None
    assert weeks_filter(report, None) is None


def test_filters_and_texts(ctx: UIContext) -> None:
    narrow = _report(ctx, meta="agent=王芳", metric="longest_silence>=40")
    assert 0 < narrow["calls"]["value"] < 6
    en, zh = summary_markdown(narrow, "en"), summary_markdown(narrow, "zh-CN")
    assert "calls from 2026-10-05 to 2026-10-25" in en and "个通话" in zh
    empty = insights_dict(
        insights(ctx.runtime, build_query("2027-01-04", "2027-01-10", "", "", "both", None, FIELDS))
    )
    assert summary_markdown(empty, "en") == "No calls from 2027-01-04 to 2027-01-10."


def test_the_export_is_a_workbook(ctx: UIContext) -> None:
    path = Path(export_file(build_query(*PERIOD, "", "", "both", None, FIELDS), ctx))
    assert path.suffix == ".xlsx" and path.name.startswith("insights-2026-10-05-2026-10-25")
    book = openpyxl.load_workbook(path)
    assert "by agent" in book.sheetnames
    path.unlink()
    # From a Chinese page, a Chinese workbook.
    query = build_query(*PERIOD, "", "", "both", None, FIELDS)
    zh = Path(export_file(query, ctx, "zh-CN"))
    assert {"概览", "按agent"} <= set(openpyxl.load_workbook(zh).sheetnames)
    zh.unlink()


def test_the_tab_is_built_with_its_chart(ctx: UIContext) -> None:
    blocks = build_blocks(ctx)
    ids = {getattr(b, "elem_id", None) for b in blocks.blocks.values()}
    assert {"tab-insights", "insights-weekly", "insights-weeks", "insights-calls"} <= ids


def test_page_load_leaves_the_tab_s_tables_alone(ctx: UIContext) -> None:
    """Page load heads the ``ui.i18n.dataframe`` tables in the request's language by emptying
    them; a tab opened at once had its numbers wiped when that load came after them (a table
    without rows next to a filled summary). The tab's tables are headed by its own answers."""
    from ui.i18n import COLUMN_KEYS

    blocks = build_blocks(ctx)
    tables = [
        b
        for b in blocks.blocks.values()
        if getattr(b, "elem_id", None) and str(b.elem_id).startswith("insights-")
    ]
    frames = [b for b in tables if b.__class__.__name__ == "Dataframe"]
    assert {b.elem_id for b in frames} >= {"insights-numbers", "insights-weeks", "insights-calls"}
    assert not [b.elem_id for b in frames if getattr(b, COLUMN_KEYS, None)]
