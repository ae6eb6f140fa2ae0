"""Builds the Blocks and mounts them at ``/ui`` on the API's FastAPI app.

``create_app`` calls :func:`mount_ui` once; the handlers reach the Runtime and the job queue
through ``app.state`` when they run, so the UI and the API share one set of models and one store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from app.core.config import Settings
from app.core.errors import CallScopeError
from app.services.labels import known_labels
from ui import ask, calls, classify, insights, label_quality, quality, status, topics
from ui.auth import access_mode, login_check
from ui.context import UIContext
from ui.i18n import EN, I18N, ZH, localize_choices, localize_tables

if TYPE_CHECKING:
    from fastapi import FastAPI

UI_PATH = "/ui"

#: System fonts only: nothing is fetched from a font CDN.
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
CSS = """
.lq-plot { display: inline-block; vertical-align: top; margin: 0 1em 1em 0; }
.lq-plot img { max-width: 520px; }
.lq-plot figcaption { font-size: 13px; color: #555; }
/* A table header breaks between words only: Chinese text may break between any two characters,
   and a narrow column stacked its header one character per line. Columns fit their headers. */
.header-cell .header { word-break: keep-all; overflow-wrap: normal; }
/* Gradio writes "processing | 0.4s" over a running event's outputs, in English whatever the
   page's language: a Chinese page shows the spinner without it. */
:lang(zh) .progress-text { display: none; }
"""
#: Uploaded and played files leave gradio's cache after a day (checked hourly).
DELETE_CACHE = (3600, 86400)


def build_blocks(ctx: UIContext) -> gr.Blocks:
    """The tabs over the shared runtime: ask, classify, calls, label quality, topics, insights
    and status."""
    with gr.Blocks(title="CallScope", analytics_enabled=False, delete_cache=DELETE_CACHE) as blocks:
        gr.Markdown("## CallScope", elem_id="title")
        gr.Markdown(I18N("app.subtitle"), elem_id="subtitle")
        dropdowns: list[gr.Dropdown] = []
        with gr.Tabs():
            with gr.Tab(I18N("tab.ask"), id="ask", elem_id="tab-ask"):
                dropdowns += ask.build(ctx)
            with gr.Tab(I18N("tab.classify"), id="classify", elem_id="tab-classify"):
                classify.build(ctx)
            with gr.Tab(I18N("tab.calls"), id="calls", elem_id="tab-calls") as tab:
                dropdowns += calls.build(ctx, tab)
            with gr.Tab(I18N("tab.label_quality"), id="label-quality", elem_id="tab-lq") as tab:
                dropdowns += label_quality.build(ctx, tab)
            with gr.Tab(I18N("tab.topics"), id="topics", elem_id="tab-topics") as tab:
                topics.build(ctx, tab)
            with gr.Tab(I18N("tab.insights"), id="insights", elem_id="tab-insights") as tab:
                insights.build(ctx, tab)
            with gr.Tab(I18N("tab.quality"), id="quality", elem_id="tab-quality") as tab:
                quality.build(ctx, tab)
            with gr.Tab(I18N("tab.status"), id="status", elem_id="tab-status") as tab:
                status.build(ctx, tab)

        def labels() -> list[gr.Dropdown]:
            try:
                known = known_labels(ctx.runtime)
            except CallScopeError:  # the page still opens; Status says what is wrong
                known = []
            return [gr.Dropdown(choices=["", *known], value="") for _ in dropdowns]

        blocks.load(labels, None, dropdowns, api_visibility="private")
        localize_tables(blocks)
        localize_choices(blocks)
    return blocks


def build_closed() -> gr.Blocks:
    """What the UI shows when neither API keys nor dev mode are configured: only how to fix it
    (no handler here can reach the calls)."""
    with gr.Blocks(title="CallScope", analytics_enabled=False) as blocks:
        gr.Markdown(I18N("closed.message"), elem_id="closed")
    return blocks


def mount_ui(app: FastAPI, settings: Settings | None = None, path: str = UI_PATH) -> FastAPI:
    """Mount the UI on ``app`` at ``path``, protected like the API (see ``ui.auth``)."""
    settings = settings or app.state.settings
    mode = access_mode(settings.api)
    ctx = UIContext(app, settings)
    if mode == "closed":
        blocks, allowed = build_closed(), []
    else:
        # Recordings are allowed one file at a time, as they are played (UIContext.playable).
        blocks, allowed = build_blocks(ctx), []
    ctx.blocks = blocks
    auth = {}
    if mode == "keys":
        auth = {
            "auth": login_check(settings.api),
            "auth_message": f"{EN['login.message']} {ZH['login.message']}",
        }
    return gr.mount_gradio_app(
        app,
        blocks,
        path=path,
        theme=THEME,
        css=CSS,
        i18n=I18N,
        allowed_paths=allowed,
        max_file_size=int(settings.api.max_upload_mb * 2**20),
        footer_links=["settings"],
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        enable_monitoring=False,
        **auth,
    )
