"""Label-quality tab: start a run (a background job whose progress moves through every stage),
review the suspects of the latest or a chosen run (every label of a call, the suggested change
and the reasons in words, the call's transcript beside the table: ``ui.label_review``), and see
the run's plots (confusion heatmap, per-label F1, score histogram). Runs, their rows and their
plots come from ``app.services.label_runs``; label changes go through ``app.services.labels``.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import gradio as gr

from app.services import label_runs, labels
from ui import label_review
from ui.context import UIContext
from ui.i18n import I18N, dataframe, job_word, lang_of, t
from ui.messages import STAGE_KEYS, error_text, known_text

SUSPECT_COLUMNS = (
    "col.call",
    "col.given_labels",
    "col.suggestion",
    "col.score",
    "col.reasons",
    "col.current_labels",
)
#: How often a running run's progress is looked at: a run of a few hundred calls takes seconds,
#: and each of its steps (a fold of the light model) should show.
POLL_SECONDS = 0.25


def suspects(
    issues: list[label_runs.LabelIssue], current: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """The flagged rows, most suspicious first, with each call's labels now."""
    flagged = sorted((i for i in issues if i.flagged), key=lambda i: -i.score)
    return [
        {
            "id": i.call_id,
            "given": i.labels,
            "add": list(i.add),
            "remove": list(i.remove),
            "score": round(i.score, 3),
            "reasons": list(i.reasons),
            "conflicts": list(i.conflicts),
            "current": current.get(i.call_id, []),
        }
        for i in flagged
    ]


def table_rows(found: list[dict[str, Any]], lang: str) -> list[list[Any]]:
    """The suspects table: every label of a call, the suggestion and reasons in words."""
    return [
        [
            s["id"],
            label_review.labels_text(s["given"], lang),
            label_review.change_text(s["add"], s["remove"], lang),
            s["score"],
            label_review.reasons_text(s["reasons"], s["conflicts"], lang),
            label_review.labels_text(s["current"], lang),
        ]
        for s in found
    ]


def plots_html(ctx: UIContext, run_id: int, lang: str = "en") -> str:
    """The run's figures, drawn by the report's own plotting code, as inline PNGs, with their
    axes, legend and captions in ``lang``."""
    return "".join(
        f'<figure class="lq-plot"><img alt="{html.escape(cap)}" src="data:image/png;base64,{png}"/>'
        f"<figcaption>{html.escape(cap)}</figcaption></figure>"
        for png, cap in label_runs.run_figures(ctx.settings, run_id, lang)
    )


def summary_markdown(summary: dict[str, Any], lang: str) -> str:
    head = t("lq.summary", lang).format(
        run=summary.get("run_id"),
        health=summary.get("health"),
        n=summary.get("n"),
        flagged=summary.get("n_flagged"),
    )
    warnings = "".join(f"\n- ⚠ {known_text(w, lang)}" for w in summary.get("warnings") or [])
    return head + warnings


def run_choices(ctx: UIContext, lang: str) -> list[tuple[str, int]]:
    return [
        (
            t("lq.run_choice", lang).format(
                run=r["run_id"],
                at=r["started_at"],
                health=r["health"],
                flagged=r["n_flagged"],
                n=r["n"],
            ),
            r["run_id"],
        )
        for r in label_runs.list_runs(ctx.settings)
    ]


def load_run(ctx: UIContext, run_id: int | None, lang: str) -> tuple[str, Any, str, list[dict]]:
    """Summary text, suspects table, plots HTML and the suspects (for row selection)."""
    if run_id is None:
        return t("lq.no_runs", lang), _table([], lang), "", []
    summary = label_runs.run_summary(ctx.settings, int(run_id))
    issues = label_runs.run_issues(ctx.settings, int(run_id))
    flagged = [i.call_id for i in issues if i.flagged]
    found = suspects(issues, labels.labels_of(ctx.runtime, flagged))
    text = summary_markdown(summary, lang)
    if not issues:
        text += "\n\n" + t("lq.files_gone", lang)
    elif not found:
        text += "\n\n" + t("lq.no_suspects", lang)
    return text, _table(found, lang), plots_html(ctx, int(run_id), lang) if issues else "", found


def _table(found: list[dict[str, Any]], lang: str) -> Any:
    return gr.Dataframe(
        value=table_rows(found, lang), headers=[t(c, lang) for c in SUSPECT_COLUMNS]
    )


