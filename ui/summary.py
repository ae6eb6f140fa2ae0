"""The Calls tab's Summarize button: the open call summarized by the LLM (reason, outcome,
promised follow-ups), each point with the turns it cites (``app.services.summary``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from app.core.errors import CallScopeError
from app.services.call_views import clock
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


def summary_markdown(result: SummaryResult, lang: str) -> str:
    """The summary with each point's cited turns as `` `[T3 01:25 agent]` ``, or why there is
    none."""
    s = result.summary
    if s is None:
        why = t("summary.no_llm", lang) if result.skipped == NO_LLM else result.skipped
        return f"_{t('summary.skipped', lang)}: {why}_"
    lines = [f"#### {t('summary.title', lang)} · {result.model}"]
    lines.append(f"**{t('summary.reason', lang)}**: {_point(s.reason, lang)}")
    lines.append(f"**{t('summary.outcome', lang)}**: {_point(s.outcome, lang)}")
    lines.append(f"**{t('summary.follow_ups', lang)}**:")
    lines += [f"- {_point(f, lang)}" for f in s.follow_ups] or [f"- _{t('summary.none', lang)}_"]
    if result.note:
        lines.append(f"_{result.note}_")
    if s.redactions:
        found = ", ".join(
            f"{pii_word(kind, lang)} × {n}" for kind, n in sorted(s.redactions.items())
        )
        lines.append(f"_{t('summary.redacted', lang)}: {found}_")
    return "\n\n".join(lines)


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
            return summary_markdown(summarize_call(ctx.runtime, call_id), lang)
        except NoSuchCall:
            return t("calls.gone", lang)
        except CallScopeError as exc:  # the LLM failed or answered unusably: say so, keep the page
            raise gr.Error(str(exc)) from None

    return summarize


def _point(point: SummaryPoint, lang: str) -> str:
    text = point.text
    if isinstance(point, FollowUp) and (point.by or point.due):
        text += f" ({', '.join(x for x in (point.by, point.due) if x)})"
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
