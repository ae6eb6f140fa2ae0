"""Calls tab: browse and filter the calls (label, date, speaker), search them (the hybrid
searcher), and read a call's transcript with speakers and times, playing its recording; the
Summarize button has the LLM summarize the call on view (``ui.summary``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import gradio as gr

from app.core.errors import InputError
from app.core.models import Transcript
from app.services.calls import list_calls
from app.services.conversation import conversation
from app.services.search import search
from retrieval.index.filters import CallFilter
from retrieval.search import clock, span
from ui.context import UIContext
from ui.i18n import I18N, dataframe, lang_of, t
from ui.summary import open_for_summary, summarize_handler

COLUMNS = ("col.call", "col.labels", "col.date", "col.time", "col.speakers", "col.text")
SPEAKERS = ("agent", "customer", "speaker")
MAX_ROWS = 500


def check_dates(date_from: str | None, date_to: str | None) -> tuple[str | None, str | None]:
    """ISO dates or empty; anything else is an InputError naming the field."""
    out = []
    for name, value in (("from", date_from), ("to", date_to)):
        value = (value or "").strip()
        if value:
            try:
                value = date.fromisoformat(value).isoformat()
            except ValueError:
                raise InputError(f"date {name} {value!r}: use YYYY-MM-DD") from None
        out.append(value or None)
    return out[0], out[1]


def call_filter(
    label: str | None, speaker: str | None, dfrom: str | None, dto: str | None
) -> CallFilter:
    """The tab's fields as the filter every entry point speaks (dates already checked)."""
    return CallFilter(
        labels=(label,) if label else (),
        speakers=(speaker,) if speaker else (),
        date_from=date.fromisoformat(dfrom) if dfrom else None,
        date_to=date.fromisoformat(dto) if dto else None,
    )


def turns_of(transcript: Transcript | None) -> list[dict[str, Any]]:
    return [t.to_dict() for t in transcript.turns] if transcript else []


def transcript_markdown(turns: list[dict[str, Any]], focus: float | None = None) -> str:
    """``[mm:ss] **speaker**: text`` per turn; the turn at ``focus`` seconds is marked."""
    lines = []
    for turn in turns:
        start, end = turn.get("start"), turn.get("end")
        here = focus is not None and start is not None and start <= focus < (end or start) + 0.01
        mark = "▶ " if here else ""
        lines.append(
            f"{mark}{f'`[{clock(start)}]` ' if start is not None else ''}"
            f"**{turn.get('speaker', '')}**: {turn.get('text', '')}"
        )
    return "\n\n".join(lines)


#: The conversation figures shown on the call view, in this order, and how each is written.
_SHOWN = (
    ("agent_talk_share", "{:.0%}"),
    ("customer_talk_share", "{:.0%}"),
    ("silence_share", "{:.0%}"),
    ("longest_silence", "{:.1f} s"),
    ("overtalk_seconds", "{:.1f} s"),
    ("interruptions", "{:.0f}"),
    ("agent_wpm", "{:.0f}"),
    ("customer_wpm", "{:.0f}"),
    ("turns", "{:.0f}"),
)


#: How the speakers were found, as the call view says it.
_SPEAKERS = {
    "channels": "metrics.speakers.channels",
    "voices": "metrics.speakers.voices",
    "uncertain": "metrics.speakers.uncertain",
    "mono": "metrics.speakers.mono",
    "transcript": "metrics.speakers.transcript",
}


def metrics_markdown(how: dict[str, Any], lang: str) -> str:
    """One line of how the call went (``services.conversation``), above its transcript."""
    if not how:
        return ""
    parts = []
    if how.get("speakers") in _SPEAKERS:
        parts.append(f"**{t('metrics.speakers', lang)}**: {t(_SPEAKERS[how['speakers']], lang)}")
    if how.get("duration") is not None:
        parts.append(f"**{t('metrics.duration', lang)}** {clock(how['duration'])}")
    parts += [
        f"**{t(f'metrics.{key}', lang)}** {shape.format(how[key])}"
        for key, shape in _SHOWN
        if how.get(key) is not None
    ]
    return " · ".join(parts) + "\n\n"


def browse_rows(ctx: UIContext, filters: CallFilter) -> list[dict[str, Any]]:
    """Indexed calls matching the filters."""
    return [
        {
            "call_id": c.call_id,
            "labels": ", ".join(c.labels),
            "date": c.date or "",
            "time": clock(c.duration) if c.duration else "",
            "start": None,
            "speakers": ", ".join(c.speakers),
            "text": c.opening,
        }
        for c in list_calls(ctx.runtime, filters, limit=MAX_ROWS)
    ]


