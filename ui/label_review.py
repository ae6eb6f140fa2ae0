"""The Label-quality tab's review of one suspect: its transcript and label history beside the
table, the run's suggested change (add / remove / replace) or the labels typed in, a
confirmation that says exactly what will change (and which label would be new) before anything
is written, and an undo of the last change. Every change goes through ``app.services.labels``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from app.core.errors import CallScopeError
from app.services import label_runs, labels
from ui.context import UIContext
from ui.i18n import I18N, lang_of, speaker_words, t
from ui.messages import error_text, source_text

#: Who a change made here is recorded as, in the call's label history.
SOURCE = "ui"


def labels_text(names: list[str], lang: str) -> str:
    return t("lq.list_sep", lang).join(names) or t("lq.none", lang)


def change_text(add: list[str], remove: list[str], lang: str) -> str:
    """A suggested or planned change in words: ``remove refund``, ``replace a with b``."""
    if len(add) == 1 and len(remove) == 1:
        return t("lq.change.replace", lang).format(old=remove[0], new=add[0])
    parts = []
    if remove:
        parts.append(t("lq.change.remove", lang).format(old=labels_text(remove, lang)))
    if add:
        parts.append(t("lq.change.add", lang).format(new=labels_text(add, lang)))
    return "; ".join(parts) or t("lq.change.none", lang)


def reasons_text(reasons: list[str], conflicts: list[str], lang: str) -> str:
    """A run's reason codes as words in the page's language."""
    words = []
    for code in reasons:
        key = f"lq.reason.{code.split(':')[0].strip()}"
        if key not in _known_reasons():
            words.append(code)  # a reason of a newer version: shown as it is
            continue
        text = t(key, lang)
        if not conflicts:  # no ids to name: drop their brackets
            text = text.replace(" ({calls})", "").replace("（{calls}）", "")
        words.append(text.format(calls=", ".join(conflicts[:3])))
    return t("lq.list_sep", lang).join(words)


def _known_reasons() -> set[str]:
    return {f"lq.reason.{code}" for code in label_runs.REASONS}


def call_markdown(found: labels.CallLabels, lang: str) -> str:
    """The call's labels, its label history (newest first) and its transcript."""
    parts = [
        t("lq.call_head", lang).format(call=found.call_id, labels=labels_text(found.labels, lang))
    ]
    if found.history:
        lines = [
            t("lq.history_line", lang).format(
                id=h["id"],
                at=time.strftime("%Y-%m-%d %H:%M", time.localtime(h["at"])),
                old=labels_text(h["old_labels"], lang),
                new=labels_text(h["new_labels"], lang),
                source=source_text(h["source"], lang),
            )
            for h in reversed(found.history[-5:])
        ]
        parts.append(t("lq.history", lang) + "\n\n" + "\n".join(lines))
    turns = [
        f"**{speaker_words(turn.get('speaker', ''), lang)}**: {turn.get('text', '')}"
        for turn in found.turns
    ]
    parts.append("\n\n".join(turns))
    return "\n\n".join(parts)


@dataclass(frozen=True)
class Pending:
    """A change waiting for the user's yes: accept run ``run_id``'s suggestion, or set
    ``new`` (planned on ``old``); ``created`` are labels the yes also creates."""

    call_id: str
    old: list[str]
    new: list[str]
    run_id: int | None = None
    created: list[str] = field(default_factory=list)


@dataclass
class Review:
    """The panel's components that the tab's own handlers fill."""

    transcript: gr.Markdown
    call: gr.Textbox
    suggestion: gr.Textbox
    editor: gr.Dropdown
    confirm_box: gr.Group
    message: gr.Markdown

    def opened(self, ctx: UIContext, row: dict[str, Any] | None, lang: str) -> tuple:
        """Outputs of :meth:`outputs` for the suspect ``row`` (None: nothing selected)."""
        if row is None:
            return (
                t("lq.pick_hint", lang),
                "",
                "",
                gr.Dropdown(value=[]),
                gr.Group(visible=False),
                "",
            )
        found = labels.call_labels(ctx.runtime, row["id"])
        return (
            call_markdown(found, lang),
            row["id"],
            change_text(row["add"], row["remove"], lang),
            gr.Dropdown(choices=labels.known_labels(ctx.runtime), value=found.labels),
            gr.Group(visible=False),
            "",
        )

    def outputs(self) -> list[Any]:
        return [
            self.transcript,
            self.call,
            self.suggestion,
            self.editor,
            self.confirm_box,
            self.message,
        ]


