"""The call view's relabel panel: choose a label for the call on view (the classifier's answer
is offered after Classify), see exactly what would change and say yes before anything is
written (a label no call has yet is named as new), and undo the change just made. Labels
change only through ``app.services.labels`` (history kept, undo from it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.core.errors import CallScopeError
from app.services.call_views import get_call
from app.services.labels import known_labels, relabel_call, undo_relabel
from ui.context import UIContext
from ui.i18n import I18N, lang_of, t
from ui.messages import refusal

#: Who a relabel from here is recorded as, in the call's label history.
RELABEL_SOURCE = "ui call view"


@dataclass(frozen=True)
class Planned:
    """A relabel waiting for the user's yes: the labels it was planned on and the new ones."""

    call_id: str
    old: list[str]
    new: list[str]
    #: Labels no call has yet, which the yes also creates.
    created: list[str]


@dataclass(frozen=True)
class Done:
    """A relabel just made: what an Undo restores (the label-history entry that records it)."""

    call_id: str
    entry: int


def new_labels(current: list[str], label: str) -> list[str]:
    """``label`` becomes the call's primary label; its other (secondary) labels stay."""
    return [label, *(x for x in current[1:] if x != label)]


def _labels_text(labels: list[str], lang: str) -> str:
    return ", ".join(labels) or t("unlabeled", lang)


def plan(ctx: UIContext, call_id: str | None, label: str | None, lang: str) -> Planned | str:
    """What relabeling the call to ``label`` would change (nothing is written), or why there
    is nothing to ask."""
    label = (label or "").strip()
    if not call_id:
        raise gr.Error(t("summary.pick_first", lang))
    if not label:
        raise gr.Error(t("view.pick_label", lang))
    view = get_call(ctx.runtime, call_id)
    if view is None:
        return t("calls.gone", lang)
    old = list(view.labels)
    wanted = new_labels(old, label)
    if wanted == old:
        return t("view.unchanged", lang).format(call=call_id, label=label)
    try:
        edit = relabel_call(
            ctx.runtime, call_id, labels=wanted, expect=old, dry_run=True, source=RELABEL_SOURCE
        )
    except CallScopeError as exc:
        raise refusal(exc, lang) from None
    return Planned(call_id, edit.old, edit.new, list(edit.created))


def confirm_text(p: Planned, lang: str) -> str:
    text = t("view.confirm_text", lang).format(
        call=p.call_id, old=_labels_text(p.old, lang), new=_labels_text(p.new, lang)
    )
    if p.created:
        text += " " + t("view.new_label_note", lang).format(labels=", ".join(p.created))
    return text


@dataclass(frozen=True)
class RelabelPanel:
    """The panel as built: the components to reset when another call opens (in the order
    :func:`reset` gives their values, the label dropdown first) and the events that change
    a call's labels (so the tab can list the calls again after them)."""

    parts: list[Any]
    changes: list[Any]


def build(
    ctx: UIContext,
    opened: gr.State,
    transcript: gr.Markdown,
    shown: Callable[[str, str], str],
) -> RelabelPanel:
    """The panel's components (under the Classify button); ``opened`` holds the id of the
    call on view, ``shown(call_id, lang)`` writes the view's text again after a change."""
    with gr.Row():
        label = gr.Dropdown(
            [],
            label=I18N("view.new_label"),
            allow_custom_value=True,
            scale=3,
            elem_id="calls-new-label",
        )
        ask = gr.Button(I18N("view.relabel"), scale=1, elem_id="calls-relabel")
    with gr.Group(visible=False, elem_id="calls-confirm") as confirm_box:
        question = gr.Markdown(elem_id="calls-confirm-text")
        with gr.Row():
            yes = gr.Button(I18N("view.confirm"), variant="stop", elem_id="calls-relabel-confirm")
            no = gr.Button(I18N("view.cancel"), elem_id="calls-relabel-cancel")
    outcome = gr.Markdown(elem_id="calls-relabel-result")
    undo = gr.Button(I18N("view.undo"), visible=False, size="sm", elem_id="calls-relabel-undo")
    pending = gr.State(None)  # a Planned waiting for yes
    done = gr.State(None)  # the Done an Undo reverts

    def on_ask(call_id: str | None, chosen: str | None, request: gr.Request):
        lang = lang_of(request)
        planned = plan(ctx, call_id, chosen, lang)
        if isinstance(planned, str):
            return None, gr.Group(visible=False), "", planned
        return planned, gr.Group(visible=True), confirm_text(planned, lang), ""

    def on_yes(planned: Planned | None, request: gr.Request):
        lang = lang_of(request)
        if planned is None:
            return None, gr.Group(visible=False), gr.skip(), gr.skip(), None, gr.Button()
        try:
            edit = relabel_call(
                ctx.runtime,
                planned.call_id,
                labels=planned.new,
                expect=planned.old,
                create_labels=bool(planned.created),
                source=RELABEL_SOURCE,
            )
        except CallScopeError as exc:  # changed meanwhile, or gone: say so, keep the page
            raise refusal(exc, lang) from None
        said = t("view.relabeled", lang).format(
            call=planned.call_id, old=_labels_text(edit.old, lang), new=_labels_text(edit.new, lang)
        )
        undoable = Done(planned.call_id, edit.entry) if edit.entry is not None else None
        return (
            None,
            gr.Group(visible=False),
            said,
            shown(planned.call_id, lang),
            undoable,
            gr.Button(visible=undoable is not None),
        )

    def on_no(request: gr.Request):
        return None, gr.Group(visible=False), t("view.not_changed", lang_of(request))

    def on_undo(last: Done | None, request: gr.Request):
        lang = lang_of(request)
        if last is None:
            return gr.skip(), gr.skip(), None, gr.Button(visible=False)
        try:
            edit = undo_relabel(ctx.runtime, last.call_id, last.entry, by="ui")
        except CallScopeError as exc:  # relabeled again since: the undo would lose that
            raise refusal(exc, lang) from None
        said = t("view.undone", lang).format(call=last.call_id, labels=_labels_text(edit.new, lang))
        return said, shown(last.call_id, lang), None, gr.Button(visible=False)

    ask.click(
        on_ask, [opened, label], [pending, confirm_box, question, outcome], api_visibility="private"
    )
    relabeled = yes.click(
        on_yes,
        [pending],
        [pending, confirm_box, outcome, transcript, done, undo],
        api_visibility="private",
    )
    no.click(on_no, None, [pending, confirm_box, outcome], api_visibility="private")
    undone = undo.click(
        on_undo, [done], [outcome, transcript, done, undo], api_visibility="private"
    )
    return RelabelPanel([label, confirm_box, outcome, pending, done, undo], [relabeled, undone])


def reset(ctx: UIContext, labels: list[str] | None) -> tuple[Any, ...]:
    """The panel's values when a call opens (``labels``: its labels; None: no call): its
    primary label offered, no question pending, nothing to undo."""
    current = labels[0] if labels else None
    return (
        gr.Dropdown(choices=known_labels(ctx.runtime), value=current),
        gr.Group(visible=False),
        "",
        None,
        None,
        gr.Button(visible=False),
    )


def offer(ctx: UIContext, label: str | None) -> Any:
    """The label dropdown offering ``label`` (a classification's answer)."""
    return gr.Dropdown(choices=known_labels(ctx.runtime), value=label)