def search_rows(ctx: UIContext, query: str, filters: CallFilter, k: int = 25) -> list[dict]:
    result = search(ctx.runtime, query, filters=filters, k=k)
    return [
        {
            "call_id": p.call_id,
            "labels": ", ".join(p.labels),
            "date": p.date or "",
            "time": span(p.start, p.end),
            "start": p.start,
            "speakers": ", ".join(p.speakers),
            "text": " ".join(p.text.split())[:240],
        }
        for p in result.passages
    ]


def build(ctx: UIContext) -> list[gr.Dropdown]:
    """The tab's components; returns its label dropdowns (filled when the page loads)."""
    with gr.Row():
        query = gr.Textbox(
            label=I18N("calls.query"),
            placeholder=I18N("calls.placeholder"),
            scale=4,
            elem_id="calls-query",
        )
        label = gr.Dropdown([], label=I18N("filter.label"), allow_custom_value=True, scale=1)
        speaker = gr.Dropdown(
            ["", *SPEAKERS],
            value="",
            label=I18N("filter.speaker"),
            allow_custom_value=True,
            scale=1,
        )
        dfrom = gr.Textbox(label=I18N("filter.date_from"), placeholder="2026-10-01", scale=1)
        dto = gr.Textbox(label=I18N("filter.date_to"), placeholder="2026-10-31", scale=1)
        meta = gr.Textbox(
            label=I18N("filter.metadata"),
            placeholder="agent=Li, longest_silence>=60",
            scale=1,
            elem_id="calls-metadata",
        )
        go = gr.Button(I18N("calls.search"), variant="primary", scale=1, elem_id="calls-search")
    table = dataframe(
        COLUMNS,
        interactive=False,
        wrap=True,
        elem_id="calls-table",
        max_height=360,
    )
    with gr.Row():
        with gr.Column(scale=3):
            transcript = gr.Markdown(elem_id="calls-transcript", max_height=420)
        with gr.Column(scale=2):
            audio = gr.Audio(
                label=I18N("audio.recording"),
                type="filepath",
                interactive=False,
                elem_id="calls-audio",
            )
            summarize = gr.Button(I18N("summary.button"), elem_id="calls-summarize")
            summary = gr.Markdown(elem_id="calls-summary")
    state = gr.State([])
    opened = gr.State(None)  # the id of the call on view, for Summarize

    def find(
        q: str, lab: str | None, spk: str | None, f: str, to: str, m: str, request: gr.Request
    ):
        lang = lang_of(request)
        try:
            filters = call_filter(lab or None, spk or None, *check_dates(f, to))
            if (m or "").strip():
                items = [item for item in m.split(",") if item.strip()]
                fields = ctx.runtime.settings.ingest.metadata_fields
                typed = CallFilter.parse(items, fields)  # metadata and metric bounds
                filters = replace(filters, metadata=typed.metadata, metrics=typed.metrics)
        except InputError as exc:
            raise gr.Error(str(exc)) from None
        rows = (
            search_rows(ctx, q.strip(), filters) if (q or "").strip() else browse_rows(ctx, filters)
        )
        table_rows = [
            [r[c] for c in ("call_id", "labels", "date", "time", "speakers", "text")] for r in rows
        ]
        return gr.Dataframe(value=table_rows, headers=[t(c, lang) for c in COLUMNS]), rows

    def open_call(rows: list[dict[str, Any]], evt: gr.SelectData, request: gr.Request):
        lang = lang_of(request)
        i = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if i is None or i >= len(rows):
            return gr.skip(), gr.skip()
        r = rows[i]
        call = ctx.runtime.ledger.get(r["call_id"])
        if call is None:
            return t("calls.gone", lang), gr.Audio(value=None)
        head = f"### {call.call_id} · {', '.join(call.labels) or t('unlabeled', lang)}\n\n"
        how = metrics_markdown(conversation(ctx.runtime, call), lang)
        body = head + how + transcript_markdown(turns_of(call.transcript), r["start"])
        path, position = ctx.playable(call.call_id, r["start"])
        if path is None:
            return body + f"\n\n_{t('audio.none', lang)}_", gr.Audio(value=None)
        return body, gr.Audio(value=path, playback_position=position)

    inputs = [query, label, speaker, dfrom, dto, meta]
    for trigger in (go.click, query.submit):
        trigger(find, inputs, [table, state], api_visibility="private")
    table.select(open_call, [state], [transcript, audio], api_visibility="private")
    table.select(open_for_summary, [state], [opened, summary], api_visibility="private")
    summarize.click(summarize_handler(ctx), [opened], [summary], api_visibility="private")
    return [label]