def build(
    ctx: UIContext,
    pick: gr.Dropdown,
    transcript: gr.Markdown,
    refresh: Callable[[Any, str], tuple],
    refreshed: list[Any],
) -> Review:
    """The panel's components and handlers under the suspects table. ``transcript`` is the
    panel beside the table; ``refresh(run_id, lang)`` gives new values for ``refreshed`` (the
    suspects table and its rows) after a change."""
    with gr.Row():
        call = gr.Textbox(label=I18N("lq.call"), interactive=False, elem_id="lq-call")
        suggestion = gr.Textbox(
            label=I18N("lq.suggestion"), interactive=False, elem_id="lq-suggested"
        )
        accept = gr.Button(I18N("lq.accept_change"), variant="primary", elem_id="lq-accept")
    with gr.Row():
        editor = gr.Dropdown(
            [],
            value=[],
            multiselect=True,
            allow_custom_value=True,
            label=I18N("lq.edit"),
            elem_id="lq-editor",
            scale=3,
        )
        save = gr.Button(I18N("lq.save"), elem_id="lq-save", scale=1)
    with gr.Group(visible=False, elem_id="lq-confirm-box") as confirm_box:
        question = gr.Markdown(elem_id="lq-confirm-text")
        with gr.Row():
            yes = gr.Button(I18N("lq.confirm"), variant="stop", elem_id="lq-confirm")
            no = gr.Button(I18N("lq.cancel"), elem_id="lq-cancel")
    with gr.Row():
        message = gr.Markdown(elem_id="lq-message")
        undo = gr.Button(I18N("lq.undo"), size="sm", elem_id="lq-undo", scale=0)
    pending = gr.State(None)
    reopened = [transcript, editor]
    review = Review(transcript, call, suggestion, editor, confirm_box, message)

    def ask(p: Pending | str, lang: str) -> tuple:
        if isinstance(p, str):  # nothing to ask: say why
            return None, gr.Group(visible=False), "", p
        text = (
            t("lq.confirm_title", lang).format(call=p.call_id, change=_planned_text(p, lang))
            + "\n\n"
            + t("lq.confirm_detail", lang).format(
                old=labels_text(p.old, lang), new=labels_text(p.new, lang)
            )
        )
        if p.created:
            text += "\n\n" + t("lq.confirm_new", lang).format(labels=labels_text(p.created, lang))
        return p, gr.Group(visible=True), text, ""

    def plan_accept(call_id: str, run_id: Any, request: gr.Request) -> tuple:
        lang = lang_of(request)
        _need(call_id, lang)
        return ask(_plan(ctx, lang, call_id, run_id=run_id), lang)

    def plan_edit(call_id: str, chosen: list[str] | None, request: gr.Request) -> tuple:
        lang = lang_of(request)
        _need(call_id, lang)
        return ask(_plan(ctx, lang, call_id, chosen=list(chosen or [])), lang)

    def confirm(p: Pending | None, run_id: Any, request: gr.Request) -> tuple:
        lang = lang_of(request)
        if p is None:
            return None, gr.Group(visible=False), *_skip([message, *reopened, *refreshed])
        try:
            if p.run_id is not None:
                edit = labels.accept_suggestion(
                    ctx.runtime, p.run_id, p.call_id, create_labels=bool(p.created), by=SOURCE
                )
            else:
                edit = labels.relabel_call(
                    ctx.runtime,
                    p.call_id,
                    labels=p.new,
                    expect=p.old,
                    create_labels=bool(p.created),
                    source=SOURCE,
                )
        except CallScopeError as exc:
            said = _refusal(ctx, p.call_id, exc, lang)
        else:
            said = t("lq.changed", lang).format(
                call=p.call_id,
                change=change_text(list(edit.change.add), list(edit.change.remove), lang),
                old=labels_text(edit.old, lang),
                new=labels_text(edit.new, lang),
            )
        return (
            None,
            gr.Group(visible=False),
            said,
            *_reopen(ctx, p.call_id, lang),
            *refresh(run_id, lang),
        )

    def cancel(request: gr.Request) -> tuple:
        return None, gr.Group(visible=False), t("lq.cancelled", lang_of(request))

    def undo_last(call_id: str, run_id: Any, request: gr.Request) -> tuple:
        lang = lang_of(request)
        _need(call_id, lang)
        history = labels.label_history(ctx.runtime, call_id)
        changes = [h for h in history if h["old_labels"] != h["new_labels"]]
        if not changes:
            return (
                t("lq.nothing_to_undo", lang).format(call=call_id),
                *_skip([None, None]),
                *_skip(refreshed),
            )
        try:
            edit = labels.undo_relabel(ctx.runtime, call_id, int(changes[-1]["id"]), by=SOURCE)
        except CallScopeError as exc:
            said = _refusal(ctx, call_id, exc, lang)
        else:
            said = t("lq.undone", lang).format(call=call_id, labels=labels_text(edit.new, lang))
        return said, *_reopen(ctx, call_id, lang), *refresh(run_id, lang)

    private = {"api_visibility": "private"}
    accept.click(plan_accept, [call, pick], [pending, confirm_box, question, message], **private)
    save.click(plan_edit, [call, editor], [pending, confirm_box, question, message], **private)
    yes.click(
        confirm,
        [pending, pick],
        [pending, confirm_box, message, *reopened, *refreshed],
        **private,
    )
    no.click(cancel, None, [pending, confirm_box, message], **private)
    undo.click(undo_last, [call, pick], [message, *reopened, *refreshed], **private)
    return review


