"""Insights tab: the label mix per week (stacked bars), labels rising, falling and new against
the previous period, unknown and low-confidence shares, tables per agent/team/queue and the
metric distributions, over a period and filters; a click on any number lists the calls behind it
(the Calls tab's listing, ``ui.calls.browse_rows``) and a click on a call shows it as the call
view does (``app.services.call_views.get_call``); the XLSX export. What the numbers leave out is
said beside them: calls without a date, calls dated by their upload time, the calls the
histograms cover (those with timings), a metadata field no call has. Everything is counted by the
store's engine (``app.services.insights``)."""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import gradio as gr

from app.core.errors import CallScopeError, InputError
from app.core.filters import METRICS, CallFilter, metric_bound
from app.services.call_views import get_call
from app.services.insights import BINS, InsightsQuery, insights, insights_dict
from app.services.insights_xlsx import write_insights_xlsx
from app.services.inspection import rule_titles
from ui.call_view import call_markdown
from ui.calls import check_dates
from ui.context import UIContext
from ui.i18n import I18N, dropdown, lang_of, t, word
from ui.insights_tables import (
    BIN_COLUMNS,
    CATEGORY_COLUMNS,
    DRILL_COLUMNS,
    GROUP_COLUMNS,
    LABEL_COLUMNS,
    NUMBER_COLUMNS,
    WEEK_COLUMNS,
    bin_name,
    bins_table,
    categories_table,
    drill,
    drill_table,
    groups_table,
    labels_table,
    metric_frame,
    missing_markdown,
    numbers_table,
    summary_markdown,
    timed_markdown,
    weekly_frame,
    weeks_filter,
    weeks_table,
)
from ui.messages import refusal

SOURCES = ("both", "labels", "predicted")
#: Exported workbooks are kept this long in the temp dir (gradio serves its own copy).
EXPORT_SECONDS = 3600
#: Every metric's bins by their lower, then upper bound: each metric's bins in their order.
BIN_ORDER = [
    bin_name(lo, hi)
    for lo, hi in sorted(
        {
            (lo, hi)
            for edges in BINS.values()
            for lo, hi in zip(edges, [*edges[1:], None], strict=True)
        },
        key=lambda b: (b[0], math.inf if b[1] is None else b[1]),
    )
]


def build_query(
    dfrom: str | None,
    dto: str | None,
    meta: str | None,
    metric: str | None,
    source: str | None,
    low: float | None,
    metadata_fields: list[str],
) -> InsightsQuery:
    """The tab's fields as a query (``InputError`` naming the field that is wrong)."""
    start, end = check_dates(dfrom, dto)
    items = [item for item in (meta or "").split(",") if item.strip()]
    parsed = CallFilter.parse(items, metadata_fields)
    if replace(parsed, metadata=(), metrics=()) != CallFilter():
        raise InputError(
            f"metadata {meta!r}: use field=value with a field of {', '.join(metadata_fields)}"
        )
    bounds = tuple(metric_bound(m) for m in (metric or "").split(",") if m.strip())
    filters = CallFilter(
        date_from=date.fromisoformat(start) if start else None,
        date_to=date.fromisoformat(end) if end else None,
        metadata=parsed.metadata,
        metrics=(*parsed.metrics, *bounds),
    )
    return InsightsQuery(
        filters=filters,
        source=source or "both",
        low_confidence=None if low is None else float(low),
    )


def export_file(report_query: InsightsQuery, ctx: UIContext, lang: str = "en") -> str:
    """The workbook of a query in the page's language, written to the temp dir (older exports
    there are removed)."""
    folder = Path(tempfile.gettempdir()) / "callscope-insights"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.xlsx"):
        if time.time() - old.stat().st_mtime > EXPORT_SECONDS:
            old.unlink(missing_ok=True)
    report = insights(ctx.runtime, report_query)
    name = f"insights-{report.date_from.isoformat()}-{report.date_to.isoformat()}"
    path = Path(tempfile.mkstemp(prefix=name + "-", suffix=".xlsx", dir=folder)[1])
    return str(write_insights_xlsx(report, path, lang))


