"""Status tab, in words a supervisor reads: how many calls are ready, waiting or failed (and
why), whether answers are written by an LLM (and how to configure one), and the recent
background jobs; the models and the store are under "Technical details". Refreshed when the
tab opens, by the button, and every few seconds while a job runs."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from app.core.config import Settings
from app.services.llm_trust import trust_state
from app.services.status import Status, status
from ui.context import UIContext
from ui.i18n import I18N, dataframe, job_word, lang_of, t
from ui.messages import error_text, job_message

JOB_COLUMNS = ("col.job", "col.kind", "col.state", "col.progress", "col.message", "col.created")
#: Seconds between refreshes while a job is queued or running.
REFRESH_SECONDS = 3.0
_RUNNING = ("queued", "running")


def calls_markdown(report: Status, lang: str) -> str:
    """The calls: ready (indexed), on their way, failed with the first reasons."""
    ledger = report.ledger
    ready = ledger.get("indexed", 0)
    waiting = ledger.get("pending", 0) + ledger.get("transcribed", 0)
    failed = ledger.get("failed", 0)
    lines = [f"### {t('status.calls_title', lang)}"]
    if not any(ledger.values()):
        lines.append(t("status.no_calls", lang))
    else:
        lines.append(t("status.ready", lang).format(n=ready))
        if report.collection is not None:
            lines.append(t("status.turns", lang).format(n=report.collection.points))
        if waiting:
            lines.append(t("status.waiting", lang).format(n=waiting))
        if failed:
            lines.append(t("status.failed", lang).format(n=failed))
    lines = [lines[0], *(f"- {line}" for line in lines[1:])]
    lines += [f"  - `{f.call_id}`: {error_text(f.error or '', lang)}" for f in report.failures]
    if report.store_error:
        lines.append(f"- ⚠ {t('status.store_error', lang)}: {error_text(report.store_error, lang)}")
    return "\n".join(lines)


def llm_markdown(ctx: UIContext, lang: str) -> str:
    s = ctx.runtime.settings
    lines = [f"### {t('status.llm_title', lang)}"]
    if s.llm.enabled:
        lines.append(t("status.llm_on", lang).format(model=s.llm.model, url=s.llm.base_url))
        lines += ["", trust_text(ctx, lang)]
    else:
        lines += [
            t("status.llm_off", lang),
            "",
            "```\nLLM__BASE_URL=https://api.example.com/v1\nLLM__MODEL=model-name\n"
            "LLM__API_KEY=...\n```",
        ]
    return "\n".join(lines)


def trust_text(ctx: UIContext, lang: str) -> str:
    """Where the LLM may decide classifications, as measured on the labeled calls, and how far
    a measurement running in the background has got."""
    s = ctx.runtime.settings.llm
    if s.trust != "measure":
        return t(f"status.trust_{s.trust}", lang)
    state = trust_state(ctx.runtime)
    found = state.measured
    lines = []
    if found is None:
        lines.append(t("status.trust_none", lang))
    else:
        bands = [t(f"status.band_{b.band}", lang) for b in found.bands if b.trusted]
        where = (
            t("status.trust_bands", lang).format(bands=t("status.band_join", lang).join(bands))
            if bands
            else t("status.trust_nothing", lang)
        )
        lines.append(
            t("status.trust", lang).format(
                n=found.calls, knn=found.knn_right, llm=found.llm_right, where=where
            )
            + (f" {t('status.trust_stale', lang)}" if state.stale else "")
        )
    running = state.measuring
    if running is not None and running.running:
        lines.append(
            t("status.trust_measuring", lang).format(done=running.done, total=running.total)
        )
    elif running is not None:
        lines.append(t("status.trust_failed", lang).format(error=running.error))
    return "\n\n".join(lines)


def technical_markdown(report: Status, lang: str, settings: Settings | None = None) -> str:
    """The models and the store, for whoever runs the service (``settings``: the runtime's,
    to say which store in ``lang``; the report says it in English)."""
    lines = [
        f"- {t('status.speech', lang)}: `{report.speech_model}` (`{report.speech_device}`)",
        f"- {t('status.embedding', lang)}: `{report.embedding_model}`",
        f"- {t('status.store', lang)}: {_store(settings, lang) if settings else report.store}",
    ]
    if report.collection is not None:
        c = report.collection
        lines.append(
            t("status.collection_line", lang).format(
                name=c.name, points=c.points, calls=c.calls, model=c.model_id, dim=c.dim
            )
        )
    lines.append(f"- {t('status.state_dir', lang)}: `{report.state_dir}`")
    return "\n".join(lines)


def status_markdown(ctx: UIContext, lang: str) -> tuple[str, str]:
    """The tab's main text (calls, LLM, when it was read) and its technical details."""
    report = status(ctx.runtime, failures=5, open_store=True)
    stamp = t("status.updated", lang).format(at=time.strftime("%H:%M:%S"))
    main = "\n\n".join([calls_markdown(report, lang), llm_markdown(ctx, lang), f"_{stamp}_"])
    return main, technical_markdown(report, lang, ctx.runtime.settings)


def _store(settings: Settings, lang: str) -> str:
    if settings.qdrant.url:
        return t("status.store_server", lang).format(url=settings.qdrant.url)
    return t("status.store_edge", lang).format(dir=f"`{settings.paths.shards}`")


def job_rows(ctx: UIContext, lang: str = "en", limit: int = 10) -> tuple[list[list[Any]], bool]:
    """The recent jobs as table rows (their kind and state in ``lang``), and whether any is
    still queued or running."""
    jobs = ctx.jobs
    if jobs is None:
        return [], False
    _, listed = jobs.store.list(limit=limit)
    rows = [
        [
            j.id,
            job_word("kind", j.kind, lang),
            job_word("state", j.state, lang),
            f"{j.done}/{j.total}" if j.total else str(j.done),
            error_text(j.error, lang) if j.error else job_message(j.message, lang),
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(j.created_at)),
        ]
        for j in listed
    ]
    return rows, any(j.state in _RUNNING for j in listed)


def build(ctx: UIContext, tab: gr.Tab) -> None:
    with gr.Row():
        refresh = gr.Button(
            I18N("status.refresh"), size="sm", scale=0, min_width=120, elem_id="status-refresh"
        )
    text = gr.Markdown(elem_id="status-text")
    jobs = dataframe(
        JOB_COLUMNS,
        interactive=False,
        label=I18N("status.jobs"),
        elem_id="status-jobs",
    )
    with gr.Accordion(I18N("status.technical"), open=False, elem_id="status-technical"):
        technical = gr.Markdown(elem_id="status-technical-text")
    # Ticks only while a job is queued or running (each refresh decides whether it goes on).
    timer = gr.Timer(REFRESH_SECONDS, active=False)

    def show(request: gr.Request) -> tuple:
        lang = lang_of(request)
        main, details = status_markdown(ctx, lang)
        rows, running = job_rows(ctx, lang)
        table = gr.Dataframe(value=rows, headers=[t(c, lang) for c in JOB_COLUMNS])
        return main, table, details, gr.Timer(active=running)

    outputs = [text, jobs, technical, timer]
    gr.on(
        [tab.select, refresh.click, timer.tick],
        show,
        None,
        outputs,
        show_progress="hidden",
        api_visibility="private",
    )
