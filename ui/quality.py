"""Inspection tab (质检): the inspection rules a supervisor keeps (``app.services.inspection``).

Write rules in YAML (or start from the starter pack), test them on calls without saving, save
them (every stored call is then checked, as a background job with its progress), pick a rule to
read its history, restore an earlier version or delete it (asked first; a deletion can be
restored), and open one call's results: each rule, whether it matched and the turns that show
it; a click on a turn plays the recording from that second.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import gradio as gr

from app.core.errors import CallScopeError
from app.services import inspection
from ui import rule_form, scorecards
from ui.context import UIContext, follow_job
from ui.i18n import I18N, dataframe, lang_of, speaker_words, t
from ui.messages import refusal

RULE_COLUMNS = ("col.rule_name", "col.rule_title", "col.severity", "col.version", "col.matched",
                "col.checked")  # fmt: skip
PREVIEW_COLUMNS = ("col.call", "col.rule_name", "col.matched", "col.evidence")
HISTORY_COLUMNS = ("col.version", "col.action", "col.by", "col.when")
CALL_COLUMNS = ("col.rule_title", "col.severity", "col.matched", "col.time", "col.speakers",
                "col.text", "col.why")  # fmt: skip
#: Calls a preview checks when none are named (the first stored calls).
PREVIEW_CALLS = 50


def rules_rows(ctx: UIContext, lang: str) -> list[list[Any]]:
    return [
        [r.name, r.title, t(f"severity.{r.severity}", lang), r.version, r.matched, r.checked]
        for r in inspection.list_rules(ctx.runtime)
    ]


def rule_choices(ctx: UIContext, lang: str) -> list[tuple[str, str]]:
    """Every rule with a history, a deleted one marked (it can be restored)."""
    return [
        (t("q.deleted_choice", lang).format(name=name) if deleted else name, name)
        for name, deleted in inspection.rule_names(ctx.runtime).items()
    ]


def evidence_text(result: Any, lang: str = "en") -> str:
    turn = t("q.turn", lang)
    return " · ".join(f"{turn.format(n=e.turn)} {why_words(e.why, lang)}" for e in result.evidence)


#: How the rules say why a turn counts (``retrieval.inspection.evaluate``), stored with each
#: result in English: said again in the page's language, the words and examples as they are.
_WHY = (
    (re.compile(r"said ((?:“[^”]*”(?:, )?)+)"), "q.why_said"),
    (re.compile(r"means (“[^”]*”) \((-?\d+\.\d+)\)"), "q.why_means"),
    (re.compile(r"silence of (\d+) s before this turn"), "q.why_silence"),
)


def why_words(why: str, lang: str) -> str:
    """Why a turn counts, in ``lang`` (an English page keeps the rules' words)."""
    if not lang.startswith("zh"):
        return why
    for pattern, key in _WHY:
        frame = t(key, lang)
        why = pattern.sub(lambda m, f=frame: f.format(*(g.replace("”, “", "”、“")
                                                         for g in m.groups())), why)  # fmt: skip
    return why.replace("; ", "；")


def _when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


def call_rows(
    found: list[tuple[Any, Any]], lang: str
) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    """A row per rule (no match: one row) or per evidence turn; and what each row plays."""
    rows, plays = [], []
    yes, no = t("q.yes", lang), t("q.no", lang)
    ordered = sorted(found, key=lambda pair: (not pair[1].matched, pair[0].name))
    for info, result in ordered:
        head = [info.title or info.name, t(f"severity.{info.severity}", lang)]
        if not result.evidence:
            rows.append([*head, yes if result.matched else no, "", "", "", ""])
            plays.append({})
            continue
        for e in result.evidence:
            rows.append([*head, yes, _when(e.start), speaker_words(e.role, lang), e.text,
                         why_words(e.why, lang)])  # fmt: skip
            plays.append({"start": e.start})
    return rows, plays


def build(ctx: UIContext, tab: gr.Tab) -> None:
    gr.Markdown(I18N("q.help"), elem_id="quality-help")
    rules = dataframe(RULE_COLUMNS, interactive=False, elem_id="quality-rules", wrap=True)
    with gr.Row():
        with gr.Column(scale=3):
            editor = gr.Code(
                language="yaml", label=I18N("q.editor"), lines=16, elem_id="quality-editor"
            )
        with gr.Column(scale=2):
            starter = gr.Button(I18N("q.starter"), elem_id="quality-starter")
            calls = gr.Textbox(
                label=I18N("q.test_calls"),
                placeholder=I18N("q.calls_placeholder"),
                info=I18N("q.test_calls_info"),
                elem_id="quality-test-calls",
            )
            test = gr.Button(I18N("q.test"), elem_id="quality-test")
            save = gr.Button(I18N("q.save"), variant="primary", elem_id="quality-save")
            message = gr.Markdown(elem_id="quality-message")
    rule_form.build(editor, message)
    preview = dataframe(PREVIEW_COLUMNS, interactive=False, elem_id="quality-preview", wrap=True)

    with gr.Row():
        pick = gr.Dropdown([], label=I18N("q.rule"), elem_id="quality-pick", scale=2)
        version = gr.Number(1, label=I18N("q.version"), precision=0, minimum=1, scale=1)
        restore = gr.Button(I18N("q.restore"), elem_id="quality-restore", scale=1)
        delete = gr.Button(I18N("q.delete"), variant="stop", elem_id="quality-delete", scale=1)
    with gr.Row(visible=False) as asking:
        confirm = gr.Button(I18N("q.confirm_delete"), variant="stop", elem_id="quality-confirm")
        cancel = gr.Button(I18N("q.cancel"), elem_id="quality-cancel")
    history = dataframe(HISTORY_COLUMNS, interactive=False, elem_id="quality-history")

    with gr.Row():
        call_id = gr.Textbox(label=I18N("q.call"), placeholder=I18N("q.call_placeholder"), scale=3)
        check = gr.Button(I18N("q.check_call"), elem_id="quality-check", scale=1)
    results = dataframe(CALL_COLUMNS, interactive=False, elem_id="quality-call", wrap=True)
    audio = gr.Audio(
        label=I18N("audio.recording"), type="filepath", interactive=False, elem_id="quality-audio"
    )
    plays = gr.State([])
    checked = gr.State("")
    with gr.Accordion(I18N("sc.title"), open=True, elem_id="scorecards"):
        scorecards.build(ctx)

    def table(rows: list[list[Any]], columns: tuple[str, ...], lang: str) -> gr.Dataframe:
        return gr.Dataframe(value=rows, headers=[t(c, lang) for c in columns])

    def overview(request: gr.Request) -> tuple:
        lang = lang_of(request)
        try:
            choices = rule_choices(ctx, lang)
            return table(rules_rows(ctx, lang), RULE_COLUMNS, lang), gr.Dropdown(choices=choices)
        except CallScopeError as exc:
            raise refusal(exc, lang) from None

    def load_starter() -> str:
        return inspection.starter_rules()

    def try_rules(text: str, wanted: str, request: gr.Request) -> tuple:
        lang = lang_of(request)
        ids = [c.strip() for c in (wanted or "").split(",") if c.strip()]
        try:
            found = inspection.preview_rule(ctx.runtime, text or "", ids or None,
                                            limit=PREVIEW_CALLS)  # fmt: skip
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        yes, no = t("q.yes", lang), t("q.no", lang)
        rows = [
            [
                p.call_id,
                p.result.rule,
                yes if p.result.matched else no,
                evidence_text(p.result, lang),
            ]
            for p in found
        ]
        matched = sum(p.result.matched for p in found)
        calls_seen = len({p.call_id for p in found})
        note = t("q.tested", lang).format(matched=matched, checks=len(found), calls=calls_seen)
        return table(rows, PREVIEW_COLUMNS, lang), note

    def save_rules(text: str, request: gr.Request) -> Iterator[tuple]:
        lang = lang_of(request)
        user = getattr(request, "username", None) or "ui"
        try:
            actions, _ = inspection.save_rules(ctx.runtime, text or "", by=user, apply=False)
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        said = ", ".join(f"`{n}` {t(f'q.action.{a}', lang)}" for n, a in actions.items())
        jobs = ctx.jobs
        if jobs is None:
            raise gr.Error(t("jobs.unavailable", lang))

        def note(job: Any, lang: str) -> str:
            return t("q.applying", lang).format(done=job.done, total=job.total or "…")

        job = yield from follow_job(
            jobs, jobs.submit("rules_apply", {}), lang, (gr.skip(), gr.skip()), note
        )
        done = ""
        if job is not None:
            done = " " + t("q.applied", lang).format(calls=job.result.get("calls", 0))
        yield (
            t("q.saved", lang).format(rules=said) + done,
            table(rules_rows(ctx, lang), RULE_COLUMNS, lang),
            gr.Dropdown(choices=rule_choices(ctx, lang)),
        )

    def show_rule(name: str | None, request: gr.Request) -> tuple:
        lang = lang_of(request)
        if not name:
            return gr.skip(), gr.skip(), gr.skip()
        try:
            versions = inspection.rule_history(ctx.runtime, name)
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        rows = [
            [h["version"], t(f"q.action.{h['action']}", lang), h["by"],
             dt.datetime.fromtimestamp(h["at"], dt.UTC).strftime("%Y-%m-%d %H:%M UTC")]
            for h in versions
        ]  # fmt: skip
        current = next((h["rule"] for h in reversed(versions) if h["rule"]), None)
        import yaml

        text = yaml.safe_dump({"rules": [current]}, allow_unicode=True, sort_keys=False)
        # The version a restore would bring back: the newest that holds a rule.
        last = next((h["version"] for h in reversed(versions) if h["rule"]), 1)
        return table(rows, HISTORY_COLUMNS, lang), text if current else gr.skip(), last

    def restore_version(name: str | None, number: float | None, request: gr.Request) -> tuple:
        lang = lang_of(request)
        if not name or not number:
            raise gr.Error(t("q.pick_version", lang))
        try:
            applied = inspection.restore_rule(ctx.runtime, name, int(number), by="ui")
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        text = t("q.restored", lang).format(name=name, version=int(number), calls=applied.calls)
        return (
            text,
            table(rules_rows(ctx, lang), RULE_COLUMNS, lang),
            gr.Dropdown(choices=rule_choices(ctx, lang), value=name),
        )

    def ask_delete(name: str | None, request: gr.Request) -> tuple:
        lang = lang_of(request)
        if not name:
            raise gr.Error(t("q.pick_rule", lang))
        return t("q.delete_asked", lang).format(name=name), gr.Row(visible=True)

    def do_delete(name: str | None, request: gr.Request) -> tuple:
        lang = lang_of(request)
        try:
            inspection.delete_rule(ctx.runtime, name or "", by="ui")
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        return (
            t("q.deleted", lang).format(name=name),
            gr.Row(visible=False),
            table(rules_rows(ctx, lang), RULE_COLUMNS, lang),
            gr.Dropdown(choices=rule_choices(ctx, lang), value=name),
        )

    def no_delete(request: gr.Request) -> tuple:
        return t("q.delete_cancelled", lang_of(request)), gr.Row(visible=False)

    def check_call(wanted: str, request: gr.Request) -> tuple:
        lang = lang_of(request)
        call = (wanted or "").strip()
        if not call:
            raise gr.Error(t("q.pick_call", lang))
        try:
            found = inspection.call_inspection(ctx.runtime, call)
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        rows, play = call_rows(found, lang)
        return table(rows, CALL_COLUMNS, lang), play, call

    def play(play_at: list[dict[str, Any]], call: str, evt: gr.SelectData) -> Any:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        return ctx.seek(play_at, call, row)

    private = {"api_visibility": "private"}
    tab.select(overview, None, [rules, pick], **private)
    starter.click(load_starter, None, [editor], **private)
    test.click(try_rules, [editor, calls], [preview, message], **private)
    save.click(save_rules, [editor], [message, rules, pick], **private)
    pick.change(show_rule, [pick], [history, editor, version], **private)
    restore.click(restore_version, [pick, version], [message, rules, pick], **private)
    delete.click(ask_delete, [pick], [message, asking], **private)
    confirm.click(do_delete, [pick], [message, asking, rules, pick], **private)
    cancel.click(no_delete, None, [message, asking], **private)
    check.click(check_call, [call_id], [results, plays, checked], **private)
    call_id.submit(check_call, [call_id], [results, plays, checked], **private)
    results.select(play, [plays, checked], [audio], **private)
