"""Classify tab: upload recordings or transcripts (recordings are really transcribed) or paste a
transcript; shows the label, confidence, which path decided and the neighbours that voted. The
uploads can also go in as a batch job (``callscope batch``'s service): indexed and classified,
with the run's summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from app.core.errors import InputError
from app.core.hotwords import MAX_HOTWORD_CHARS, MAX_HOTWORDS, parse_hotwords
from app.core.models import CallSource
from app.jobs.queue import Job, jobs_dir
from app.services.calls import store_files
from app.services.classify import INPUT_SUFFIXES, PASTED_ID, UNKNOWN, CallResult, classify_inputs
from ui.context import UIContext, follow_job
from ui.i18n import I18N, dataframe, lang_of, speaker_lines, t, word
from ui.messages import error_text

RESULT_COLUMNS = (
    "col.call",
    "col.label",
    "col.confidence",
    "col.decided_by",
    "classify.col.labels",
    "col.flags",
    "col.error",
)
#: ``classify.col.share``: a neighbour's share of the vote (0-1), one scale for dense and BM25
#: neighbours (their raw scores are a cosine and an unbounded BM25 score).
NEIGHBOUR_COLUMNS = ("col.call", "col.labels", "classify.col.share", "col.via")


def call_name(call_id: str, lang: str = "en") -> str:
    """A result's call as the page names it (a pasted transcript has a made-up id)."""
    return t("classify.pasted", lang) if call_id == PASTED_ID else call_id


def result_row(r: CallResult, lang: str = "en") -> list[Any]:
    c = r.classification
    if c is None:
        return [call_name(r.call_id, lang), "", None, "", "", "", error_text(r.error or "", lang)]
    return [
        call_name(r.call_id, lang),
        c.label,
        round(c.confidence, 3),
        word("decided_by", c.decided_by, lang),
        ", ".join(c.labels),
        flags_text(c.flags, lang),
        "",
    ]


def flags_text(flags: list[str], lang: str = "en") -> str:
    """A classification's flags in ``lang`` (an LLM error's own words after its flag kept)."""
    said = []
    for flag in flags:
        code, sep, rest = flag.partition(":")
        said.append(word("flag", code, lang) + (sep + rest if sep else ""))
    return ", ".join(said)


def neighbour_rows(r: CallResult | None, lang: str = "en") -> list[list[Any]]:
    if r is None or r.classification is None:
        return []
    return [
        [n.call_id, ", ".join(n.labels), round(n.weight, 3), word("via", n.via, lang)]
        for n in r.classification.neighbours
    ]


def summary_markdown(r: CallResult | None, lang: str) -> str:
    """One result: the label, its confidence and path, the top candidate labels (always: a
    close second is worth seeing, not only when the answer is ``unknown``), and the text that
    was classified (a recording as whisper heard it)."""
    if r is None:
        return ""
    heard = ""
    if r.text:
        text = speaker_lines(r.text, lang)
        short = text if len(text) <= 600 else text[:600] + "…"
        # One paragraph per turn (consecutive "> " lines would run into one).
        heard = f"\n\n**{t('classify.transcript', lang)}**\n\n" + "\n>\n".join(
            f"> {line}" for line in short.splitlines() if line.strip()
        )
    c, name = r.classification, call_name(r.call_id, lang)
    if c is None:
        return f"**{name}**: {t('classify.failed', lang)} {error_text(r.error or '', lang)}" + heard
    path = t(f"decided.{c.decided_by}", lang)
    candidates = ""
    if c.candidates:
        key = "classify.closest" if c.label == UNKNOWN else "classify.candidates"
        candidates = f"\n\n{t(key, lang)} " + ", ".join(
            f"`{label}` ({conf:.2f})" for label, conf in c.candidates
        )
    return (
        f"### {name}: `{c.label}`\n{t('col.confidence', lang)} **{c.confidence:.2f}** · "
        f"{t('col.decided_by', lang)} **{word('decided_by', c.decided_by, lang)}** ({path})"
        + candidates
        + heard
    )


