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

from app.core.models import CallSource, Transcript
from app.jobs.queue import jobs_dir
from app.services.calls import store_files
from app.services.classify import CallResult, classify_batch
from ingest.sources import SUPPORTED, discover, parse_text_turns
from ui.context import UIContext, follow_job
from ui.i18n import I18N, dataframe, lang_of, t

RESULT_COLUMNS = (
    "col.call",
    "col.label",
    "col.confidence",
    "col.decided_by",
    "col.labels",
    "col.flags",
    "col.error",
)
NEIGHBOUR_COLUMNS = ("col.call", "col.labels", "col.score", "col.via")
PASTED_ID = "pasted-transcript"


def sources_for(
    files: list[str] | None, text: str | None
) -> tuple[list[CallSource], list[CallResult]]:
    """Call sources of the uploaded files and the pasted text; unusable files as failed results."""
    sources, failed = [], []
    if files:
        found, errors = discover([Path(f) for f in files])
        sources.extend(found)
        failed.extend(CallResult(Path(o).stem, o, error=msg) for o, msg in errors)
    if text and text.strip():
        turns = parse_text_turns(text)
        sources.append(CallSource(PASTED_ID, "text", "pasted", transcript=Transcript(turns=turns)))
    return sources, failed


class HeardTranscripts:
    """Wraps the transcriber to keep what it heard, so the UI can show it beside the label."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.heard: dict[str, Transcript] = {}

    def transcribe_many(self, items: list[tuple[Path, str]]) -> list[Any]:
        found = self.inner.transcribe_many(items)
        for (path, _), result in zip(items, found, strict=True):
            if isinstance(result, tuple):
                self.heard[str(path)] = result[0]
        return found


def transcript_texts(sources: list[CallSource], heard: dict[str, Transcript]) -> dict[str, str]:
    """Each call's text as classified: the pasted/uploaded transcript or what whisper heard."""
    from app.core.text import call_text

    out = {}
    for s in sources:
        transcript = heard.get(str(s.path)) if s.kind == "audio" else s.transcript
        if transcript is not None:
            out[s.call_id] = call_text(transcript)
    return out


def result_row(r: CallResult) -> list[Any]:
    c = r.classification
    if c is None:
        return [r.call_id, "", None, "", "", "", r.error or ""]
    return [
        r.call_id,
        c.label,
        round(c.confidence, 3),
        c.decided_by,
        ", ".join(c.labels),
        ", ".join(c.flags),
        "",
    ]


def neighbour_rows(r: CallResult | None) -> list[list[Any]]:
    if r is None or r.classification is None:
        return []
    return [
        [n.call_id, ", ".join(n.labels), round(n.score, 3), n.via]
        for n in r.classification.neighbours
    ]


def summary_markdown(r: CallResult | None, lang: str, text: str = "") -> str:
    if r is None:
        return ""
    heard = ""
    if text:
        short = text if len(text) <= 600 else text[:600] + "…"
        heard = f"\n\n**{t('classify.transcript', lang)}**\n\n" + "\n".join(
            f"> {line}" for line in short.splitlines() if line.strip()
        )
    c = r.classification
    if c is None:
        return f"**{r.call_id}**: {t('classify.failed', lang)} {r.error}" + heard
    path = t(f"decided.{c.decided_by}", lang)
    closest = ""
    if c.label == "unknown" and c.candidates:
        closest = f"\n\n{t('classify.candidates', lang)} " + ", ".join(
            f"`{label}` ({conf:.2f})" for label, conf in c.candidates
        )
    return (
        f"### {r.call_id}: `{c.label}`\n{t('col.confidence', lang)} **{c.confidence:.2f}** · "
        f"{t('col.decided_by', lang)} **{c.decided_by}** ({path})" + closest + heard
    )


