"""Batch classification of new calls: recordings or transcripts in, one result per call out.

Inputs are read (and recordings transcribed, from the transcript cache when seen before),
classified in batches by the kNN path, refined by the LLM when one is configured, and handed
to ``on_result`` one by one. A bad input becomes a failed result; the batch goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.errors import CallScopeError
from ingest.audio import file_sha256
from ingest.models import CallSource, Transcript
from ingest.pipeline import call_text
from ingest.transcribe import Transcriber
from retrieval.classify import Classification, KnnClassifier

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
    transcriber: Callable[[], Transcriber],
    refine: Refiner | None = None,
    batch_size: int = 32,
    on_result: Callable[[CallResult], None] | None = None,
    on_start: Callable[[CallSource], None] | None = None,
) -> list[CallResult]:
    """Classify every source; never raises for a bad input. ``on_start`` hears of each source
    before it is read (results come in batches; a recording takes seconds to transcribe)."""
    results: list[CallResult] = []
    pending: list[tuple[CallSource, str]] = []
    loaded: Transcriber | None = None

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

    for source in sources:
        if on_start:
            on_start(source)
        try:
            transcript = source.transcript
            if source.kind == "audio":
                assert source.path is not None
                if loaded is None:
                    loaded = transcriber()
                transcript, _ = loaded.transcribe(source.path, file_sha256(source.path))
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
        if len(pending) >= batch_size:
            flush()
    flush()
    return results
