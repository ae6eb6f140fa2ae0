"""Label-quality tab: start a run (a background job, with progress), review the suspects of the
latest or a chosen run, accept the suggested label or type another (``apply_corrections``), and
see the run's plots (confusion heatmap, per-label F1, score histogram)."""

from __future__ import annotations

import csv
import html
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from app.services import label_runs
from eval.quality.issue import LabelIssue
from ui.context import UIContext, follow_job
from ui.i18n import I18N, dataframe, lang_of, t

SUSPECT_COLUMNS = (
    "col.call",
    "col.given",
    "col.suggested",
    "col.score",
    "col.reasons",
    "col.current",
)


def read_issues(out: str | Path) -> list[dict[str, str]]:
    """The rows of a run's ``label_issues.csv`` (empty when the run's files are gone)."""
    path = Path(out) / "label_issues.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _score(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def suspects(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The flagged rows, most suspicious first."""
    flagged = [r for r in rows if str(r.get("flagged", "")).lower() == "true"]
    flagged.sort(
        key=lambda r: (
            -_score(r.get("score", "")) if not math.isnan(_score(r.get("score", ""))) else 0
        )
    )
    return [
        {
            "id": r["id"],
            "given": r["given_label"],
            "suggested": r["suggested_label"],
            "score": round(_score(r["score"]), 3),
            "reasons": r.get("reasons", ""),
        }
        for r in flagged
    ]


def plots_html(summary: dict[str, Any], rows: list[dict[str, str]]) -> str:
    """The run's figures, drawn by the report's own plotting code, as inline PNGs."""
    from eval.quality.report import figures as report_figures

    issues = [
        LabelIssue(
            row=int(r.get("row") or 0),
            call_id=r["id"],
            given_label=r["given_label"],
            suggested_label=r["suggested_label"],
            score=_score(r["score"]),
            flagged=str(r.get("flagged", "")).lower() == "true",
        )
        for r in rows
    ]
    issues.sort(key=lambda i: -i.score if not math.isnan(i.score) else math.inf)
    figures = report_figures(issues, summary)
    return "".join(
        f'<figure class="lq-plot"><img alt="{html.escape(cap)}" src="data:image/png;base64,{png}"/>'
        f"<figcaption>{html.escape(cap)}</figcaption></figure>"
        for png, cap in figures
    )


def summary_markdown(summary: dict[str, Any], lang: str) -> str:
    head = t("lq.summary", lang).format(
        run=summary.get("run_id"),
        health=summary.get("health"),
        n=summary.get("n"),
        flagged=summary.get("n_flagged"),
    )
    warnings = "".join(f"\n- ⚠ {w}" for w in summary.get("warnings") or [])
    return head + warnings


def run_choices(ctx: UIContext) -> list[tuple[str, int]]:
    listed = label_runs.list_runs(ctx.settings)
    return [
        (
            f"#{r['run_id']} · {r['started_at']} · health {r['health']} · "
            f"flagged {r['n_flagged']}/{r['n']}",
            r["run_id"],
        )
        for r in listed
    ]


def load_run(ctx: UIContext, run_id: int | None, lang: str) -> tuple[str, Any, str, list[dict]]:
    """Summary text, suspects table, plots HTML and the suspects (for row selection)."""
    if run_id is None:
        return t("lq.no_runs", lang), _table([], lang), "", []
    summary = label_runs.run_summary(ctx.settings, int(run_id))
    rows = read_issues(summary.get("out", ""))
    found = suspects(rows)
    ledger = ctx.runtime.ledger
    for s in found:
        row = ledger.get(s["id"])
        s["current"] = row.labels[0] if row and row.labels else ""
    text = summary_markdown(summary, lang)
    if not rows:
        text += "\n\n" + t("lq.files_gone", lang)
    elif not found:
        text += "\n\n" + t("lq.no_suspects", lang)
    return text, _table(found, lang), plots_html(summary, rows), found


def _table(found: list[dict[str, Any]], lang: str) -> Any:
    keys = ("id", "given", "suggested", "score", "reasons", "current")
    return gr.Dataframe(
        value=[[s.get(k, "") for k in keys] for s in found],
        headers=[t(c, lang) for c in SUSPECT_COLUMNS],
    )


