"""The ingest pipeline: source -> transcript -> turn units -> vectors in the store, one ledger
row per call.

Calls flow in groups through hashing and the ledger check, then the group's recordings are
transcribed together (``SpeechToText.transcribe_many``: whisper batches across calls); their
turn units (``ingest/turns.py``: one point per turn, its dense vector from the turn in its
context, its BM25 from its words) are buffered, embedded and upserted in batches
(``ingest.batch_points`` units), and each call gets a call-level point
(``ingest/call_points.py``); then the calls of the batch are marked ``indexed``. Any error in one
call marks that call ``failed`` and the batch goes on. Re-running skips calls whose content is
unchanged, and resumes the rest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from app.core.config import Settings
from app.core.dates import iso_date
from app.core.digest import file_sha256
from app.core.errors import AudioError, CallScopeError, InputError, TranscriptionError
from app.core.iters import chunked
from app.core.models import CallSource, IngestResult
from ingest.call_points import PreparedCall, call_points
from ingest.ledger import Ledger
from ingest.roles import apply_override
from ingest.transcribe import Heard, SpeechToText
from ingest.transcript_cache import recording_key
from ingest.turns import (
    turn_units,
)
from retrieval.index.embedding import Embedder
from retrieval.index.sparse import Bm25Encoder
from retrieval.index.store import (
    VectorStore,
)

log = logging.getLogger(__name__)


@dataclass
class _Admitted:
    """A call that needs (re)indexing, its ledger row marked pending."""

    source: CallSource
    content_hash: str
    audio_hash: str | None
    had_row: bool


_T = TypeVar("_T")


class IngestPipeline:
    """Runs sources into the store. Build with the shared components; call :meth:`run`."""

    def __init__(
        self,
        settings: Settings,
        *,
        ledger: Ledger,
        turns: VectorStore,
        calls: VectorStore | None = None,
        embedder: Embedder,
        sparse: Bm25Encoder,
        transcriber: Callable[[], SpeechToText],
        clock: Counter[str] | None = None,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.turns = turns
        # One point per call (its turn vectors through turns.call_vector, BM25 of its whole
        # text): what
        # classification and label-quality runs compare calls by.
        self.calls = calls
        self.embedder = embedder
        self.sparse = sparse
        # A factory, so that text-only runs never load the speech model.
        self._transcriber_factory = transcriber
        self._transcriber: SpeechToText | None = None
        self.collection = turns.info.name
        #: Seconds spent per stage ("transcribe", "index"), added to across runs: what sizing
        #: a batch's hardware is computed from.
        self.clock: Counter[str] = clock if clock is not None else Counter()

    def run(
        self,
        sources: Iterable[CallSource],
        on_result: Callable[[IngestResult], None] | None = None,
        on_start: Callable[[CallSource], None] | None = None,
    ) -> list[IngestResult]:
        """Ingest every source; never raises for a bad input (see the results).

        Sources are taken in groups of ``ingest.group_calls``: the recordings of a group that
        need transcribing are transcribed together (whisper batches across calls), then each
        call becomes turn units, embedded and stored in batches of ``ingest.batch_points``."""
        results: list[IngestResult] = []

        def report(result: IngestResult) -> None:
            results.append(result)
            if on_result:
                on_result(result)

        buffer: list[PreparedCall] = []
        for group in chunked(sources, self.settings.ingest.group_calls):
            admitted: list[_Admitted] = []
            for source in group:
                if on_start:
                    on_start(source)
                outcome = self._guarded(source, lambda s=source: self._admit(s))
                if isinstance(outcome, _Admitted):
                    admitted.append(outcome)
                else:
                    report(outcome)
            heard = self._transcribe(admitted)
            for item, speech in zip(admitted, heard, strict=True):
                ready = self._guarded(item.source, lambda i=item, h=speech: self._prepare(i, h))
                if isinstance(ready, IngestResult):
                    report(ready)
                    continue
                buffer.append(ready)
                if sum(len(r.units) for r in buffer) >= self.settings.ingest.batch_points:
                    for result in self._flush(buffer):
                        report(result)
                    buffer = []
        for result in self._flush(buffer):
            report(result)
        return results

    # -- stages ------------------------------------------------------------------------
    def _guarded(self, source: CallSource, step: Callable[[], _T]) -> _T | IngestResult:
        try:
            return step()
        except CallScopeError as exc:
            return self._fail(source, str(exc))
        except Exception as exc:  # a bug or a library surprise must not end the batch
            log.exception("unexpected error on %s", source.origin)
            return self._fail(source, f"internal error: {type(exc).__name__}: {exc}")

    def _admit(self, source: CallSource) -> _Admitted | IngestResult:
        """Hash the input and check the ledger: unchanged calls stop here."""
        content_hash, audio_hash = self._hashes(source)
        row = self.ledger.get(source.call_id)
        if (
            row is not None
            and row.state == "indexed"
            and row.content_hash == content_hash
            and row.collection == self.collection
        ):
            if row.audio is None and _audio(source):  # a ledger from before the column
                self.ledger.upsert(source.call_id, audio=_audio(source))
            return IngestResult(
                source.call_id, source.origin, "unchanged", turn_points=row.n_turn_points
            )
        self.ledger.upsert(
            source.call_id,
            collection=self.collection,
            kind=source.kind,
            origin=source.origin,
            audio=_audio(source),
            content_hash=content_hash,
            state="pending",
            error=None,
            labels=source.labels,
        )
        return _Admitted(source, content_hash, audio_hash, row is not None)

    def _transcribe(self, admitted: list[_Admitted]) -> list[Heard | None]:
        """Transcripts of the group's recordings, decoded together; None for text calls."""
        started = time.perf_counter()
        heard = transcribe_group(
            self._transcriber_get,
            [
                (a.source.path, a.audio_hash and recording_key(a.audio_hash, a.source.hotwords))
                if a.source.kind == "audio" and a.source.transcript is None
                else None
                for a in admitted
            ],
        )
        if any(h is not None for h in heard):
            self.clock["transcribe"] += time.perf_counter() - started
        return heard

    def _prepare(self, item: _Admitted, heard: Heard | None) -> PreparedCall:
        source = item.source
        warnings: list[str] = []
        if heard is not None:
            if isinstance(heard, CallScopeError):
                raise heard
            transcript, warnings = heard
            self.ledger.upsert(
                source.call_id,
                state="transcribed",
                duration=transcript.duration,
                language=transcript.language,
                warnings=warnings,
            )
        else:
            assert source.transcript is not None
            transcript = source.transcript
        if not transcript.turns:
            raise AudioError("no speech found in the recording")
        transcript = apply_override(
            transcript, source.agent_speaker, self.settings.whisper.channel_speakers
        )
        day = iso_date(source.date) if source.date else None
        if source.date and day is None:
            warnings = [
                *warnings,
                f"date {source.date!r} could not be read: indexed without a date",
            ]
        units = turn_units(transcript, self.settings.index, day)
        if not units:
            raise AudioError("no words in the call")
        return PreparedCall(
            source, item.content_hash, transcript, units, item.had_row, warnings, day
        )

    def _flush(self, batch: list[PreparedCall]) -> list[IngestResult]:
        if not batch:
            return []
        started = time.perf_counter()
        try:
            turns, calls = call_points(
                batch, self.embedder, self.sparse, self.settings.whisper.channel_speakers
            )
            # Old points of a changed call would linger under other ids; a call that never
            # had a row cannot have points yet, so skip the delete then.
            for ready in batch:
                if ready.had_row:
                    self.turns.delete({"call_id": ready.source.call_id})
            self.turns.upsert(turns)
            if self.calls is not None:
                self.calls.upsert(calls)
        except CallScopeError as exc:
            return [self._fail(r.source, str(exc)) for r in batch]
        finally:
            self.clock["index"] += time.perf_counter() - started

        results = []
        for ready in batch:
            self.ledger.upsert(
                ready.source.call_id,
                state="indexed",
                n_turn_points=len(ready.units),
                language=ready.transcript.language,
                duration=ready.transcript.duration,
                warnings=ready.warnings,
                transcript=ready.transcript,
            )
            results.append(
                IngestResult(
                    ready.source.call_id,
                    ready.source.origin,
                    "indexed",
                    turn_points=len(ready.units),
                    seconds_audio=ready.transcript.duration
                    if ready.source.kind == "audio"
                    else None,
                    warnings=ready.warnings,
                )
            )
        return results

    # -- helpers -----------------------------------------------------------------------
    def _transcriber_get(self) -> SpeechToText:
        if self._transcriber is None:
            self._transcriber = self._transcriber_factory()
        return self._transcriber

    def _hashes(self, source: CallSource) -> tuple[str, str | None]:
        """(content hash of the whole input, hash of the audio bytes or None).

        The transcript cache is keyed by the audio hash alone, so relabeling a recording
        re-indexes it without transcribing it again."""
        audio_hash = None
        if source.transcript is not None and source.extra.get("content_hash"):
            # Re-indexing a call from its ledger row: its transcript is known, the recording
            # is not read (it may be gone), and the row keeps its hash.
            return str(source.extra["content_hash"]), None
        if source.kind == "audio":
            assert source.path is not None
            if not source.path.is_file():
                raise InputError(f"{source.path}: no such file")
            size_mb = source.path.stat().st_size / 2**20
            if size_mb > self.settings.ingest.max_file_mb:
                raise AudioError(
                    f"{source.path}: file is {size_mb:.0f} MB, over the limit of "
                    f"{self.settings.ingest.max_file_mb:.0f} MB (ingest.max_file_mb)"
                )
            audio_hash = file_sha256(source.path)
            body: Any = audio_hash
        else:
            assert source.transcript is not None
            body = source.transcript.to_dict()
        # A file's time is no part of its content: a copied folder (new times) is unchanged.
        date = None if source.date_source == "file" else source.date
        meta = {"labels": source.labels, "date": date, "split": source.split, "body": body}
        if source.metadata:  # (absent from the hash of calls without it: their hash stays)
            meta["metadata"] = source.metadata
        if source.agent_speaker:  # a new role decision re-indexes the call (same way)
            meta["agent_speaker"] = source.agent_speaker
        if source.hotwords:  # listened for other words: transcribed again (same way)
            meta["hotwords"] = list(source.hotwords)
        return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest(), audio_hash

    def _fail(self, source: CallSource, message: str) -> IngestResult:
        row = self.ledger.get(source.call_id)
        self.ledger.upsert(
            source.call_id,
            collection=self.collection,
            kind=source.kind,
            origin=source.origin,
            audio=_audio(source),
            content_hash=row.content_hash if row else "",
            state="failed",
            error=message,
            labels=source.labels,
        )
        return IngestResult(source.call_id, source.origin, "failed", error=message)


