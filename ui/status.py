"""Status tab: the models in use, collection and ledger sizes, whether an LLM is configured
(and how to configure one), and the recent background jobs."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from app.services.status import status
from ui.context import UIContext
from ui.i18n import I18N, dataframe, lang_of, t

JOB_COLUMNS = ("col.job", "col.kind", "col.state", "col.progress", "col.message", "col.created")


def status_markdown(ctx: UIContext, lang: str) -> str:
    report = status(ctx.runtime, failures=5, open_store=True)
    s = ctx.runtime.settings
    lines = [
        f"### {t('status.models', lang)}",
        f"- {t('status.speech', lang)}: `{report.speech_model}` ({report.speech_device})",
        f"- {t('status.embedding', lang)}: `{report.embedding_model}`",
    ]
    store = (
        f"Qdrant server {s.qdrant.url}"
        if s.qdrant.url
        else f"Qdrant Edge ({t('status.embedded', lang)})"
    )
    lines += ["", f"### {t('status.store', lang)}", f"- {store}"]
    if report.collection is not None:
        c = report.collection
        lines += [
            f"- {t('status.collection', lang)} `{c.name}`: {c.points} {t('status.chunks', lang)}, "
            f"{c.calls} {t('status.calls', lang)} · {c.model_id} ({c.dim}-d)"
        ]
    if report.store_error:
        lines.append(f"- ⚠ {report.store_error}")
    lines += [
        "",
        f"### {t('status.ledger', lang)}",
        " · ".join(f"{t('state.' + k, lang)} **{v}**" for k, v in report.ledger.items()),
    ]
    lines += [f"- ⚠ `{f.call_id}`: {f.error}" for f in report.failures]
    lines += ["", "### LLM"]
    if s.llm.enabled:
        lines.append(t("status.llm_on", lang).format(model=s.llm.model, url=s.llm.base_url))
    else:
        lines += [
            t("status.llm_off", lang),
            "",
            "```\nLLM__BASE_URL=https://api.example.com/v1\nLLM__MODEL=model-name\n"
            "LLM__API_KEY=...\n```",
        ]
    return "\n".join(lines)


def job_rows(ctx: UIContext, limit: int = 10) -> list[list[Any]]:
    jobs = ctx.jobs
    if jobs is None:
        return []
    _, listed = jobs.store.list(limit=limit)
    return [
        [
            j.id,
            j.kind,
            j.state,
            f"{j.done}/{j.total}" if j.total else str(j.done),
            j.error or j.message,
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(j.created_at)),
        ]
        for j in listed
    ]


def build(ctx: UIContext, tab: gr.Tab) -> None:
    refresh = gr.Button(I18N("status.refresh"), elem_id="status-refresh")
    text = gr.Markdown(elem_id="status-text")
    jobs = dataframe(
        JOB_COLUMNS,
        interactive=False,
        label=I18N("status.jobs"),
        elem_id="status-jobs",
    )

    def show(request: gr.Request) -> tuple:
        lang = lang_of(request)
        return status_markdown(ctx, lang), gr.Dataframe(
            value=job_rows(ctx), headers=[t(c, lang) for c in JOB_COLUMNS]
        )

    tab.select(show, None, [text, jobs], api_visibility="private")
    refresh.click(show, None, [text, jobs], api_visibility="private")
