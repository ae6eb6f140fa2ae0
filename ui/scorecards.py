"""The scorecards part of the Inspection tab (质检评分表, 人工复核): write scorecards in YAML,
score every stored call (a background job with its progress), open a call's scorecard (each
question's answer, by what, the turns it rests on), confirm or overturn an answer with a
comment, the queue of unreviewed calls (lowest score first) and the agreement per question.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import gradio as gr

from app.core.errors import CallScopeError
from app.services import scorecard_reviews, scorecards
from ui.context import UIContext, follow_job
from ui.i18n import I18N, dataframe, dropdown, lang_of, t
from ui.messages import refusal

CARD_COLUMNS = ("col.question", "col.weight", "col.answer", "col.answered_by", "col.why",
                "col.evidence", "col.review")  # fmt: skip
QUEUE_COLUMNS = ("col.call", "col.card_score")
AGREEMENT_COLUMNS = ("col.question", "col.reviewed", "col.agreed", "col.agreement",
                     "col.llm_scored")  # fmt: skip
EXAMPLE = """scorecards:
  - name: standard
    title: 标准服务评分表
    sections:
      - title: 开场 Opening
        questions:
          - {id: greeted, text: 坐席是否问候客户？, weight: 10, fails_on: no_greeting}
          - {id: polite, text: 坐席是否避免服务禁语？, weight: 30, fails_on: forbidden_phrase}
      - title: 解决 Resolution
        questions:
          - {id: resolved, text: 客户的问题是否得到解决？, weight: 60, ask_llm: true}
"""


def answer_word(value: str, lang: str) -> str:
    return t(f"sc.answer.{value}", lang)


def note_words(note: str, lang: str) -> str:
    """An answer's note in the page's language where the service wrote it in words of its own
    ("rule no_greeting matched", "no LLM configured"); the LLM's reasons stay as written."""
    m = re.match(r"^rule (\S+) matched$", note)
    if m:
        return t("sc.rule_matched", lang).format(rule=m.group(1))
    if note == "no LLM configured":
        return t("sc.no_llm", lang)
    return note


def card_rows(card: dict[str, Any], state: dict[str, Any], lang: str) -> list[list[Any]]:
    """A row per question: its weight, the automatic answer, by what, why, the turns, and the
    reviewer's answer when there is one."""
    last = {h["question"]: h for h in state["history"]}
    rows = []
    for a in card["answers"]:
        turns = " · ".join(f"{t('q.turn', lang).format(n=e['turn'])} {e['text'][:40]}"
                           for e in a["evidence"][:3])  # fmt: skip
        review = last.get(a["question"])
        said = ""
        if review:
            said = answer_word(review["value"], lang) + (
                f" ({review['comment']})" if review["comment"] else ""
            )
        by = t(f"sc.by.{a['by']}", lang)
        if not a["counted"] and a["answer"] in ("yes", "no"):  # an LLM answer held back
            by = t("sc.not_counted", lang).format(by=by)
        rows.append([a["text"], a["weight"], answer_word(a["answer"], lang), by,
                     note_words(a["note"], lang), turns, said])  # fmt: skip
    return rows


