"""Classification, the use case. One function per way in, every entry point calls them:

- :func:`classify_inputs`: recordings and transcripts (files, folders, a pasted transcript):
  ``callscope classify PATHS``, the Classify tab, and through ``classify_uploads`` the API's
  ``POST /api/classify/batch`` and its job;
- :func:`classify_calls` / :func:`classify_stored`: calls already in the store, from the vectors
  the index holds, all in one pass: ``callscope classify --call``,
  ``POST /api/calls/{id}/classify``, the call view, the weekly batch;
- :func:`classify_text`: one transcript given as text (``POST /api/classify``).

Recordings are transcribed (from the transcript cache when seen before) a group at a time,
classified by the kNN path, refined by the LLM when one is configured, and handed to
``on_result`` one by one, each with the text it was classified from. A bad input becomes a
failed result; the rest go on. A call never votes for itself: not by its id, not by its content
(``retrieval.classify.vote``). A named call that is in the store gets the classification in its
history (who asked: ``source``), and its point in the calls collection carries the latest one
(``predicted``, ``confidence``, ``decided_by``, ``classified_at``: what Insights counts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.errors import CallScopeError, InputError
from app.core.iters import chunked
from app.core.models import CallSource, Transcript
from app.core.names import SUPPORTED
from app.core.text import call_text
from app.runtime import Runtime
from app.services.inspection import PREDICTION_FIELDS, recheck_calls
from app.services.llm_trust import refiner
from ingest.pipeline import transcribe_group
from ingest.sources import discover, parse_text_turns
from ingest.transcribe import Heard
from retrieval.classify.knn import UNKNOWN, Classification, Neighbour

__all__ = [
    "INPUT_SUFFIXES",
    "PASTED_ID",
    "UNKNOWN",
    "CallResult",
    "Classification",
    "Neighbour",
    "classify_calls",
    "classify_inputs",
    "classify_sources",
    "classify_stored",
    "classify_text",
    "input_sources",
]

log = logging.getLogger(__name__)

#: File types that can be classified (recordings and transcripts), for file pickers.
INPUT_SUFFIXES = frozenset(SUPPORTED)
#: The call id of a pasted transcript.
PASTED_ID = "pasted-transcript"
#: Calls taken together: their recordings transcribed in shared whisper batches.
GROUP = 32


@dataclass
class CallResult:
    """One input's outcome: a classification, or the error that stopped it."""

    call_id: str
    origin: str
    classification: Classification | None = None
    error: str | None = None
    #: What was classified: the transcript as given, or what whisper heard (``Speaker: text``).
    text: str = ""


def input_sources(
    paths: Iterable[Path] = (), text: str | None = None, *, names: dict[str, str] | None = None
) -> tuple[list[CallSource], list[CallResult]]:
    """The call sources of recordings and transcripts (files or folders) and of a pasted
    transcript (call id :data:`PASTED_ID`); unusable inputs as failed results. ``names`` gives
    an input's real file name by its path (an upload stored under another name): calls are
    named after it."""
    names = names or {}
    sources, errors = discover(list(paths))
    for src in sources:
        if src.path is not None and src.call_id == src.path.stem and str(src.path) in names:
            src.call_id = Path(names[str(src.path)]).stem
    failed = [
        CallResult(Path(names.get(origin, origin)).stem, origin, error=message)
        for origin, message in errors
    ]
    if text and text.strip():
        turns = parse_text_turns(text)
        sources.append(CallSource(PASTED_ID, "text", "pasted", transcript=Transcript(turns=turns)))
    return sources, failed


def classify_inputs(
    runtime: Runtime,
    paths: Iterable[Path] = (),
    text: str | None = None,
    *,
    source: str,
    names: dict[str, str] | None = None,
    on_result: Callable[[CallResult], None] | None = None,
    on_start: Callable[[CallSource], None] | None = None,
    on_count: Callable[[int], None] | None = None,
) -> list[CallResult]:
    """Classify recordings and transcripts (files or folders) and a pasted transcript: one
    result per input, the unusable ones first, each with the text it was classified from.
    ``on_count`` hears how many results there will be before the work starts, ``on_start`` of
    each call before it is read (a recording takes seconds), ``on_result`` of each result as it
    comes (for a progress bar); ``names`` as in :func:`input_sources`."""
    sources, failed = input_sources(paths, text, names=names)
    if on_count is not None:
        on_count(len(sources) + len(failed))
    for result in failed:
        if on_result is not None:
            on_result(result)
    found = classify_sources(
        runtime, sources, source=source, on_result=on_result, on_start=on_start
    )
    return failed + found