def relabel(ctx: UIContext, call_id: str, label: str, run_id: Any, lang: str) -> str:
    """Apply one correction through ``ingest.relabel`` and say what happened."""
    from ingest.relabel import Correction, apply_corrections

    call_id, label = (call_id or "").strip(), (label or "").strip()
    if not call_id or not label:
        raise gr.Error(t("lq.pick_first", lang))
    source = f"ui label run {run_id}" if run_id else "ui"
    report = apply_corrections(ctx.runtime, [Correction(call_id, label, source)], source)
    if report.changed:
        c = report.changed[0]
        return t("lq.relabeled", lang).format(
            call=call_id, old=", ".join(c.old), new=", ".join(c.new)
        )
    if report.unchanged:
        return t("lq.unchanged", lang).format(call=call_id, label=label)
    reason = report.skipped[0][1] if report.skipped else "?"
    return t("lq.skipped", lang).format(call=call_id, reason=reason)


def build(ctx: UIContext, tab: gr.Tab) -> list[gr.Dropdown]:
    """The tab's components (the latest run loads when the tab opens); returns its label
    dropdowns (filled when the page loads)."""
    with gr.Row():
        run_btn = gr.Button(I18N("lq.start"), variant="primary", scale=1, elem_id="lq-start")
        pick = gr.Dropdown([], label=I18N("lq.runs"), scale=3, elem_id="lq-runs")
    progress = gr.Markdown(elem_id="lq-progress")
    summary = gr.Markdown(elem_id="lq-summary")
    table = dataframe(
        SUSPECT_COLUMNS,
        interactive=False,
        label=I18N("lq.suspects"),
        wrap=True,
        elem_id="lq-suspects",
    )
    with gr.Row():
        call = gr.Textbox(label=I18N("lq.call"), interactive=False, elem_id="lq-call")
        suggested = gr.Textbox(
            label=I18N("col.suggested"), interactive=False, elem_id="lq-suggested"
        )
        new_label = gr.Dropdown(
            [], label=I18N("lq.new_label"), allow_custom_value=True, elem_id="lq-new-label"
        )
    with gr.Row():
        accept = gr.Button(I18N("lq.accept"), variant="primary", elem_id="lq-accept")
        other = gr.Button(I18N("lq.relabel"), elem_id="lq-relabel")
    message = gr.Markdown(elem_id="lq-message")
    plots = gr.HTML(elem_id="lq-plots")
    found = gr.State([])

    def start(request: gr.Request) -> Iterator[tuple]:
        lang = lang_of(request)
        jobs = ctx.jobs
        if jobs is None:
            raise gr.Error(t("jobs.unavailable", lang))
        job = yield from follow_job(
            jobs, jobs.submit("label_run", {"adjudicate": None}), lang, (gr.skip(),) * 5
        )
        if job is None:
            return
        run_id = job.result.get("run_id")
        text, tbl, figs, sus = load_run(ctx, run_id, lang)
        done = t("lq.done", lang).format(run=run_id)
        yield done, gr.Dropdown(choices=run_choices(ctx), value=run_id), text, tbl, figs, sus

    def init(request: gr.Request) -> tuple:
        choices = run_choices(ctx)
        latest = choices[0][1] if choices else None
        return gr.Dropdown(choices=choices, value=latest), *load_run(ctx, latest, lang_of(request))

    def show(run_id: int | None, request: gr.Request) -> tuple:
        return load_run(ctx, run_id, lang_of(request))

    def select(rows: list[dict[str, Any]], evt: gr.SelectData) -> tuple:
        i = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if i is None or i >= len(rows):
            return gr.skip(), gr.skip(), gr.skip()
        return rows[i]["id"], rows[i]["suggested"], gr.Dropdown(value=rows[i]["suggested"])

    def apply(call_id: str, label: str, run_id: Any, request: gr.Request) -> tuple:
        lang = lang_of(request)
        msg = relabel(ctx, call_id, label, run_id, lang)
        if not run_id:
            return msg, gr.skip(), gr.skip()
        _, tbl, _, sus = load_run(ctx, run_id, lang)
        return msg, tbl, sus

    tab.select(init, None, [pick, summary, table, plots, found], api_visibility="private")
    run_btn.click(
        start, None, [progress, pick, summary, table, plots, found], api_visibility="private"
    )
    pick.input(show, [pick], [summary, table, plots, found], api_visibility="private")
    table.select(select, [found], [call, suggested, new_label], api_visibility="private")
    accept.click(apply, [call, suggested, pick], [message, table, found], api_visibility="private")
    other.click(apply, [call, new_label, pick], [message, table, found], api_visibility="private")
    return [new_label]
