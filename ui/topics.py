"""Topics tab: discover topics among the calls without a label (or classified ``unknown``), read
a topic's distinctive terms and representative calls, and turn it into a label (its calls become
labeled examples; ``app.services.topics.label_topic``, with history)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.core.errors import CallScopeError
from app.services import topics
from ui.context import UIContext
from ui.i18n import I18N, dataframe, lang_of, t

COLUMNS = ("col.n", "col.topic_calls", "col.topic_name", "col.terms", "col.suggested_label")
#: Calls listed under a topic (the closest to its centroid first).
SHOWN_CALLS = 30


def run_choices(ctx: UIContext) -> list[tuple[str, str]]:
    return [
        (f"{r['run_id']} · {r['topics']} topics · {r['clustered']}/{r['pool']} calls", r["run_id"])
        for r in topics.list_runs(ctx.settings)
    ]


def summary_markdown(run: dict[str, Any] | None, lang: str) -> str:
    if run is None:
        return t("topics.no_runs", lang)
    text = t("topics.summary", lang).format(
        run=run["run_id"],
        pool=run["pool"],
        clustered=run["clustered"],
        n=len(run["topics"]),
        none=len(run["unclustered"]),
        method=run["method"],
        seconds=run["seconds"]["total"],
    )
    if not run["pool"]:
        text += "\n\n" + t("topics.empty_pool", lang)
    if not run.get("llm"):
        text += "\n\n" + t("topics.no_llm", lang)
    return text


def table_rows(run: dict[str, Any] | None) -> list[list[Any]]:
    if run is None:
        return []
    rows = []
    for topic in run["topics"]:
        done = topic.get("promotions") or []
        label = topic["suggested_label"] + (f" → {done[-1]['label']}" if done else "")
        terms = ", ".join(x["term"] for x in topic["terms"])
        rows.append([topic["id"], topic["size"], topic["name"] or "", terms, label])
    return rows


def topic_markdown(topic: dict[str, Any], lang: str) -> str:
    """A topic's name, description, terms and its calls (representatives marked)."""
    head = topic["name"] or ", ".join(x["term"] for x in topic["terms"][:4])
    lines = [f"### {t('topics.topic', lang)} {topic['id']}: {head}"]
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


def discover(ctx: UIContext) -> dict[str, Any]:
    """A new run with the default options (the CLI and API take others)."""
    try:
        return topics.discover(ctx.runtime)
    except CallScopeError as exc:
        raise gr.Error(str(exc)) from None


def promote(
    ctx: UIContext, run_id: str | None, topic_id: Any, name: str, exclude: str, lang: str
) -> str:
    """Label the topic's calls ``name`` and say what happened."""
    if not run_id or not topic_id:
        raise gr.Error(t("topics.pick_first", lang))
    leave_out = [c.strip() for c in (exclude or "").replace("\n", ",").split(",") if c.strip()]
    try:
        result = topics.label_topic(
            ctx.runtime, int(topic_id), name, run_id=run_id, exclude=leave_out, by="ui"
        )
    except CallScopeError as exc:
        raise gr.Error(str(exc)) from None
    text = t("topics.labeled", lang).format(
        n=len(result["changed"]), label=result["label"], topic=result["topic"]
    )
    if result["existing_label"]:
        text += " " + t("topics.existing", lang)
    for skipped in result["skipped"]:
        text += f"\n- {skipped['call_id']}: {skipped['reason']}"
    return text


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
    current = gr.State(None)

    def init(request: gr.Request) -> tuple:
        choices = run_choices(ctx)
        latest = choices[0][1] if choices else None
        text, tbl, run = load(ctx, latest, lang_of(request))
        return gr.Dropdown(choices=choices, value=latest), text, tbl, run

    def start(request: gr.Request) -> tuple:
        lang = lang_of(request)
        run = discover(ctx)
        text, tbl, run = load(ctx, run["run_id"], lang)
        picker = gr.Dropdown(choices=run_choices(ctx), value=run["run_id"] if run else None)
        return picker, text, tbl, run, "", None

    def show(run_id: str | None, request: gr.Request) -> tuple:
        return load(ctx, run_id, lang_of(request))

    def select(run: dict[str, Any] | None, evt: gr.SelectData, request: gr.Request) -> tuple:
        i = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if run is None or i is None or i >= len(run["topics"]):
            return gr.skip(), gr.skip(), gr.skip()
        try:
            topic = topics.show(ctx.runtime, run["topics"][i]["id"], run["run_id"])
        except CallScopeError as exc:
            raise gr.Error(str(exc)) from None
        return topic_markdown(topic, lang_of(request)), topic["id"], topic["suggested_label"]

    def apply(
        run: dict[str, Any] | None, topic_id: Any, label: str, leave_out: str, request: gr.Request
    ) -> tuple:
        lang = lang_of(request)
        text = promote(ctx, run["run_id"] if run else None, topic_id, label, leave_out, lang)
        _, tbl, fresh = load(ctx, run["run_id"] if run else None, lang)
        # The topic again, each call with its label now.
        shown = topics.show(ctx.runtime, int(topic_id), run["run_id"] if run else None)
        return text, tbl, fresh, topic_markdown(shown, lang)

    tab.select(init, None, [pick, summary, table, current], api_visibility="private")
    run_btn.click(
        start, None, [pick, summary, table, current, detail, number], api_visibility="private"
    )
    pick.input(show, [pick], [summary, table, current], api_visibility="private")
    table.select(select, [current], [detail, number, name], api_visibility="private")
    apply_btn.click(
        apply,
        [current, number, name, exclude],
        [message, table, current, detail],
        api_visibility="private",
    )