def _cell(evt: gr.SelectData) -> tuple[int | None, int | None]:
    index = evt.index if isinstance(evt.index, list | tuple) else (evt.index, None)
    return index[0], index[1] if len(index) > 1 else None


def _table(columns: tuple[str, ...], **kwargs: Any) -> gr.Dataframe:
    """A table of this tab, headed in English as built and in the request's language by every
    answer that fills it (the first when the tab opens). Not headed again on page load, as
    ``ui.i18n.dataframe`` tables are: that empties them, and a tab opened at once could have
    its numbers wiped by that load arriving after them."""
    return gr.Dataframe(headers=[t(c) for c in columns], interactive=False, **kwargs)


def build(ctx: UIContext, tab: gr.Tab) -> None:
    fields = list(ctx.settings.ingest.metadata_fields)
    with gr.Row():
        dfrom = gr.Textbox(label=I18N("filter.date_from"), placeholder="2026-09-01", scale=1)
        dto = gr.Textbox(label=I18N("filter.date_to"), placeholder="2026-11-30", scale=1)
        meta = gr.Textbox(
            label=I18N("filter.metadata"), placeholder="agent=Li, team=north", scale=2
        )
        metric = gr.Textbox(
            label=I18N("ins.metric_filter"), placeholder="longest_silence>=60", scale=2
        )
        source = dropdown(
            "source", SOURCES, value="both", label=I18N("ins.source"), info=I18N("ins.source_info")
        )
        low = gr.Number(
            ctx.settings.batch.low_confidence,
            label=I18N("ins.low"),
            minimum=0,
            maximum=1,
            step=0.05,
            scale=1,
        )
    with gr.Row():
        run = gr.Button(I18N("ins.run"), variant="primary", elem_id="insights-run")
        export = gr.Button(I18N("ins.export"), elem_id="insights-export")
        download = gr.File(
            label=I18N("ins.workbook"), elem_id="insights-file", visible=False, scale=2
        )
    summary = gr.Markdown(I18N("ins.help"), elem_id="insights-summary")
    chart = gr.BarPlot(
        x="week",
        y="calls",
        color="label",
        sort="x",
        x_label_angle=-40,
        label=I18N("ins.weekly"),
        elem_id="insights-weekly",
    )
    with gr.Row():
        numbers = _table(NUMBER_COLUMNS, elem_id="insights-numbers")
        labels = _table(LABEL_COLUMNS, elem_id="insights-labels")
    # A row of its own: a rule's title (two languages) left no room for its counts beside the
    # labels (a supervisor saw titles and no numbers).
    rules = _table(CATEGORY_COLUMNS, elem_id="insights-rules")
    weeks = _table(WEEK_COLUMNS, elem_id="insights-weeks")
    with gr.Row():
        with gr.Column():
            field = dropdown(
                "field", fields, value=fields[0] if fields else None, label=I18N("ins.group_by")
            )
            groups = _table(GROUP_COLUMNS, elem_id="insights-groups")
            group_note = gr.Markdown(elem_id="insights-group-note")
        with gr.Column():
            pick_metric = dropdown("metric", METRICS, value=METRICS[0], label=I18N("ins.metric"))
            timed_note = gr.Markdown(elem_id="insights-timed")
            bins = _table(BIN_COLUMNS, elem_id="insights-bins")
            # The chart is drawn anew (vega) when its order or titles change, and gradio hands
            # it the new bars before that drawing ends: they would be lost and the old bars
            # stay. So the order (every metric's bins) and the titles are given once; only the
            # bars and the label above the chart (not part of the drawing) follow the metric.
            metric_plot = gr.BarPlot(
                x="bin",
                y="calls",
                sort=BIN_ORDER,
                height=240,
                x_title=" ",
                label=I18N("ins.metric"),
                show_label=True,
                elem_id="insights-metric-plot",
            )
    gr.Markdown(I18N("ins.drill_help"))
    drill_title = gr.Markdown(elem_id="insights-drill-title")
    calls_table = _table(DRILL_COLUMNS, wrap=True, elem_id="insights-calls")
    transcript = gr.Markdown(elem_id="insights-transcript", max_height=420)
    report_state = gr.State(None)
    cells_state = gr.State({})
    drill_state = gr.State([])
    inputs = [dfrom, dto, meta, metric, source, low]

    def query_of(lang: str, *values: Any) -> InsightsQuery:
        try:
            return build_query(*values, fields)
        except InputError as exc:
            raise refusal(exc, lang) from None

    def show(
        dfrom: str,
        dto: str,
        meta: str,
        metric: str,
        source: str,
        low: float | None,
        field_value: str | None,
        metric_value: str | None,
        shown: list[str] | None,
        request: gr.Request,
    ) -> tuple:
        lang = lang_of(request)
        query = query_of(lang, dfrom, dto, meta, metric, source, low)
        try:
            report = insights_dict(insights(ctx.runtime, query))
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        number_rows, number_cells = numbers_table(report, lang)
        label_rows, label_cells = labels_table(report, lang)
        rule_rows, rule_cells = categories_table(report, lang, rule_titles(ctx.runtime))
        week_rows, week_heads, week_cells = weeks_table(report, lang)
        group_out, group_text, group_cells = _groups(report, field_value, lang)
        bin_out, plot_out, bin_cells = _bins(report, metric_value, lang, titles=True)
        cells = {
            "numbers": number_cells,
            "labels": label_cells,
            "rules": rule_cells,
            "weeks": week_cells,
            "groups": group_cells,
            "bins": bin_cells,
        }
        frame = weekly_frame(report, lang)
        # The first chart is drawn with its legend; later ones get theirs after (``legend``).
        first = {"colors_in_legend": _names(frame)} if shown is None else {}
        return (
            summary_markdown(report, lang),
            gr.BarPlot(
                value=frame,
                **first,
                x_title=t("ins.week", lang),
                y_title=t("ins.calls", lang),
                color_title=t("col.label", lang),
                # No calls, no bars: the summary says so (an empty chart would draw one
                # nameless legend entry).
                visible=bool(report["calls"]["value"]),
            ),
            gr.Dataframe(value=number_rows, headers=[t(c, lang) for c in NUMBER_COLUMNS]),
            gr.Dataframe(value=label_rows, headers=[t(c, lang) for c in LABEL_COLUMNS]),
            gr.Dataframe(value=rule_rows, headers=[t(c, lang) for c in CATEGORY_COLUMNS]),
            gr.Dataframe(value=week_rows, headers=week_heads),
            group_out,
            group_text,
            timed_markdown(report, lang),
            bin_out,
            plot_out,
            report,
            cells,
            # The calls listed for the numbers shown before are gone with them.
            "",
            gr.Dataframe(value=[], headers=[t(c, lang) for c in DRILL_COLUMNS]),
            [],
            "",
            first.get("colors_in_legend", shown),
        )

    def _names(frame: Any) -> list[str]:
        return list(dict.fromkeys(frame["label"]))

    def _groups(report: dict, field_value: str | None, lang: str) -> tuple[Any, str, Any]:
        rows, heads, cells = groups_table(report, field_value, lang)
        note = missing_markdown(report, field_value, lang)
        return gr.Dataframe(value=rows, headers=heads), note, cells

    def _bins(
        report: dict, metric_value: str | None, lang: str, *, titles: bool = False
    ) -> tuple[Any, Any, Any]:
        rows, cells = bins_table(report, metric_value)
        # Titles only with the whole report (the same each time): see the chart's comment.
        axes = {"x_title": t("ins.bin", lang), "y_title": t("ins.calls", lang)} if titles else {}
        plot = gr.BarPlot(
            value=metric_frame(report, metric_value),
            label=t("ins.metric_plot", lang).format(
                metric=word("metric", metric_value or "", lang)
            ),
            **axes,
        )
        return gr.Dataframe(value=rows, headers=[t(c, lang) for c in BIN_COLUMNS]), plot, cells

    def regroup(report: dict | None, cells: dict, field_value: str, request: gr.Request):
        if not report:
            return gr.skip(), gr.skip(), cells
        table, note, group_cells = _groups(report, field_value, lang_of(request))
        return table, note, {**cells, "groups": group_cells}

    def remetric(report: dict | None, cells: dict, metric_value: str, request: gr.Request):
        if not report:
            return gr.skip(), gr.skip(), cells
        table, plot, bin_cells = _bins(report, metric_value, lang_of(request))
        return table, plot, {**cells, "bins": bin_cells}

    def listed(spec: dict[str, Any] | None, what: str, lang: str) -> tuple:
        if spec is None:
            return gr.skip(), gr.skip(), gr.skip()
        try:
            total, rows = drill(ctx, spec)
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        title = t("ins.drill_title", lang).format(n=total, what=what)
        if total > len(rows):
            title += t("ins.drill_more", lang).format(shown=len(rows))
        table = gr.Dataframe(value=drill_table(rows), headers=[t(c, lang) for c in DRILL_COLUMNS])
        return title, table, rows

    def picker(name: str):
        def pick(cells: dict, evt: gr.SelectData, request: gr.Request) -> tuple:
            row, col = _cell(evt)
            grid = cells.get(name) or []
            if row is None or col is None or row >= len(grid) or col >= len(grid[row]):
                return gr.skip(), gr.skip(), gr.skip()
            what = " · ".join(str(v) for v in (evt.row_value or [])[:1]) or name
            return listed(grid[row][col], f"{what} ({evt.value})", lang_of(request))

        return pick

    def pick_weeks(report: dict | None, evt: gr.SelectData, request: gr.Request) -> tuple:
        spec = weeks_filter(report, evt.value) if report else None
        return listed(spec, ", ".join(map(str, evt.value or [])), lang_of(request))

    def open_call(rows: list[dict[str, Any]], evt: gr.SelectData, request: gr.Request) -> str:
        row, _ = _cell(evt)
        if row is None or row >= len(rows):
            return gr.skip()
        view = get_call(ctx.runtime, rows[row]["call_id"])
        lang = lang_of(request)
        if view is None:
            return t("calls.gone", lang)
        return call_markdown(view, lang)

    def export_it(
        dfrom: str,
        dto: str,
        meta: str,
        metric: str,
        source: str,
        low: float | None,
        request: gr.Request,
    ) -> Any:
        lang = lang_of(request)
        query = query_of(lang, dfrom, dto, meta, metric, source, low)
        try:
            return gr.File(value=export_file(query, ctx, lang), visible=True)
        except CallScopeError as exc:
            raise refusal(exc, lang) from None

    outputs = [summary, chart, numbers, labels, rules, weeks, groups, group_note, timed_note, bins]
    outputs += [metric_plot]
    outputs += [report_state, cells_state, drill_title, calls_table, drill_state, transcript]
    legend_state = gr.State(None)
    outputs += [legend_state]

    def legend(report: dict | None, shown: list[str] | None, request: gr.Request) -> tuple:
        """The weekly chart's legend: the labels now drawn. The chart fixes its colours when it
        is drawn anew, which a new legend makes it do; sent with the bars of a chart already
        drawn, that drawing starts before the bars arrive and keeps the old ones, so it comes
        after them, and only when the labels changed (the same labels keep their colours, and
        the chart is not drawn again)."""
        if not report:
            return gr.skip(), shown
        names = _names(weekly_frame(report, lang_of(request)))
        if names == shown:
            return gr.skip(), shown
        return gr.BarPlot(colors_in_legend=names), names

    for trigger in (run.click, tab.select):
        trigger(
            show, [*inputs, field, pick_metric, legend_state], outputs, api_visibility="private"
        ).success(
            legend, [report_state, legend_state], [chart, legend_state], api_visibility="private"
        )
    field.change(
        regroup,
        [report_state, cells_state, field],
        [groups, group_note, cells_state],
        api_visibility="private",
    )
    pick_metric.change(
        remetric,
        [report_state, cells_state, pick_metric],
        [bins, metric_plot, cells_state],
        api_visibility="private",
    )
    drilled = [drill_title, calls_table, drill_state]
    for name, table in (
        ("numbers", numbers),
        ("labels", labels),
        ("rules", rules),
        ("weeks", weeks),
        ("groups", groups),
        ("bins", bins),
    ):
        table.select(picker(name), [cells_state], drilled, api_visibility="private")
    chart.select(pick_weeks, [report_state], drilled, api_visibility="private")
    calls_table.select(open_call, [drill_state], [transcript], api_visibility="private")
    export.click(export_it, inputs, [download], api_visibility="private")