def build(ctx: UIContext) -> None:
    with gr.Row():
        with gr.Column(scale=2):
            files = gr.File(
                label=I18N("classify.files"),
                file_count="multiple",
                type="filepath",
                file_types=sorted(INPUT_SUFFIXES),
                elem_id="classify-files",
            )
            text = gr.Textbox(
                label=I18N("classify.paste"),
                placeholder=I18N("classify.paste_placeholder"),
                lines=6,
                elem_id="classify-text",
            )
            hotwords = gr.Textbox(
                label=I18N("classify.hotwords"),
                placeholder=I18N("classify.hotwords_placeholder"),
                lines=1,
                elem_id="classify-hotwords",
            )
            run = gr.Button(I18N("classify.run"), variant="primary", elem_id="classify-run")
            as_batch = gr.Button(I18N("classify.as_batch"), elem_id="classify-batch")
            gr.Markdown(I18N("classify.batch_hint"), elem_id="classify-hint")
        with gr.Column(scale=3):
            summary = gr.Markdown(elem_id="classify-summary")
            results = dataframe(
                RESULT_COLUMNS,
                interactive=False,
                label=I18N("classify.results"),
                elem_id="classify-results",
                wrap=True,
            )
            neighbours = dataframe(
                NEIGHBOUR_COLUMNS,
                interactive=False,
                label=I18N("classify.neighbours"),
                elem_id="classify-neighbours",
            )
    state = gr.State([])

    def classify(
        paths: list[str] | None,
        pasted: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - gradio's way to ask for a bar
    ) -> tuple:
        lang = lang_of(request)
        if not paths and not (pasted and pasted.strip()):
            raise gr.Error(t("classify.nothing", lang))
        count = [0, 0]  # results so far, results to come

        def counted(n: int) -> None:
            count[1] = n

        def one_done(result: CallResult) -> None:  # a bar, as recordings take seconds each
            count[0] += 1
            progress((count[0], count[1]), desc=result.call_id)

        def one_starts(source: CallSource) -> None:
            progress((count[0], count[1]), desc=source.call_id)

        # Uploaded calls that are in the store keep a classification history, like the API's.
        done = classify_inputs(
            ctx.runtime,
            [Path(p) for p in paths or []],
            pasted,
            source="ui",
            on_count=counted,
            on_start=one_starts,
            on_result=one_done,
        )
        if not done:
            raise gr.Error(t("classify.nothing", lang))
        first = next((r for r in done if r.classification is not None), done[0])
        return (
            summary_markdown(first, lang),
            gr.Dataframe(
                value=[result_row(r, lang) for r in done],
                headers=[t(c, lang) for c in RESULT_COLUMNS],
            ),
            _neighbours(first, lang),
            done,
        )

    def pick(done: list[CallResult], evt: gr.SelectData, request: gr.Request) -> tuple:
        lang = lang_of(request)
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if row is None or row >= len(done):
            return gr.skip(), gr.skip()
        return summary_markdown(done[row], lang), _neighbours(done[row], lang)

    def batch(paths: list[str] | None, words: str | None, request: gr.Request) -> Iterator[tuple]:
        lang = lang_of(request)
        jobs = ctx.jobs
        if jobs is None:
            raise gr.Error(t("jobs.unavailable", lang))
        if not paths:
            raise gr.Error(t("classify.batch_nothing", lang))
        try:
            listened_for = parse_hotwords(words)
        except InputError:
            limits = {"n": MAX_HOTWORDS, "chars": MAX_HOTWORD_CHARS}
            raise gr.Error(t("classify.hotwords_bad", lang).format(**limits)) from None
        stored = store_files(ctx.runtime, [Path(p) for p in paths])
        files = [{"name": n, "path": str(p)} for n, p in stored]
        params = {"files": files, "date": None, "hotwords": list(listened_for)}
        submitted = jobs.submit("batch", params)
        job = yield from follow_job(jobs, submitted, lang, (gr.skip(),) * 3, note=batch_note)
        if job is None:
            return
        done_file = jobs_dir(ctx.runtime, job.id) / "results.jsonl"
        rows = [json.loads(line) for line in done_file.read_text(encoding="utf-8").splitlines()]
        table = gr.Dataframe(
            value=batch_rows(rows, lang), headers=[t(c, lang) for c in RESULT_COLUMNS]
        )
        yield batch_markdown(job.result, lang), table, _neighbours(None, lang), []

    run.click(
        classify, [files, text], [summary, results, neighbours, state], api_visibility="private"
    )
    as_batch.click(
        batch, [files, hotwords], [summary, results, neighbours, state], api_visibility="private"
    )
    results.select(pick, [state], [summary, neighbours], api_visibility="private")


def batch_rows(rows: list[dict[str, Any]], lang: str = "en") -> list[list[Any]]:
    """A batch run's result rows (its results file's columns) as the results table shows them,
    in ``lang``."""
    return [
        [
            r.get("call_id"),
            r.get("label") or "",
            r.get("confidence"),
            word("decided_by", r.get("decided_by") or "", lang),
            (r.get("labels") or "").replace(";", ", "),
            flags_text([f for f in (r.get("flags") or "").split(";") if f], lang),
            error_text(r.get("error") or "", lang) if r.get("error") else "",
        ]
        for r in rows
    ]


def batch_note(job: Job, lang: str) -> str:
    """A running *Index and classify* job in the page's language: how many of its calls are
    done (the count moves as each step of the batch is stored and classified)."""
    if job.state == "queued":
        return t("classify.batch_queued", lang)
    return t("classify.batch_running", lang).format(done=job.done, total=job.total or "…")


def batch_markdown(summary: dict[str, Any], lang: str) -> str:
    """The run's summary: counts, what was not answered, failures with reasons, pace."""
    labels = ", ".join(f"`{label}` {n}" for label, n in summary["labels"].items()) or "—"
    text = t("classify.batch_done", lang).format(**summary, label_counts=labels)
    for e in summary["errors"]:
        text += f"\n- {e['origin']}: {error_text(e['error'], lang)}"
    return text


def _neighbours(r: CallResult | None, lang: str) -> Any:
    return gr.Dataframe(
        value=neighbour_rows(r, lang), headers=[t(c, lang) for c in NEIGHBOUR_COLUMNS]
    )
