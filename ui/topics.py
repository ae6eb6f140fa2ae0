"""Topics tab: discover topics among the calls without a label (or classified ``unknown``), read
a topic's distinctive terms and representative calls, and turn it into a label (its calls become
labeled examples; ``app.services.topics.label_topic``, with history) after saying what would
change and asking first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import gradio as gr

from app.core.errors import CallScopeError
from app.services import topics
from ui.context import UIContext
from ui.i18n import I18N, dataframe, lang_of, t
from ui.messages import error_text, refusal

COLUMNS = ("col.n", "col.topic_calls", "col.topic_name", "col.terms", "col.suggested_label")
#: Calls listed under a topic (the closest to its centroid first).
SHOWN_CALLS = 30


def run_when(run_id: str) -> str:
    """When a run was made, as people read it (``2026-12-07 09:30:12``; run ids are the local
    time they were made)."""
    try:
        return datetime.strptime(run_id, "%Y%m%d-%H%M%S-%f").strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return run_id


def run_choices(ctx: UIContext, lang: str = "en") -> list[tuple[str, str]]:
    """The stored runs that found topics, newest first, named by when they ran and what they
    found (a run that found nothing has nothing to show or label)."""
    return [
        (
            t("topics.run_choice", lang).format(
                when=run_when(r["run_id"]), n=r["topics"], clustered=r["clustered"], pool=r["pool"]
            ),
            r["run_id"],
        )
        for r in topics.list_runs(ctx.settings, include_empty=False)
    ]


def summary_markdown(run: dict[str, Any] | None, lang: str) -> str:
    if run is None:
        return t("topics.no_runs", lang)
    text = t("topics.summary", lang).format(
        run=run_when(run["run_id"]),
        pool=run["pool"],
        clustered=run["clustered"],
        n=len(run["topics"]),
        none=len(run["unclustered"]),
        seconds=run["seconds"]["total"],
    )
    if not run["pool"]:
        text += "\n\n" + t("topics.empty_pool", lang)
    elif not run["topics"]:
        text += "\n\n" + t("topics.no_topics", lang)
    if not run.get("llm"):
        text += "\n\n" + t("topics.no_llm", lang)
    return text


def topic_title(topic: dict[str, Any]) -> str:
    """The LLM's name, else the topic's best terms (runs kept from before titles: made here)."""
    return topic.get("title") or topic["name"] or topics.title([x["term"] for x in topic["terms"]])


def table_rows(run: dict[str, Any] | None) -> list[list[Any]]:
    if run is None:
        return []
    rows = []
    for topic in run["topics"]:
        done = topic.get("promotions") or []
        label = topic["suggested_label"] + (f" → {done[-1]['label']}" if done else "")
        terms = ", ".join(x["term"] for x in topic["terms"])
        rows.append([topic["id"], topic["size"], topic_title(topic), terms, label])
    return rows


def topic_markdown(topic: dict[str, Any], lang: str) -> str:
    """A topic's name, description, terms and its calls (representatives marked)."""
    lines = [f"### {t('topics.topic', lang)} {topic['id']}: {topic_title(topic)}"]
    if topic.get("description"):
        lines.append(topic["description"])
    terms = ", ".join(f"{x['term']} ({x['score']:.3f})" for x in topic["terms"])
    lines += [f"**{t('col.terms', lang)}:** {terms}", "", f"**{t('topics.calls', lang)}:**"]
    representatives = set(topic["representatives"])
    for call in topic["calls"][:SHOWN_CALLS]:
        star = "★ " if call["call_id"] in representatives else ""
        now = call.get("labels_now", call["labels"])
        labels = f" [{', '.join(now)}]" if now else ""
        lines.append(
            f"- {star}`{call['call_id']}` ({call['similarity']:.2f}){labels}: {call['excerpt']}"
        )
    if len(topic["calls"]) > SHOWN_CALLS:
        lines.append(t("topics.more", lang).format(n=len(topic["calls"]) - SHOWN_CALLS))
    lines += ["", t("topics.star", lang)]
    return "\n".join(lines)