def classify_sources(
    runtime: Runtime,
    sources: Iterable[CallSource],
    *,
    source: str,
    on_result: Callable[[CallResult], None] | None = None,
    on_start: Callable[[CallSource], None] | None = None,
) -> list[CallResult]:
    """Classify call sources with the runtime's classifier (LLM-refined when configured); never
    raises for a bad input. Each result is recorded in its call's history (a source named like
    a stored call is that call, and does not vote for itself) and handed to ``on_result``."""
    results: list[CallResult] = []

    def emit(result: CallResult) -> None:
        if result.classification is not None:
            record(runtime, result.call_id, result.classification, source)
        results.append(result)
        if on_result is not None:
            on_result(result)

    for group in chunked(sources, GROUP):
        for src in group:
            if on_start is not None:
                on_start(src)
        heard = transcribe_group(
            runtime.transcriber,
            [(s.path, None) if s.kind == "audio" and s.transcript is None else None for s in group],
        )
        ready: list[tuple[CallSource, str]] = []
        for src, speech in zip(group, heard, strict=True):
            try:
                ready.append((src, _text_of(src, speech)))
            except CallScopeError as exc:
                emit(CallResult(src.call_id, src.origin, error=str(exc)))
            except Exception as exc:  # one bad input must not end the batch
                log.exception("unexpected error on %s", src.origin)
                emit(CallResult(src.call_id, src.origin, error=f"internal error: {exc}"))
        for result in _classify_group(runtime, ready):
            emit(result)
    return results


def _text_of(src: CallSource, speech: Heard | None) -> str:
    transcript = src.transcript
    if isinstance(speech, CallScopeError):
        raise speech
    if speech is not None:
        transcript = speech[0]
    text = call_text(transcript or Transcript([]))
    if not text.strip():
        raise CallScopeError("no speech or text to classify")
    return text


def _classify_group(runtime: Runtime, ready: list[tuple[CallSource, str]]) -> list[CallResult]:
    if not ready:
        return []
    texts = [text for _, text in ready]
    try:
        found = runtime.classifier.classify_texts(texts, exclude=[s.call_id for s, _ in ready])
        refine = refiner(runtime)
        if refine is not None:
            found = refine(found, texts)
    except CallScopeError as exc:
        return [CallResult(s.call_id, s.origin, error=str(exc), text=t) for s, t in ready]
    return [
        CallResult(s.call_id, s.origin, c, text=t) for (s, t), c in zip(ready, found, strict=True)
    ]


def classify_text(
    runtime: Runtime,
    transcript: str,
    *,
    call_id: str | None = None,
    source: str = "api",
) -> Classification:
    """Classify one call given as transcript text (``Agent: ...`` lines or plain text); with
    ``call_id``, the result joins that call's classification history (and that call does not
    vote)."""
    text = call_text(Transcript(turns=parse_text_turns(transcript)))
    found = runtime.classifier.classify_texts([text], exclude=[call_id])
    refine = refiner(runtime)
    if refine is not None:
        found = refine(found, [text])
    if call_id:
        record(runtime, call_id, found[0], source)
    return found[0]


def classify_stored(runtime: Runtime, call_id: str, *, source: str = "api") -> Classification:
    """Classify a call already in the store (:func:`classify_calls`); the call itself never
    votes, by its id or by its content. An id that is not a transcribed call: ``InputError``."""
    [result] = classify_calls(runtime, [call_id], source=source)
    if result.classification is None:
        raise InputError(result.error or f"no transcribed call {call_id!r}")
    return result.classification


def classify_calls(runtime: Runtime, call_ids: Sequence[str], *, source: str) -> list[CallResult]:
    """Classify stored calls in one pass (LLM-refined when configured), from the vectors the
    index holds (nothing embedded again); a call whose point is missing (an interrupted ingest)
    from its transcript. None votes for itself. Each result joins its call's history; an id
    that is not a transcribed call is a failed result."""
    rows = {c: runtime.ledger.get(c) for c in call_ids}
    texts = {
        c: call_text(row.transcript)
        for c, row in rows.items()
        if row is not None and row.transcript is not None
    }
    found = dict(zip(texts, _classify_stored_texts(runtime, texts), strict=True))
    out = []
    for call_id in call_ids:
        row = rows[call_id]
        origin = row.origin if row else call_id
        if call_id not in found:
            out.append(CallResult(call_id, origin, error=f"no transcribed call {call_id!r}"))
            continue
        record(runtime, call_id, found[call_id], source)
        out.append(CallResult(call_id, origin, found[call_id], text=texts[call_id]))
    return out


def _classify_stored_texts(runtime: Runtime, texts: dict[str, str]) -> list[Classification]:
    if not texts:
        return []
    ids = list(texts)
    found = runtime.classifier.classify_stored(ids, [texts[c] for c in ids])
    refine = refiner(runtime)
    if refine is not None:
        found = refine(found, [texts[c] for c in ids])
    return found


def prediction(classification: Classification, at: datetime | None = None) -> dict[str, Any]:
    """The payload a classification leaves on its call's point: the label (``unknown`` when it
    abstained), its confidence, which path decided, and when (UTC)."""
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    return {
        "predicted": classification.label,
        "confidence": float(classification.confidence),
        "decided_by": classification.decided_by,
        "classified_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def record(runtime: Runtime, call_id: str, classification: Classification, source: str) -> None:
    """A stored call's classification: into its history in the ledger and, as its latest
    prediction, onto its call point. A call the ledger does not know (a new file classified
    without being indexed) has neither."""
    if runtime.ledger.add_classification(call_id, classification, source):
        runtime.calls.set_payload({"call_id": call_id}, prediction(classification), annotation=True)
        recheck_calls(runtime, [call_id], PREDICTION_FIELDS)  # rules may read the prediction
