"""The call view under the Calls tab's table: a call's transcript with speakers and times and
how the conversation went, its recording, and what can be done with it there: classify it
(from the vectors the index holds, ``services.classify.classify_stored``), give it another
label (asked first, can be undone: ``ui.call_relabel``) and summarize it (``ui.summary``).
Every read goes through ``app.services.call_views``."""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.core.errors import CallScopeError
from app.services.call_views import CallView, clock, get_call
from app.services.classify import classify_stored
from ui import call_relabel
from ui.context import UIContext
from ui.i18n import I18N, lang_of, speaker_words, t
from ui.messages import refusal
from ui.summary import open_for_summary, summarize_handler


def transcript_markdown(
    turns: list[dict[str, Any]], focus: float | None = None, lang: str = "en"
) -> str:
    """``[mm:ss] **speaker**: text`` per turn (the speaker in ``lang``); the turn at ``focus``
    seconds is marked."""
    lines = []
    for turn in turns:
        start, end = turn.get("start"), turn.get("end")
        here = focus is not None and start is not None and start <= focus < (end or start) + 0.01
        mark = "▶ " if here else ""
        lines.append(
            f"{mark}{f'`[{clock(start)}]` ' if start is not None else ''}"
            f"**{speaker_words(turn.get('speaker', ''), lang)}**: {turn.get('text', '')}"
        )
    return "\n\n".join(lines)


#: The conversation figures shown on the call view, in this order, and how each is written (a
#: text key when the unit is a word).
_SHOWN = (
    ("agent_talk_share", "{:.0%}"),
    ("customer_talk_share", "{:.0%}"),
    ("silence_share", "{:.0%}"),
    ("longest_silence", "unit.seconds"),
    ("overtalk_seconds", "unit.seconds"),
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
        f"**{t(f'metrics.{key}', lang)}** {t(shape, lang).format(how[key])}"
        for key, shape in _SHOWN
        if how.get(key) is not None
    ]
    return " · ".join(parts) + "\n\n"


def call_markdown(view: CallView, lang: str, focus: float | None = None) -> str:
    """A call as the view shows it: id and labels, how it went, then its turns (the turn at
    ``focus`` seconds marked). The Insights tab shows a call the same way."""
    head = f"### {view.call_id} · {', '.join(view.labels) or t('unlabeled', lang)}\n\n"
    head += date_markdown(view, lang)
    how = metrics_markdown({"speakers": view.speakers, **view.metrics}, lang)
    turns = [turn.to_dict() for turn in view.turns]
    return head + how + transcript_markdown(turns, focus, lang)


def date_markdown(view: CallView, lang: str) -> str:
    """The call's date and, when it is not the call's own, where it came from (the time it was
    uploaded, or its file's time), so a supervisor does not read either as the time of the
    call."""
    if not view.row.date:
        return ""
    day = view.row.date.replace("T", " ")
    if view.date_source in ("upload", "file"):
        day += f" ({t(f'ins.how.{view.date_source}', lang)})"
    return t("ins.dated", lang).format(date=day) + "\n\n"


def classification_markdown(c: Any, lang: str) -> str:
    """A stored call's classification: label, confidence, which path decided, the closest
    labels and the labeled calls that voted."""
    lines = [
        f"#### {t('view.classified', lang)}: `{c.label}`",
        f"{t('col.confidence', lang)} **{c.confidence:.2f}** · {t('col.decided_by', lang)} "
        f"{t(f'decided.{c.decided_by}', lang)}",
    ]
    if c.candidates:
        lines.append(
            f"{t('classify.candidates', lang)} "
            + ", ".join(f"`{label}` ({conf:.2f})" for label, conf in c.candidates[:3])
        )
    if c.neighbours:
        near = ", ".join(
            f"{n.call_id} ({', '.join(n.labels)}, {n.score:.2f})" for n in c.neighbours[:5]
        )
        lines.append(f"{t('view.neighbours', lang)} {near}")
    return "\n\n".join(lines)


def build(ctx: UIContext, rows: gr.State, table: gr.Dataframe) -> list[Any]:
    """The view's components under the tab's table; ``rows`` holds the table's rows (a click
    on row ``i`` opens ``rows[i]``). Returns the events that change the labels of a call."""
    with gr.Row():
        with gr.Column(scale=3):
            transcript = gr.Markdown(I18N("view.hint"), elem_id="calls-transcript", max_height=420)
        with gr.Column(scale=2):
            audio = gr.Audio(
                label=I18N("audio.recording"),
                type="filepath",
                interactive=False,
                elem_id="calls-audio",
            )
            with gr.Row():
                classify = gr.Button(I18N("view.classify"), elem_id="calls-classify")
                summarize = gr.Button(I18N("summary.button"), elem_id="calls-summarize")
            classified = gr.Markdown(elem_id="calls-classification")
            opened = gr.State(None)  # the id of the call on view

            def shown(call_id: str, lang: str) -> str:
                view = get_call(ctx.runtime, call_id)
                return call_markdown(view, lang) if view is not None else t("calls.gone", lang)

            panel = call_relabel.build(ctx, opened, transcript, shown)
            summary = gr.Markdown(elem_id="calls-summary")

    def open_call(rows: list[dict[str, Any]], evt: gr.SelectData, request: gr.Request):
        lang = lang_of(request)
        i = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if i is None or i >= len(rows):
            return (gr.skip(),) * (4 + len(panel.parts))
        r = rows[i]
        view = get_call(ctx.runtime, r["call_id"])
        if view is None:
            gone = (t("calls.gone", lang), gr.Audio(value=None), None, "")
            return *gone, *call_relabel.reset(ctx, None)
        body = call_markdown(view, lang, r["start"])
        path, position = ctx.playable(view.call_id, r["start"])
        player = gr.Audio(value=path, playback_position=position)
        if path is None:
            body, player = body + f"\n\n_{t('audio.none', lang)}_", gr.Audio(value=None)
        return body, player, view.call_id, "", *call_relabel.reset(ctx, view.labels)

    def run_classify(call_id: str | None, request: gr.Request):
        lang = lang_of(request)
        if not call_id:
            raise gr.Error(t("summary.pick_first", lang))
        try:
            c = classify_stored(ctx.runtime, call_id, source="ui")
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        offered = c.label if c.label != "unknown" else None
        return classification_markdown(c, lang), call_relabel.offer(ctx, offered)

    viewed = [transcript, audio, opened, classified, *panel.parts]
    table.select(open_call, [rows], viewed, api_visibility="private")
    table.select(open_for_summary, [rows], [opened, summary], api_visibility="private")
    summarize.click(summarize_handler(ctx), [opened], [summary], api_visibility="private")
    classify.click(run_classify, [opened], [classified, panel.parts[0]], api_visibility="private")
    return panel.changes