def load(ctx: UIContext, run_id: str | None, lang: str) -> tuple[str, Any, dict[str, Any] | None]:
    """Summary, table and the run (None when there is none yet)."""
    try:
        run = topics.load_run(ctx.settings, run_id or None)
    except topics.NoSuchTopic:
        run = None
    table = gr.Dataframe(value=table_rows(run), headers=[t(c, lang) for c in COLUMNS])
    return summary_markdown(run, lang), table, run


def discover(ctx: UIContext, lang: str = "en") -> dict[str, Any]:
    """A new run with the default options (the CLI and API take others)."""
    try:
        return topics.discover(ctx.runtime)
    except CallScopeError as exc:
        raise refusal(exc, lang) from None


def _leave_out(exclude: str) -> list[str]:
    return [c.strip() for c in (exclude or "").replace("\n", ",").split(",") if c.strip()]


def preview(
    ctx: UIContext, run_id: str | None, topic_id: Any, name: str, exclude: str, lang: str
) -> tuple[str, dict[str, Any] | None]:
    """What labeling the topic would change (a dry run), as the question to confirm, and what
    to apply on confirmation (None when nothing would change)."""
    if not run_id or not topic_id:
        raise gr.Error(t("topics.pick_first", lang))
    leave_out = _leave_out(exclude)
    try:
        dry = topics.label_topic(
            ctx.runtime, int(topic_id), name, run_id=run_id, exclude=leave_out, dry_run=True
        )
    except CallScopeError as exc:
        raise refusal(exc, lang) from None
    if not dry["changed"]:
        return t("topics.nothing_to_label", lang).format(topic=dry["topic"]) + _skipped(
            dry, lang
        ), None
    question = t("topics.confirm_question", lang).format(
        n=len(dry["changed"]), label=dry["label"], topic=dry["topic"]
    )
    if dry["existing_label"]:
        question += " " + t("topics.existing", lang)
    ids = ", ".join(f"`{c['call_id']}`" for c in dry["changed"][:SHOWN_CALLS])
    more = len(dry["changed"]) - SHOWN_CALLS
    pending = {"run_id": run_id, "topic": int(topic_id), "label": dry["label"]}
    pending["exclude"] = leave_out
    return f"{question}\n\n{ids}{' …' if more > 0 else ''}{_skipped(dry, lang)}", pending


def promote(ctx: UIContext, pending: dict[str, Any] | None, lang: str) -> str:
    """Label the topic's calls as confirmed (``pending`` from :func:`preview`) and say what
    happened."""
    if not pending:
        raise gr.Error(t("topics.pick_first", lang))
    try:
        result = topics.label_topic(
            ctx.runtime,
            pending["topic"],
            pending["label"],
            run_id=pending["run_id"],
            exclude=pending["exclude"],
            by="ui",
        )
    except CallScopeError as exc:
        raise refusal(exc, lang) from None
    text = t("topics.labeled", lang).format(
        n=len(result["changed"]), label=result["label"], topic=result["topic"]
    )
    if result["existing_label"]:
        text += " " + t("topics.existing", lang)
    return text + _skipped(result, lang)


def _skipped(result: dict[str, Any], lang: str) -> str:
    return "".join(
        f"\n- {s['call_id']}: {error_text(s['reason'], lang)}" for s in result["skipped"]
    )


