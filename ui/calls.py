"""Calls tab: the newest calls and how many there are as soon as the tab opens; filter them
(label, speaker, dates, metadata and metric bounds), search them (the hybrid searcher), and
open one in the call view below (``ui.call_view``: transcript, recording, classify, relabel,
summarize). Calls are read through ``app.services.call_views`` only."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date
from typing import Any

import gradio as gr

from app.core.errors import InputError
from app.core.filters import CallFilter
from app.services.call_views import clock, filter_words, list_calls, parse_filter, span
from app.services.search import search
from ui import call_view
from ui.call_view import metrics_markdown, transcript_markdown
from ui.context import UIContext
from ui.i18n import I18N, dataframe, dropdown, lang_of, speaker_words, t
from ui.messages import code_list, error_text, refusal, toast_html

__all__ = [
    "COLUMNS",
    "browse_rows",
    "call_filter",
    "check_dates",
    "metrics_markdown",
    "transcript_markdown",
    "turns_of",
    "typed_filter",
]

COLUMNS = ("col.call", "col.labels", "col.date", "col.time", "col.speakers", "col.text")
SPEAKERS = ("agent", "customer", "speaker")
#: Calls listed at most (the count above the table is always the full one).
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


def turns_of(transcript: Any) -> list[dict[str, Any]]:
    """A transcript's turns as dicts (what :func:`transcript_markdown` takes)."""
    return [turn.to_dict() for turn in transcript.turns] if transcript else []


#: ``name op value`` in the metadata box; ``=`` for metadata, a comparison for metrics.
_ITEM = re.compile(r"^\s*(?:metrics\.)?([^\s<>=]+)\s*(>=|<=|>|<|=)\s*(.*?)\s*$")


def _items(text: str) -> list[str]:
    """The box's items: split at commas (full-width ones too: NFKC), a piece without an
    operator being one more value of the item before it (``agent=Li, Wang``)."""
    items: list[str] = []
    for piece in re.split(r"[,;]", unicodedata.normalize("NFKC", text or "")):
        piece = piece.strip()
        if not piece:
            continue
        before = _ITEM.match(items[-1]) if items else None
        if before and before.group(2) == "=" and not re.search(r"[<>=]", piece):
            items[-1] += f",{piece}"
        else:
            items.append(piece)
    return items


def typed_filter(ctx: UIContext, text: str, lang: str) -> CallFilter:
    """The metadata box (``agent=Li, longest_silence>=60``) as a filter. What it may name comes
    from the service (the deployment's metadata fields, the metric names), and an error says
    exactly that, in the page's language."""
    items = _items(text)
    if not items:
        return CallFilter()
    words = filter_words(ctx.runtime)
    named = {"fields": code_list(words.metadata, lang), "metrics": code_list(words.metrics, lang)}
    for item in items:
        m = _ITEM.match(item)
        name, op = (m.group(1), m.group(2)) if m else (item, "")
        if name in words.metrics and op == "=":
            raise gr.Error(toast_html(t("calls.metric_op", lang).format(item=item, name=name)))
        if name in words.metadata and op != "=":
            raise gr.Error(toast_html(t("calls.field_op", lang).format(item=item, name=name)))
        if name not in words.metrics and name not in words.metadata:
            raise gr.Error(toast_html(t("calls.filter_unknown", lang).format(item=item, **named)))
    try:
        return parse_filter(ctx.runtime, items)
    except InputError as exc:
        said = t("calls.filter_bad", lang).format(error=error_text(exc, lang))
        raise gr.Error(toast_html(said)) from None


def _row(call: Any) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "labels": ", ".join(call.labels),
        "date": (call.date or "")[:10],
        "time": clock(call.duration) if call.duration else "",
        "start": None,
        "speakers": ", ".join(call.speakers),
        "text": call.opening,
    }


def _shown(row: dict[str, Any], key: str, lang: str) -> Any:
    # The rows keep the stored role names (agent, customer); the table says them in ``lang``.
    if key == "speakers" and row[key]:
        return speaker_words(row[key].split(", "), lang)
    return row[key]


def browse(ctx: UIContext, filters: CallFilter) -> tuple[int, list[dict[str, Any]]]:
    """How many indexed calls match the filters, and the newest :data:`MAX_ROWS` of them."""
    page = list_calls(ctx.runtime, filters or None, state="indexed", limit=MAX_ROWS)
    return page.total, [_row(c) for c in page.calls]


def browse_rows(ctx: UIContext, filters: CallFilter) -> list[dict[str, Any]]:
    """The newest indexed calls matching the filters, as table rows."""
    return browse(ctx, filters)[1]


def search_rows(ctx: UIContext, query: str, filters: CallFilter, k: int = 25) -> list[dict]:
    result = search(ctx.runtime, query, filters=filters, k=k)
    return [
        {
            "call_id": p.call_id,
            "labels": ", ".join(p.labels),
            "date": (p.date or "")[:10],
            "time": span(p.start, p.end),
            "start": p.start,
            "speakers": ", ".join(p.speakers),
            "text": " ".join(p.text.split())[:240],
        }
        for p in result.passages
    ]