def _need(call_id: str, lang: str) -> None:
    if not call_id:
        raise gr.Error(t("lq.pick_hint", lang))


def _plan(
    ctx: UIContext,
    lang: str,
    call_id: str,
    *,
    run_id: Any = None,
    chosen: list[str] | None = None,
) -> Pending | str:
    """The change to ask about (nothing written), or why there is nothing to ask."""
    try:
        if chosen is None:
            edit = labels.accept_suggestion(ctx.runtime, int(run_id), call_id, dry_run=True)
        else:
            edit = labels.relabel_call(ctx.runtime, call_id, labels=chosen, dry_run=True)
    except CallScopeError as exc:
        return _refusal(ctx, call_id, exc, lang)
    if not edit.changed:
        return t("lq.no_change", lang).format(call=call_id)
    return Pending(
        call_id, edit.old, edit.new, int(run_id) if chosen is None else None, edit.created
    )


def _planned_text(p: Pending, lang: str) -> str:
    change = labels.LabelChange.between(p.old, p.new)
    return change_text(list(change.add), list(change.remove), lang)


def _refusal(ctx: UIContext, call_id: str, exc: Exception, lang: str) -> str:
    """Why a change was not made, in the page's language where we know the reason."""
    if isinstance(exc, labels.LabelsChangedError):
        now = labels.labels_of(ctx.runtime, [call_id]).get(call_id, [])
        return t("lq.changed_since", lang).format(call=call_id, labels=labels_text(now, lang))
    if "suggests no change" in str(exc):
        return t("lq.no_suggestion", lang).format(call=call_id)
    return t("lq.refused", lang).format(reason=error_text(exc, lang))


def _reopen(ctx: UIContext, call_id: str, lang: str) -> tuple:
    """The transcript panel and the label editor of ``call_id`` after a change."""
    found = labels.call_labels(ctx.runtime, call_id)
    return call_markdown(found, lang), gr.Dropdown(
        choices=labels.known_labels(ctx.runtime), value=found.labels
    )


def _skip(outputs: list[Any]) -> tuple:
    return tuple(gr.skip() for _ in outputs)
