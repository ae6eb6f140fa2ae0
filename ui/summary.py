"""The Calls tab's Summarize button: the open call summarized by the LLM (reason, outcome,
promised follow-ups), each point with the turns it cites (``app.services.summary``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from app.core.errors import CallScopeError
from app.services.call_views import clock, get_call
from app.services.summary import (
    NO_LLM,
    FollowUp,
    NoSuchCall,
    SummaryPoint,
    SummaryResult,
    summarize_call,
)
from ui.context import UIContext
from ui.i18n import lang_of, pii_word, speaker_words, t
from ui.messages import known_text, refusal


def summary_markdown(result: SummaryResult, lang: str, turns: list[Any] | None = None) -> str:
    """The summary with each point's cited turns as `` `[T3 01:25 agent]` ``, or why there is
    none. ``turns`` (the call's) time the turns the model was not shown."""
    s = result.summary
    if s is None:
        why = (
            t("summary.no_llm", lang)
            if result.skipped == NO_LLM
            else known_text(result.skipped or "", lang)
        )
        return f"_{t('summary.skipped', lang)}: {why}_"
    lines = [f"#### {t('summary.title', lang)} · {result.model}"]
    lines.append(f"**{t('summary.reason', lang)}**: {_point(s.reason, lang)}")
    lines.append(f"**{t('summary.outcome', lang)}**: {_point(s.outcome, lang)}")
    lines.append(f"**{t('summary.follow_ups', lang)}**:")
    lines += [f"- {_point(f, lang)}" for f in s.follow_ups] or [f"- _{t('summary.none', lang)}_"]
    note = note_text(result, lang, turns)
    if note:
        lines.append(f"_{note}_")
    if s.redactions:
        found = ", ".join(
            f"{pii_word(kind, lang)} × {n}" for kind, n in sorted(s.redactions.items())
        )
        lines.append(f"_{t('summary.redacted', lang)}: {found}_")
    return "\n\n".join(lines)


def note_text(result: SummaryResult, lang: str, turns: list[Any] | None = None) -> str | None:
    """Which part of a long call the model was not shown: the service's note on an English
    page, the same said from the prompt's window in Chinese."""
    if not lang.startswith("zh") or result.summary is None:
        return result.note
    window, parts = result.summary.window, []
    if window.omitted is not None:
        first, last = window.omitted
        when = ""
        if turns and last <= len(turns):
            start, end = turns[first - 1].start, turns[last - 1].end
            if start is not None and end is not None:
                when = f"（{clock(start)}–{clock(end)}）"
        parts.append(
            t("summary.omitted", lang).format(
                first=_turn(first, lang), last=_turn(last, lang), when=when
            )
        )
    if window.shortened:
        cut = t("lq.list_sep", lang).join(_turn(n, lang) for n in window.shortened)
        parts.append(t("summary.shortened", lang).format(turns=cut))
    return "".join(parts) or None


def _turn(n: int, lang: str) -> str:
    return t("summary.turn", lang).format(n=n)


def open_for_summary(rows: list[dict[str, Any]], evt: gr.SelectData) -> tuple[Any, Any]:
    """On a table click: the id of the call it opens (what Summarize summarizes) and an empty
    summary, since the one on view belonged to the previous call."""
    i = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
    if i is None or i >= len(rows):
        return gr.skip(), gr.skip()
    return rows[i]["call_id"], ""


def summarize_handler(ctx: UIContext) -> Callable[[str | None, gr.Request], str]:
    """The button's event handler: the id of the open call in, Markdown out."""

    def summarize(call_id: str | None, request: gr.Request) -> str:
        lang = lang_of(request)
        if not call_id:
            raise gr.Error(t("summary.pick_first", lang))
        try:
            result = summarize_call(ctx.runtime, call_id)
        except NoSuchCall:
            return t("calls.gone", lang)
        except CallScopeError as exc:  # the LLM failed or answered unusably: say so, keep the page
            raise refusal(exc, lang) from None
        view = get_call(ctx.runtime, call_id) if result.summary and result.note else None
        return summary_markdown(result, lang, view.turns if view else None)

    return summarize


def _point(point: SummaryPoint, lang: str) -> str:
    text = point.text
    if isinstance(point, FollowUp) and (point.by or point.due):
        by = speaker_words(point.by, lang) if point.by else ""
        text += f" ({', '.join(x for x in (by, point.due) if x)})"
    cites = " ".join(_ref(c, lang) for c in point.citations)
    if not point.citations:
        cites = f"_({t('summary.uncited', lang)})_"
    if point.invalid:
        cites += f" _({t('summary.dropped', lang)}: {', '.join(point.invalid)})_"
    return f"{text} {cites}"


def _ref(c: Any, lang: str) -> str:
    """A cited turn (``TurnRef``) as `` `[T3 01:25 agent]` `` (``[第3句 01:25 坐席]`` in
    Chinese)."""
    when = clock(c.start) if c.start is not None else ""
    turn = t("summary.turn", lang).format(n=c.turn)
    return f"`[{turn}{' ' + when if when else ''} {speaker_words(c.speaker, lang)}]`"