def progress_note(job: Any, lang: str) -> str:
    """A running run's progress in the page's language: percent and stage."""
    key = STAGE_KEYS.get(job.message or "")
    if job.state == "queued" or key is None:
        return t("lq.queued", lang).format(id=job.id)
    percent = round(100 * job.done / job.total) if job.total else 0
    return t("lq.running", lang).format(
        id=job.id, percent=percent, stage=t(f"lq.stage.{key}", lang)
    )


def follow(jobs: Any, job: Any, lang: str, pad: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """Yields ``(note, *pad)`` while the run's job runs; returns the finished job (None when it
    failed, after saying why)."""
    while not job.finished:
        yield (progress_note(job, lang), *pad)
        job = jobs.wait(job.id, timeout=POLL_SECONDS)
    if job.state != "done" or not job.result:
        state = job_word("state", job.state, lang)
        error = error_text(job.error or job.message, lang)
        yield (t("lq.failed", lang).format(state=state, error=error), *pad)
        return None
    return job


def build(ctx: UIContext, tab: gr.Tab) -> list[gr.Dropdown]:
    """The tab's components (the latest run loads when the tab opens). Its label editor is
    filled when a suspect is selected, so no dropdown is returned for the page's load."""
    with gr.Row():
        run_btn = gr.Button(I18N("lq.start"), variant="primary", scale=1, elem_id="lq-start")
        pick = gr.Dropdown([], label=I18N("lq.runs"), scale=3, elem_id="lq-runs")
    progress = gr.Markdown(elem_id="lq-progress")
    summary = gr.Markdown(elem_id="lq-summary")
    with gr.Row(equal_height=False):
        # Narrower than this, the transcript goes under the table: its columns (fixed shares of
        # its width) would be too narrow for their headers.
        with gr.Column(scale=3, min_width=560):
            table = dataframe(
                SUSPECT_COLUMNS,
                interactive=False,
                label=I18N("lq.suspects"),
                wrap=True,
                column_widths=["13%", "18%", "19%", "9%", "25%", "16%"],
                elem_id="lq-suspects",
            )
        with gr.Column(scale=2):
            transcript = gr.Markdown(
                I18N("lq.pick_hint"), elem_id="lq-transcript", max_height=520, container=True
            )
    found = gr.State([])

    def refresh(run_id: Any, lang: str) -> tuple:
        if not run_id:
            return gr.skip(), gr.skip()
        _, tbl, _, rows = load_run(ctx, run_id, lang)
        return tbl, rows

    review = label_review.build(ctx, pick, transcript, refresh, [table, found])
    plots = gr.HTML(elem_id="lq-plots")

    def start(request: gr.Request) -> Iterator[tuple]:
        lang = lang_of(request)
        jobs = ctx.jobs
        if jobs is None:
            raise gr.Error(t("jobs.unavailable", lang))
        job = yield from follow(
            jobs, jobs.submit("label_run", {"adjudicate": None}), lang, (gr.skip(),) * 5
        )
        if job is None:
            return
        run_id = job.result.get("run_id")
        text, tbl, figs, sus = load_run(ctx, run_id, lang)
        done = t("lq.done", lang).format(run=run_id)
        yield done, gr.Dropdown(choices=run_choices(ctx, lang), value=run_id), text, tbl, figs, sus

    def init(request: gr.Request) -> tuple:
        lang = lang_of(request)
        choices = run_choices(ctx, lang)
        latest = choices[0][1] if choices else None
        return gr.Dropdown(choices=choices, value=latest), *load_run(ctx, latest, lang)

    def show(run_id: int | None, request: gr.Request) -> tuple:
        return load_run(ctx, run_id, lang_of(request))

    def select(rows: list[dict[str, Any]], evt: gr.SelectData, request: gr.Request) -> tuple:
        i = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if i is None or i >= len(rows):
            return tuple(gr.skip() for _ in review.outputs())
        return review.opened(ctx, rows[i], lang_of(request))

    private = {"api_visibility": "private"}
    tab.select(init, None, [pick, summary, table, plots, found], **private)
    run_btn.click(start, None, [progress, pick, summary, table, plots, found], **private)
    pick.input(show, [pick], [summary, table, plots, found], **private)
    table.select(select, [found], review.outputs(), **private)
    return []
