"""Classification, the use case: one transcript, one stored call, or a batch of recordings and
transcripts; every entry point (``callscope classify``, ``POST /api/classify[/batch]``,
``/api/calls/{id}/classify``, the classify job, the UI tab) calls these functions.

A batch is read (recordings transcribed, from the transcript cache when seen before), classified
in batches by the kNN path, refined by the LLM when one is configured, and handed to
``on_result`` one by one. A bad input becomes a failed result; the batch goes on. A named call
that is in the store gets the classification in its history (who asked: ``source``), and its
point in the calls collection carries the latest one (``predicted``, ``confidence``,
``decided_by``, ``classified_at``: what Insights counts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.core.errors import CallScopeError, InputError
from app.core.iters import chunked
from app.core.models import CallSource, Transcript
from app.core.text import call_text
from app.runtime import Runtime
from ingest.audio import file_sha256
from ingest.sources import parse_text_turns
from ingest.transcribe import Heard, SpeechToText
from retrieval.classify.knn import Classification, KnnClassifier

log = logging.getLogger(__name__)

Refiner = Callable[[list[Classification], list[str]], list[Classification]]


@dataclass
class CallResult:
    """One input's outcome: a classification, or the error that stopped it."""

    call_id: str
    origin: str
    classification: Classification | None = None
    error: str | None = None


def classify_sources(
    sources: Iterable[CallSource],
    classifier: KnnClassifier,
    *,
    transcriber: Callable[[], SpeechToText],
    refine: Refiner | None = None,
    batch_size: int = 32,
    on_result: Callable[[CallResult], None] | None = None,
    on_start: Callable[[CallSource], None] | None = None,
) -> list[CallResult]:
    """Classify every source; never raises for a bad input. ``on_start`` hears of each source
    before it is read (results come in batches; a recording takes seconds to transcribe)."""
    results: list[CallResult] = []
    pending: list[tuple[CallSource, str]] = []

    def emit(result: CallResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    def flush() -> None:
        if not pending:
            return
        texts = [text for _, text in pending]
        try:
            found = classifier.classify_texts(texts)
            if refine is not None:
                found = refine(found, texts)
        except CallScopeError as exc:
            for source, _ in pending:
                emit(CallResult(source.call_id, source.origin, error=str(exc)))
        else:
            for (source, _), classification in zip(pending, found, strict=True):
                emit(CallResult(source.call_id, source.origin, classification))
        pending.clear()

    for group in chunked(sources, batch_size):
        for source in group:
            if on_start:
                on_start(source)
        # The group's recordings are transcribed together (whisper batches across calls).
        audio = [s for s in group if s.kind == "audio" and s.transcript is None]
        heard: dict[int, Heard] = {}
        if audio:
            try:
                found = transcriber().transcribe_many(
                    [(s.path, file_sha256(s.path)) for s in audio if s.path is not None]
                )
            except CallScopeError as exc:  # the model itself could not be loaded
                found = [exc] * len(audio)
            heard = {id(s): h for s, h in zip(audio, found, strict=True)}
        for source in group:
            try:
                transcript = source.transcript
                if id(source) in heard:
                    speech = heard[id(source)]
                    if isinstance(speech, CallScopeError):
                        raise speech
                    transcript = speech[0]
                text = call_text(transcript or Transcript([]))
                if not text.strip():
                    raise CallScopeError("no speech or text to classify")
            except CallScopeError as exc:
                emit(CallResult(source.call_id, source.origin, error=str(exc)))
                continue
            except Exception as exc:  # one bad input must not end the batch
                log.exception("unexpected error on %s", source.origin)
                emit(CallResult(source.call_id, source.origin, error=f"internal error: {exc}"))
                continue
            pending.append((source, text))
        flush()
    flush()
    return results


def classify_text(
    runtime: Runtime,
    transcript: str,
    *,
    call_id: str | None = None,
    source: str = "api",
) -> Classification:
    """Classify one call given as transcript text (``Agent: ...`` lines or plain text); with
    ``call_id``, the result joins that call's classification history."""
    text = call_text(Transcript(turns=parse_text_turns(transcript)))
    return _classify_one(runtime, text, call_id, source)


def classify_stored(runtime: Runtime, call_id: str, *, source: str = "api") -> Classification:
    """Classify a call already in the store from the vectors the index holds (nothing is
    embedded again); its own point never votes for it. A call whose point is missing (an
    interrupted ingest) is classified from its transcript."""
    row = runtime.ledger.get(call_id)
    if row is None or row.transcript is None:
        raise InputError(f"no transcribed call {call_id!r}")
    text = call_text(row.transcript)
    try:
        result = runtime.classifier.classify_stored([call_id])
    except InputError:
        return _classify_one(runtime, text, call_id, source, skip=call_id)
    refine = runtime.llm_refiner()
    if refine is not None:
        result = refine(result, [text])
    record(runtime, call_id, result[0], source)
    return result[0]


def classify_calls(runtime: Runtime, call_ids: list[str], *, source: str) -> list[CallResult]:
    """Classify stored calls from the vectors the index holds, all in one pass (LLM-refined when
    configured); each result joins its call's history. A call that cannot be classified this way
    (no point: an interrupted ingest) goes through :func:`classify_stored` alone."""
    if not call_ids:
        return []
    rows = {c: runtime.ledger.get(c) for c in call_ids}
    try:
        found = runtime.classifier.classify_stored(call_ids)
    except InputError:
        return [_one_stored(runtime, c, source) for c in call_ids]
    refine = runtime.llm_refiner()
    if refine is not None:
        texts = [call_text(r.transcript) if r and r.transcript else "" for r in rows.values()]
        found = refine(found, texts)
    out = []
    for call_id, classification in zip(call_ids, found, strict=True):
        record(runtime, call_id, classification, source)
        row = rows[call_id]
        out.append(CallResult(call_id, row.origin if row else call_id, classification))
    return out


def _one_stored(runtime: Runtime, call_id: str, source: str) -> CallResult:
    row = runtime.ledger.get(call_id)
    origin = row.origin if row else call_id
    try:
        return CallResult(call_id, origin, classify_stored(runtime, call_id, source=source))
    except CallScopeError as exc:
        return CallResult(call_id, origin, error=str(exc))


def classify_batch(
    runtime: Runtime,
    sources: Iterable[CallSource],
    *,
    source: str,
    transcriber: Callable[[], SpeechToText] | None = None,
    on_result: Callable[[CallResult], None] | None = None,
    on_start: Callable[[CallSource], None] | None = None,
) -> list[CallResult]:
    """Classify recordings and transcripts with the runtime's classifier (LLM-refined when
    configured); each result is recorded in its call's history (when the call is stored) and
    then handed to ``on_result``. ``transcriber`` replaces the runtime's speech model."""

    def done(result: CallResult) -> None:
        if result.classification is not None:
            record(runtime, result.call_id, result.classification, source)
        if on_result is not None:
            on_result(result)

    return classify_sources(
        sources,
        runtime.classifier,
        transcriber=transcriber or runtime.transcriber,
        refine=runtime.llm_refiner(),
        on_result=done,
        on_start=on_start,
    )


def _classify_one(
    runtime: Runtime, text: str, call_id: str | None, source: str, skip: str | None = None
) -> Classification:
    result = runtime.classifier.classify_texts([text], exclude=[skip])
    refine = runtime.llm_refiner()
    if refine is not None:
        result = refine(result, [text])
    if call_id:
        record(runtime, call_id, result[0], source)
    return result[0]


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