def transcribe_group(
    transcriber: Callable[[], SpeechToText],
    recordings: Sequence[tuple[Path | None, str | None] | None],
) -> list[Heard | None]:
    """What each recording of a group says, decoded together (``transcribe_many``: whisper
    batches across calls); None in the place of an item that is not a recording to transcribe.
    A recording is (path, audio hash), the hash read from the file when None. The speech model
    is asked for only when there is a recording. Whatever fails for the whole group (the model
    cannot be loaded, a bug) becomes each recording's error, never the batch's end: ingest and
    classification both transcribe through here."""
    heard: list[Heard | None] = [None] * len(recordings)
    items: list[tuple[int, Path, str]] = []
    for i, recording in enumerate(recordings):
        if recording is None:
            continue
        path, audio_hash = recording
        if path is None:
            heard[i] = InputError("no recording to transcribe")
            continue
        try:
            items.append((i, path, audio_hash or file_sha256(path)))
        except OSError as exc:
            heard[i] = InputError(f"{path}: cannot be read: {exc.strerror or exc}")
    if not items:
        return heard
    try:
        found = transcriber().transcribe_many([(path, digest) for _, path, digest in items])
    except CallScopeError as exc:  # the model itself could not be loaded
        found = [exc] * len(items)
    except Exception as exc:  # a bug must fail these calls, not the batch
        log.exception("transcription of a group failed")
        error = TranscriptionError(f"internal error: {type(exc).__name__}: {exc}")
        found = [error] * len(items)
    for (i, _, _), result in zip(items, found, strict=True):
        heard[i] = result
    return heard


def _audio(source: CallSource) -> str | None:
    """Where the recording of an audio call is (kept apart from ``origin``, which may be a
    table row), so it can be played and deleted."""
    return str(source.path.resolve()) if source.kind == "audio" and source.path else None