def count_markdown(total: int, shown: int, filtered: str, lang: str) -> str:
    """The line above the listed calls: how many there are and what is listed, and a clear
    "nothing matches" instead of an empty table."""
    where = t("calls.where", lang).format(filters=filtered) if filtered else ""
    if not total:
        if filtered:
            return t("calls.no_match", lang).format(filters=filtered)
        return t("calls.empty", lang)
    text = t("calls.total", lang).format(n=total) + where
    if shown < total:
        text += t("calls.newest", lang).format(shown=shown)
    return text


def _filters_text(
    label: str | None, speaker: str | None, dfrom: str | None, dto: str | None, meta: str
) -> str:
    """The filters in force, as the user wrote them (for the count line)."""
    parts = [p for p in (label, speaker) if p]
    if dfrom or dto:
        parts.append(f"{dfrom or '…'} – {dto or '…'}")
    parts += _items(meta)
    return ", ".join(parts)


def build(ctx: UIContext, tab: gr.Tab) -> list[gr.Dropdown]:
    """The tab's components; returns its label dropdowns (filled when the page loads). Opening
    the tab lists the newest calls."""
    with gr.Row():
        query = gr.Textbox(
            label=I18N("calls.query"),
            placeholder=I18N("calls.placeholder"),
            scale=4,
            elem_id="calls-query",
        )
        label = gr.Dropdown([], label=I18N("filter.label"), allow_custom_value=True, scale=1)
        speaker = dropdown(
            "speaker",
            ["", *SPEAKERS],
            value="",
            label=I18N("filter.speaker"),
            allow_custom_value=True,
            scale=1,
        )
        dfrom = gr.Textbox(
            label=I18N("filter.date_from"), placeholder="2026-10-01", scale=1, elem_id="calls-from"
        )
        dto = gr.Textbox(
            label=I18N("filter.date_to"), placeholder="2026-10-31", scale=1, elem_id="calls-to"
        )
        meta = gr.Textbox(
            label=I18N("filter.metadata"),
            placeholder="agent=Li, longest_silence>=60",
            scale=1,
            elem_id="calls-metadata",
        )
        go = gr.Button(I18N("calls.search"), variant="primary", scale=1, elem_id="calls-search")
    count = gr.Markdown(elem_id="calls-count")
    table = dataframe(
        COLUMNS,
        interactive=False,
        wrap=True,
        elem_id="calls-table",
        max_height=360,
    )
    rows = gr.State([])

    def find(
        q: str, lab: str | None, spk: str | None, f: str, to: str, m: str, request: gr.Request
    ):
        lang = lang_of(request)
        try:
            filters = call_filter(lab or None, spk or None, *check_dates(f, to))
        except InputError as exc:
            raise refusal(exc, lang) from None
        typed = typed_filter(ctx, m, lang)
        filters = replace(filters, metadata=typed.metadata, metrics=typed.metrics)
        q, said = (q or "").strip(), _filters_text(lab, spk and speaker_words(spk, lang), f, to, m)
        if q:
            found = search_rows(ctx, q, filters)
            line = _hits_line(found, said, lang, q)
        else:
            total, found = browse(ctx, filters)
            line = count_markdown(total, len(found), said, lang)
        keys = ("call_id", "labels", "date", "time", "speakers", "text")
        table_rows = [[_shown(r, c, lang) for c in keys] for r in found]
        headers = [t(c, lang) for c in COLUMNS]
        return line, gr.Dataframe(value=table_rows, headers=headers), found

    inputs = [query, label, speaker, dfrom, dto, meta]
    # Enter in any text box searches, as the button does; opening the tab lists the calls.
    # One event for every trigger, so a search started while the tab's first listing runs
    # comes after it (never overwritten by it), and is never dropped ("always_last").
    gr.on(
        [go.click, query.submit, dfrom.submit, dto.submit, meta.submit, tab.select],
        find,
        inputs,
        [count, table, rows],
        trigger_mode="always_last",
        api_visibility="private",
    )
    # After a relabel (or its undo) in the call view, the list shows the labels as they are.
    for changed in call_view.build(ctx, rows, table):
        changed.success(find, inputs, [count, table, rows], api_visibility="private")
    return [label]


def _hits_line(found: list[dict[str, Any]], filtered: str, lang: str, query: str) -> str:
    """The line above search results: how many passages from how many calls, or none."""
    where = t("calls.where", lang).format(filters=filtered) if filtered else ""
    if not found:
        return t("calls.no_hits", lang).format(query=query) + where
    calls = len({r["call_id"] for r in found})
    return t("calls.hits", lang).format(n=len(found), calls=calls, query=query) + where
