"""Ask tab: questions answered from the calls, streamed, with clickable citations that show the
excerpt and play the recording from the cited second."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from app.core.filters import CallFilter
from app.services import search as service
from app.services.call_views import call_audio
from app.services.search import GENERATION_OFF, Answer, Citation, span
from ui.context import UIContext
from ui.i18n import I18N, dataframe, lang_of, speaker_words, t
from ui.messages import known_text

CITE_COLUMNS = ("col.n", "col.call", "col.time", "col.speakers", "col.audio")


def citation_row(c: Citation, has_audio: bool, lang: str = "en") -> list[Any]:
    p = c.passage
    return [
        c.n,
        p.call_id,
        span(p.start, p.end),
        speaker_words(p.speakers, lang),
        "▶" if has_audio else "",
    ]


def evidence_markdown(answer: Answer, lang: str) -> str:
    """The no-LLM answer (the cited evidence, grouped by call, numbered in the order listed)
    as Markdown; each line shows the speaker once, then the words."""
    groups: dict[str, list[Citation]] = {}
    for c in answer.citations:
        groups.setdefault(c.passage.call_id, []).append(c)
    # Why the evidence is shown: no LLM, or the model's answer was not good enough to show.
    why = t("ask.generation_off", lang)
    if answer.note and answer.note != GENERATION_OFF:
        why = known_text(answer.note, lang)
    lines = [f"_{why}_", ""]
    for call_id, cites in groups.items():
        labels = ", ".join(cites[0].passage.labels) or t("unlabeled", lang)
        lines.append(f"**{t('col.call', lang)} {call_id}** ({labels})")
        for c in cites:
            p = c.passage
            when = span(p.start, p.end)
            text = " ".join(p.words.split())
            lines.append(
                f"- **[{c.n}]** {when} ({speaker_words(p.speakers, lang)}): {text}".replace(
                    "  ", " "
                )
            )
        lines.append("")
    return "\n".join(lines).strip()


def answer_markdown(answer: Answer, lang: str) -> str:
    if answer.not_found:  # said in the question's language by the service: the page's here
        return t("ask.not_found", lang)
    if not answer.generated:
        return evidence_markdown(answer, lang)
    return answer.text + (f"\n\n_{known_text(answer.note, lang)}_" if answer.note else "")


def _pairs(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Earlier (question, answer) turns of the chat, for follow-up questions."""
    pairs, question = [], None
    for m in history:
        content = m.get("content")
        if not isinstance(content, str):
            continue
        if m.get("role") == "user":
            question = content
        elif question is not None:
            pairs.append((question, content))
            question = None
    return pairs


def build(ctx: UIContext) -> list[gr.Dropdown]:
    """The tab's components; returns its label dropdowns (filled when the page loads)."""
    with gr.Row():
        with gr.Column(scale=3):
            chat = gr.Chatbot(label=I18N("ask.chat"), height=460, elem_id="ask-chat")
            with gr.Row():
                question = gr.Textbox(
                    label=I18N("ask.question"),
                    placeholder=I18N("ask.placeholder"),
                    elem_id="ask-question",
                    scale=5,
                )
                send = gr.Button(I18N("ask.send"), variant="primary", scale=1, elem_id="ask-send")
            with gr.Accordion(I18N("ask.options"), open=False):
                k = gr.Slider(1, 20, value=6, step=1, label=I18N("ask.k"))
                label = gr.Dropdown([], label=I18N("filter.label"), allow_custom_value=True)
        with gr.Column(scale=2):
            gr.Markdown(I18N("ask.citations_help"))
            cites = dataframe(
                CITE_COLUMNS,
                interactive=False,
                elem_id="ask-citations",
                wrap=True,
            )
            excerpt = gr.Markdown(elem_id="ask-excerpt")
            audio = gr.Audio(
                label=I18N("audio.recording"),
                type="filepath",
                interactive=False,
                elem_id="ask-audio",
            )
    state = gr.State([])

    def respond(
        q: str, history: list[dict[str, Any]], k: float, label: str | None, request: gr.Request
    ) -> Iterator[tuple[Any, ...]]:
        lang = lang_of(request)
        q = (q or "").strip()
        if not q:
            yield gr.skip(), history, gr.skip(), gr.skip()
            return
        filters = CallFilter(labels=(label,) if label else ())
        earlier = _pairs(history)
        history = [*history, {"role": "user", "content": q}, {"role": "assistant", "content": ""}]
        yield "", history, gr.skip(), gr.skip()
        text = ""
        for item in service.ask_stream(ctx.runtime, q, filters=filters, k=int(k), history=earlier):
            if isinstance(item, Answer):
                history[-1]["content"] = answer_markdown(item, lang)
                found = list(item.citations)
                rows = [citation_row(c, _has_audio(ctx, c), lang) for c in found]
                data = [_cite_data(c, lang) for c in found]
                yield "", history, _table(rows, lang), data
                return
            text += item
            history[-1]["content"] = text
            yield "", history, gr.skip(), gr.skip()

    def show(data: list[dict[str, Any]], evt: gr.SelectData, request: gr.Request) -> tuple:
        lang = lang_of(request)
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if not data or row is None or row >= len(data):
            return gr.skip(), gr.skip()
        c = data[row]
        head = (
            f"**[{c['n']}] {t('col.call', lang)} {c['call_id']}"
            + (f" @ {c['when']}" if c["when"] else "")
            + f"** ({c['speakers']})"
        )
        body = "\n".join(f"> {line}" for line in c["text"].splitlines() if line.strip())
        path, position = ctx.playable(c["call_id"], c["start"])
        if path is None:
            return f"{head}\n\n{body}\n\n_{t('audio.none', lang)}_", gr.Audio(value=None)
        return f"{head}\n\n{body}", gr.Audio(value=path, playback_position=position)

    for trigger in (question.submit, send.click):
        trigger(
            respond,
            [question, chat, k, label],
            [question, chat, cites, state],
            api_visibility="private",
        )
    cites.select(show, [state], [excerpt, audio], api_visibility="private")
    chat.clear(
        lambda: ([], None, [], ""), None, [cites, audio, state, excerpt], api_visibility="private"
    )
    return [label]


def _cite_data(c: Citation, lang: str = "en") -> dict[str, Any]:
    p = c.passage
    return {
        "n": c.n,
        "call_id": p.call_id,
        "start": p.start,
        "text": p.words,  # the speaker is in the heading
        "when": span(p.start, p.end),
        "speakers": speaker_words(p.speakers, lang),
    }


def _has_audio(ctx: UIContext, c: Citation) -> bool:
    return call_audio(ctx.runtime, c.passage.call_id) is not None


def _table(rows: list[list[Any]], lang: str) -> Any:
    return gr.Dataframe(value=rows, headers=[t(c, lang) for c in CITE_COLUMNS])


__all__ = ["GENERATION_OFF", "answer_markdown", "build", "citation_row", "evidence_markdown"]