def build(ctx: UIContext) -> None:
    with gr.Row():
        with gr.Column(scale=2):
            files = gr.File(
                label=I18N("classify.files"),
                file_count="multiple",
                type="filepath",
                file_types=sorted(SUPPORTED),
                elem_id="classify-files",
            )
            text = gr.Textbox(
                label=I18N("classify.paste"),
                placeholder=I18N("classify.paste_placeholder"),
                lines=6,
                elem_id="classify-text",
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
        sources, failed = sources_for(paths, pasted)
        if not sources and not failed:
            raise gr.Error(t("classify.nothing", lang))
        runtime = ctx.runtime
        ears = (
            HeardTranscripts(runtime.transcriber())
            if any(s.kind == "audio" for s in sources)
            else None
        )
        total = len(sources)
        started: list[CallSource] = []

        def one_starts(source: CallSource) -> None:  # a bar, as recordings take seconds each
            progress((len(started), total), desc=source.call_id)
            started.append(source)

        # Uploaded calls that are in the store keep a classification history, like the API's.
        found = classify_batch(
            runtime,
            sources,
            source="ui",
            transcriber=lambda: ears,  # type: ignore[arg-type,return-value]
            on_start=one_starts,
        )
        texts = transcript_texts(sources, ears.heard if ears else {})
        done = [(r, texts.get(r.call_id, "")) for r in failed + found]
        first = next((d for d in done if d[0].classification is not None), done[0])
        return (
            summary_markdown(first[0], lang, first[1]),
            gr.Dataframe(
                value=[result_row(r) for r, _ in done], headers=[t(c, lang) for c in RESULT_COLUMNS]
            ),
            _neighbours(first[0], lang),
            done,
        )

    def pick(done: list[tuple[CallResult, str]], evt: gr.SelectData, request: gr.Request) -> tuple:
        lang = lang_of(request)
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if row is None or row >= len(done):
            return gr.skip(), gr.skip()
        result, text = done[row]
        return summary_markdown(result, lang, text), _neighbours(result, lang)

    def batch(paths: list[str] | None, request: gr.Request) -> Iterator[tuple]:
        lang = lang_of(request)
        jobs = ctx.jobs
        if jobs is None:
            raise gr.Error(t("jobs.unavailable", lang))
        if not paths:
            raise gr.Error(t("classify.batch_nothing", lang))
        stored = store_files(ctx.runtime, [Path(p) for p in paths])
        files = [{"name": n, "path": str(p)} for n, p in stored]
        job = yield from follow_job(
            jobs, jobs.submit("batch", {"files": files, "date": None}), lang, (gr.skip(),) * 3
        )
        if job is None:
            return
        done_file = jobs_dir(ctx.runtime, job.id) / "results.jsonl"
        rows = [json.loads(line) for line in done_file.read_text(encoding="utf-8").splitlines()]
        table = gr.Dataframe(value=batch_rows(rows), headers=[t(c, lang) for c in RESULT_COLUMNS])
        yield batch_markdown(job.result, lang), table, _neighbours(None, lang), []

    run.click(
        classify, [files, text], [summary, results, neighbours, state], api_visibility="private"
    )
    as_batch.click(batch, [files], [summary, results, neighbours, state], api_visibility="private")
    results.select(pick, [state], [summary, neighbours], api_visibility="private")


def batch_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """A batch run's result rows as the results table shows them."""
    return [
        [
            r.get("call_id"),
            r.get("label") or "",
            r.get("confidence"),
            r.get("decided_by") or "",
            (r.get("labels") or "").replace(";", ", "),
            (r.get("flags") or "").replace(";", ", "),
            r.get("error") or "",
        ]
        for r in rows
    ]


def batch_markdown(summary: dict[str, Any], lang: str) -> str:
    """The run's summary: counts, what was not answered, failures with reasons, pace."""
    labels = ", ".join(f"`{label}` {n}" for label, n in summary["labels"].items()) or "—"
    text = t("classify.batch_done", lang).format(**summary, label_counts=labels)
    for e in summary["errors"]:
        text += f"\n- {e['origin']}: {e['error']}"
    return text


def _neighbours(r: CallResult | None, lang: str) -> Any:
    return gr.Dataframe(value=neighbour_rows(r), headers=[t(c, lang) for c in NEIGHBOUR_COLUMNS])