def build(ctx: UIContext, tab: gr.Tab) -> None:
    """The tab's components; the newest run loads when the tab opens."""
    with gr.Row():
        run_btn = gr.Button(
            I18N("topics.discover"), variant="primary", scale=1, elem_id="topics-discover"
        )
        pick = gr.Dropdown([], label=I18N("topics.runs"), scale=3, elem_id="topics-runs")
    summary = gr.Markdown(elem_id="topics-summary")
    table = dataframe(
        COLUMNS, interactive=False, label=I18N("topics.table"), wrap=True, elem_id="topics-table"
    )
    detail = gr.Markdown(elem_id="topics-detail")
    with gr.Row():
        number = gr.Number(
            label=I18N("topics.topic"), precision=0, interactive=False, elem_id="topics-number"
        )
        name = gr.Textbox(label=I18N("topics.new_label"), elem_id="topics-label")
        exclude = gr.Textbox(label=I18N("topics.exclude"), elem_id="topics-exclude")
    apply_btn = gr.Button(I18N("topics.apply"), variant="primary", elem_id="topics-apply")
    message = gr.Markdown(elem_id="topics-message")
    with gr.Row(visible=False, elem_id="topics-confirm-row") as confirm_row:
        confirm_btn = gr.Button(I18N("topics.confirm"), variant="stop", elem_id="topics-confirm")
        cancel_btn = gr.Button(I18N("topics.cancel"), elem_id="topics-cancel")
    current = gr.State(None)
    pending = gr.State(None)

    def init(request: gr.Request) -> tuple:
        lang = lang_of(request)
        choices = run_choices(ctx, lang)
        latest = choices[0][1] if choices else None
        text, tbl, run = load(ctx, latest, lang)
        return gr.Dropdown(choices=choices, value=latest), text, tbl, run

    def start(request: gr.Request) -> tuple:
        lang = lang_of(request)
        made = discover(ctx, lang)
        text, tbl, run = load(ctx, made["run_id"], lang)
        # A run that found nothing is shown once, never listed (it would only clutter).
        choices = run_choices(ctx, lang)
        picker = gr.Dropdown(choices=choices, value=made["run_id"] if made["topics"] else None)
        return picker, text, tbl, run, "", None, "", None, gr.Row(visible=False)

    def show(run_id: str | None, request: gr.Request) -> tuple:
        return (*load(ctx, run_id, lang_of(request)), None, gr.Row(visible=False))

    def select(run: dict[str, Any] | None, evt: gr.SelectData, request: gr.Request) -> tuple:
        i = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if run is None or i is None or i >= len(run["topics"]):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        lang = lang_of(request)
        try:
            topic = topics.show(ctx.runtime, run["topics"][i]["id"], run["run_id"])
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        shown = topic_markdown(topic, lang)
        return shown, topic["id"], topic["suggested_label"], "", None, gr.Row(visible=False)

    def ask_first(
        run: dict[str, Any] | None, topic_id: Any, label: str, leave_out: str, request: gr.Request
    ) -> tuple:
        lang = lang_of(request)
        text, todo = preview(ctx, run["run_id"] if run else None, topic_id, label, leave_out, lang)
        return text, todo, gr.Row(visible=todo is not None)

    def confirm(todo: dict[str, Any] | None, request: gr.Request) -> tuple:
        lang = lang_of(request)
        text = promote(ctx, todo, lang)
        assert todo is not None
        _, tbl, fresh = load(ctx, todo["run_id"], lang)
        # The topic again, each call with its label now.
        shown = topics.show(ctx.runtime, todo["topic"], todo["run_id"])
        return text, tbl, fresh, topic_markdown(shown, lang), None, gr.Row(visible=False)

    def cancel(request: gr.Request) -> tuple:
        return t("topics.cancelled", lang_of(request)), None, gr.Row(visible=False)

    tab.select(init, None, [pick, summary, table, current], api_visibility="private")
    run_btn.click(
        start,
        None,
        [pick, summary, table, current, detail, number, message, pending, confirm_row],
        api_visibility="private",
    )
    pick.input(
        show, [pick], [summary, table, current, pending, confirm_row], api_visibility="private"
    )
    table.select(
        select,
        [current],
        [detail, number, name, message, pending, confirm_row],
        api_visibility="private",
    )
    apply_btn.click(
        ask_first,
        [current, number, name, exclude],
        [message, pending, confirm_row],
        api_visibility="private",
    )
    confirm_btn.click(
        confirm,
        [pending],
        [message, table, current, detail, pending, confirm_row],
        api_visibility="private",
    )
    cancel_btn.click(cancel, None, [message, pending, confirm_row], api_visibility="private")