def build(ctx: UIContext) -> None:
    gr.Markdown(I18N("sc.help"), elem_id="scorecards-help")
    with gr.Row():
        with gr.Column(scale=3):
            editor = gr.Code(EXAMPLE, language="yaml", label=I18N("sc.editor"), lines=12,
                             elem_id="scorecards-editor")  # fmt: skip
        with gr.Column(scale=2):
            save = gr.Button(I18N("sc.save"), elem_id="scorecards-save")
            pick = gr.Dropdown([], label=I18N("sc.scorecard"), elem_id="scorecards-pick")
            score = gr.Button(I18N("sc.score"), variant="primary", elem_id="scorecards-score")
            message = gr.Markdown(elem_id="scorecards-message")
    with gr.Row():
        with gr.Column():
            queue = dataframe(QUEUE_COLUMNS, interactive=False, elem_id="scorecards-queue")
        with gr.Column():
            agreed = dataframe(AGREEMENT_COLUMNS, interactive=False,
                               elem_id="scorecards-agreement")  # fmt: skip
    with gr.Row():
        call_id = gr.Textbox(label=I18N("q.call"), placeholder=I18N("q.call_placeholder"), scale=3,
                             elem_id="scorecards-call")  # fmt: skip
        open_call = gr.Button(I18N("sc.open"), scale=1, elem_id="scorecards-open")
    verdict = gr.Markdown(elem_id="scorecards-verdict")
    answers = dataframe(CARD_COLUMNS, interactive=False, wrap=True, elem_id="scorecards-answers")
    # A click on an answer plays the recording from the first turn it rests on.
    audio = gr.Audio(label=I18N("audio.recording"), type="filepath", interactive=False,
                     elem_id="scorecards-audio")  # fmt: skip
    starts = gr.State([])
    shown = gr.State("")
    with gr.Row():
        question = gr.Dropdown([], label=I18N("sc.question"), scale=2,
                               elem_id="scorecards-question")  # fmt: skip
        value = dropdown("sc.answer", ["yes", "no", "not_applicable"], value=None,
                         label=I18N("sc.review_answer"), scale=2,
                         elem_id="scorecards-value")  # fmt: skip
        comment = gr.Textbox(label=I18N("sc.comment"), scale=3, elem_id="scorecards-comment")
        send = gr.Button(I18N("sc.review"), variant="primary", scale=1, elem_id="scorecards-send")

    def table(rows: list[list[Any]], columns: tuple[str, ...], lang: str) -> gr.Dataframe:
        return gr.Dataframe(value=rows, headers=[t(c, lang) for c in columns])

    def names() -> list[str]:
        return [c.name for c in scorecards.list_scorecards(ctx.runtime)]

    def side_tables(name: str | None, lang: str) -> tuple[Any, Any]:
        if not name:
            return table([], QUEUE_COLUMNS, lang), table([], AGREEMENT_COLUMNS, lang)
        waiting = [
            [q["call_id"], q["score"]] for q in scorecard_reviews.review_queue(ctx.runtime, name)
        ]
        report = scorecard_reviews.agreement(ctx.runtime, name)
        rows = [
            [r["question"], r["reviewed"], r["agreed"],
             "" if r["agreement"] is None else f"{r['agreement']:.0%}",
             "" if r["counted"] is None else t(f"sc.counted.{r['counted']}", lang)]
            for r in report["questions"]
        ]  # fmt: skip
        return table(waiting, QUEUE_COLUMNS, lang), table(rows, AGREEMENT_COLUMNS, lang)

    def save_cards(text: str, request: gr.Request) -> tuple:
        lang = lang_of(request)
        user = getattr(request, "username", None) or "ui"
        try:
            actions = scorecards.save_scorecards(ctx.runtime, text or "", by=user)
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        said = ", ".join(f"`{n}` {t(f'q.action.{a}', lang)}" for n, a in actions.items())
        first = next(iter(actions), None)
        return t("q.saved", lang).format(rules=said), gr.Dropdown(choices=names(), value=first)

    def score_all(name: str | None, request: gr.Request) -> Iterator[tuple]:
        lang = lang_of(request)
        if not name:
            raise gr.Error(t("sc.pick", lang))
        jobs = ctx.jobs
        if jobs is None:
            raise gr.Error(t("jobs.unavailable", lang))

        def note(job: Any, lang: str) -> str:
            return t("sc.scoring", lang).format(done=job.done, total=job.total or "…")

        job = yield from follow_job(jobs, jobs.submit("scorecard_score", {"name": name}), lang,
                                    (gr.skip(), gr.skip()), note)  # fmt: skip
        if job is None:
            return
        mean = job.result.get("mean")
        text = t("sc.scored", lang).format(n=job.result.get("scored", 0),
                                           mean="–" if mean is None else f"{mean:g}")  # fmt: skip
        yield (text, *side_tables(name, lang))

    def show(name: str | None, call: str, request: gr.Request) -> tuple:
        lang = lang_of(request)
        call = (call or "").strip()
        if not name or not call:
            raise gr.Error(t("sc.pick_call", lang))
        try:
            found = {c["scorecard"]: c for c in scorecards.call_cards(ctx.runtime, call)}
            if name not in found:
                raise gr.Error(t("sc.pick", lang))
            state = scorecard_reviews.reviewed(ctx.runtime, call, name)
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        card = found[name]
        head = t("sc.verdict", lang).format(
            call=call,
            title=card["title"] or name,
            score=_score(state["score"]),
            reviewed=_score(state["reviewed_score"]),
        )
        choices = [(a["text"], a["question"]) for a in card["answers"]]
        cited = [{"start": next((e["start"] for e in a["evidence"] if e["start"] is not None),
                                None)} for a in card["answers"]]  # fmt: skip
        return (head, table(card_rows(card, state, lang), CARD_COLUMNS, lang),
                gr.Dropdown(choices=choices, value=None), cited, call)  # fmt: skip

    def save_review(
        name: str | None, call: str, q: str | None, v: str | None, note: str, request: gr.Request
    ) -> tuple:
        lang = lang_of(request)
        if not (name and call and q and v):
            raise gr.Error(t("sc.pick_review", lang))
        user = getattr(request, "username", None) or "ui"
        try:
            scorecard_reviews.review_answer(
                ctx.runtime, call.strip(), name, q, v, comment=note or "", by=user
            )
        except CallScopeError as exc:
            raise refusal(exc, lang) from None
        head, rows, *_ = show(name, call, request)
        return (head, rows, "", *side_tables(name, lang))

    def pick_queue(rows: Any, evt: gr.SelectData) -> Any:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        value = evt.row_value[0] if evt.row_value else None
        return value if row is not None and value else gr.skip()

    def refresh(name: str | None, request: gr.Request) -> tuple:
        return side_tables(name, lang_of(request))

    private = {"api_visibility": "private"}
    save.click(save_cards, [editor], [message, pick], **private)
    pick.focus(lambda: gr.Dropdown(choices=names()), None, [pick], **private)
    pick.change(refresh, [pick], [queue, agreed], **private)
    score.click(score_all, [pick], [message, queue, agreed], **private)
    opened = [verdict, answers, question, starts, shown]
    open_call.click(show, [pick, call_id], opened, **private)
    queue.select(pick_queue, [queue], [call_id], **private).then(
        show, [pick, call_id], opened, **private
    )

    def play(cited: list[dict[str, Any]], call: str, evt: gr.SelectData) -> Any:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        return ctx.seek(cited, call, row)

    answers.select(play, [starts, shown], [audio], **private)
    send.click(save_review, [pick, call_id, question, value, comment],
               [verdict, answers, comment, queue, agreed], **private)  # fmt: skip


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"
