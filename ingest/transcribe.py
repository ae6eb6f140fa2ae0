"""Speech to speaker turns with faster-whisper, cached by audio content.

Stereo call recordings put the agent on one channel and the customer on the other, so each
channel is a stream of its own and its segments carry that channel's speaker; the streams are
then merged by time. The channels of many calls are decoded together, in full whisper batches
(``ingest.stream_batch``): short calls alone never fill one. A cache keyed by audio hash + model
+ options means the same recording is never transcribed twice.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.core import bundled
from app.core.config import BUNDLED_WHISPER, WhisperSettings
from app.core.errors import CallScopeError, ConfigError, TranscriptionError
from app.core.models import Speech, Transcript, Turn
from app.core.text import has_cjk
from ingest.audio import SAMPLE_RATE, DecodeReport, decode_windows, is_dual_mono
from ingest.diarize import recut_by_voice
from ingest.stream_batch import Piece, Said, transcribe_conversations
from ingest.transcript_cache import TranscriptCache, split_key
from ingest.voices import VoiceEncoder, VoiceFrames, speech_regions

log = logging.getLogger(__name__)

#: Consecutive segments of one speaker closer than this are one turn.
_MERGE_GAP_SECONDS = 1.5


#: What became of one recording: its transcript and decode warnings, or why it failed.
Heard = tuple[Transcript, list[str]] | CallScopeError


class SpeechToText(Protocol):
    """Recordings to transcripts. :class:`Transcriber` in this process is the default;
    ``ingest.workers.TranscriberPool`` (local processes) and ``ingest.ray_workers`` (a Ray
    cluster) spread the same work."""

    def transcribe_many(self, items: Sequence[tuple[Path, str]]) -> list[Heard]:
        """One result per (path, audio hash), in order; never raises for one bad recording."""
        ...


def transcribe_one(stt: SpeechToText, path: Path, audio_hash: str) -> tuple[Transcript, list[str]]:
    """One recording's transcript and warnings; raises its :class:`CallScopeError`."""
    (result,) = stt.transcribe_many([(path, audio_hash)])
    if isinstance(result, CallScopeError):
        raise result
    return result


@dataclass(eq=False)
class _Call:
    """One recording on its way through :meth:`Transcriber.transcribe_many`."""

    index: int
    path: Path
    #: The :func:`recording_key`: the audio hash, with the call's own hot words if any.
    audio_hash: str
    report: DecodeReport = field(default_factory=DecodeReport)
    segments: list[Piece] = field(default_factory=list)
    #: Windows queued and not decoded yet.
    open_windows: int = 0
    #: All its windows are queued (or it failed while being read).
    read: bool = False
    error: CallScopeError | None = None
    #: One mono stream (no channel per speaker): its speakers are told apart by voice.
    mono: bool = False
    voices: list[VoiceFrames] = field(default_factory=list)

    @property
    def hotwords(self) -> tuple[str, ...]:
        return split_key(self.audio_hash)[1]


@dataclass(eq=False)
class _Window:
    """A stretch of one call (all of a short call), its channels waiting to be decoded."""

    call: _Call
    offset: float
    streams: list[tuple[str, np.ndarray]]

    @property
    def seconds(self) -> float:
        return sum(audio.shape[0] for _, audio in self.streams) / SAMPLE_RATE


class Transcriber:
    """Turns a recording into a :class:`Transcript`. Build once; the model stays loaded."""

    def __init__(self, settings: WhisperSettings, *, models_dir: Path, cache_dir: Path) -> None:
        self.settings = settings
        self.cache_dir = cache_dir
        self._models_dir = models_dir
        self._model: Any = None
        self._batched: Any = None
        self._encoder: VoiceEncoder | None = None
        self.model_id = (
            f"faster-whisper-base:{bundled.WHISPER_BASE_SHA256[:12]}"
            if settings.model == BUNDLED_WHISPER
            else settings.model
        )
        self.cache = TranscriptCache(cache_dir, self.options())

    # -- model -------------------------------------------------------------------------
    def model_source(self) -> str:
        """What WhisperModel loads: the bundled model's folder (assembled on first use) or the
        configured name/folder. Worker pools call it before starting workers, so the bundled
        model is assembled once, not by every worker at once."""
        if self.settings.model == BUNDLED_WHISPER:
            return str(bundled.whisper_base_dir(self._models_dir))
        return self.settings.model

    def _load(self) -> None:
        if self._model is not None:
            return
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        s = self.settings
        source = self.model_source()
        try:
            self._model = WhisperModel(
                source,
                device=s.device,
                compute_type=s.compute_type,
                cpu_threads=s.cpu_threads,
                download_root=str(self._models_dir),
                # A name that is not a local folder downloads from the hub: fine on an online
                # deployment that asks for large-v3, impossible (and refused) offline.
                local_files_only=os.environ.get("HF_HUB_OFFLINE") == "1",
            )
        except Exception as exc:  # CTranslate2/HF raise many unrelated types here
            raise ConfigError(f"cannot load whisper model {s.model!r}: {exc}") from exc
        self._batched = BatchedInferencePipeline(self._model)

    # -- public ------------------------------------------------------------------------
    def _pipeline(self) -> Any:
        self._load()
        return self._batched

    def options(self) -> dict[str, Any]:
        """What changes the output: part of the cache key."""
        s = self.settings
        return {
            # Bump when the way segments become turns changes, so old cache entries are not
            # served for the new behaviour.
            "pipeline": 5,
            "model": self.model_id,
            "beam": s.beam_size,
            "vad": s.vad,
            "batch": s.batch_size,
            "language": s.language,
            "channels": list(s.channel_speakers),
            "mono": s.mono_speaker,
            "diarization": s.diarization.model_dump(),
            # Absent when empty, so the transcripts cached before hot words existed still serve.
            **({"hotwords": list(s.hotwords)} if s.hotwords else {}),
        }

    def transcribe(self, path: Path, audio_hash: str) -> tuple[Transcript, list[str]]:
        """Transcript of one recording plus decode warnings; from the cache when seen before.
        Raises the recording's :class:`CallScopeError`."""
        return transcribe_one(self, path, audio_hash)

    def transcribe_many(self, items: Sequence[tuple[Path, str]]) -> list[Heard]:
        """Transcripts of many recordings (path, audio hash), each from the cache or decoded
        with the others in full whisper batches (``ingest.stream_batch``). A bad recording gets
        its error in its place in the list; the others are unaffected."""
        results: list[Heard | None] = [None] * len(items)
        todo: list[_Call] = []
        for index, (path, audio_hash) in enumerate(items):
            hit = self.cache.get(audio_hash)
            if hit is not None:
                results[index] = hit
            else:
                todo.append(_Call(index, path, audio_hash))
        s = self.settings
        queue: list[_Window] = []
        queued_seconds = 0.0

        def decode_queue() -> None:
            nonlocal queued_seconds
            self._decode(queue)
            queue.clear()
            queued_seconds = 0.0
            for call in todo:
                if call.read and call.open_windows == 0 and results[call.index] is None:
                    results[call.index] = self._finish(call)

        for call in todo:
            try:
                for window in decode_windows(
                    call.path,
                    window_seconds=s.window_seconds,
                    max_seconds=s.max_audio_seconds,
                    max_leading_silence=s.max_leading_silence_s,
                    report=call.report,
                ):
                    queue.append(_Window(call, window.offset, self._streams(window.samples)))
                    call.open_windows += 1
                    queued_seconds += queue[-1].seconds
                    if queued_seconds >= s.pool_seconds:
                        decode_queue()
            except CallScopeError as exc:
                call.error = exc
            call.read = True
        decode_queue()
        return [r for r in results if r is not None]

    def transcribe_window(
        self, offset: float, samples: np.ndarray, key: str = ""
    ) -> tuple[list[Piece], list[VoiceFrames] | None]:
        """What was said in one window of a recording (``ingest.audio.decode_windows``), on the
        recording's timeline, and for a mono window its voice prints (None for stereo): how
        worker processes share the windows of one long call (``key``: its
        :func:`recording_key`, for its hot words)."""
        call = _Call(-1, Path(), key, open_windows=1)
        self._decode([_Window(call, offset, self._streams(samples))])
        if call.error is not None:
            raise call.error
        return call.segments, call.voices if call.mono else None

    def assemble(
        self,
        audio_hash: str,
        pieces: list[Piece],
        report: DecodeReport,
        voices: list[VoiceFrames] | None = None,
    ) -> Heard:
        """A recording's transcript from what was said in all its windows (cached); ``voices``
        are a mono recording's voice prints from :meth:`transcribe_window`."""
        call = _Call(-1, Path(), audio_hash, report=report, segments=pieces)
        call.mono = voices is not None
        call.voices = voices or []
        return self._finish(call)

    # -- internals ---------------------------------------------------------------------
    def _streams(self, samples: np.ndarray) -> list[tuple[str, np.ndarray]]:
        s = self.settings
        if samples.shape[0] == 2 and not is_dual_mono(samples):
            return [(s.channel_speakers[0], samples[0]), (s.channel_speakers[1], samples[1])]
        return [(s.mono_speaker, samples.mean(axis=0) if samples.shape[0] > 1 else samples[0])]

    def _decode(self, queue: list[_Window]) -> None:
        """Decode the queued windows together; if that fails, each on its own, so one bad
        recording fails alone."""
        live = [w for w in queue if w.call.error is None]
        try:
            said = self._said(live)
        except TranscriptionError:
            said = []
            for window in live:
                try:
                    said += self._said([window])
                except TranscriptionError as exc:
                    window.call.error = window.call.error or exc
                    said.append([])
        for window in queue:
            window.call.open_windows -= 1
        for window, runs in zip(live, said, strict=True):
            if len(window.streams) == 1:
                window.call.mono = True
                if self.settings.diarization.enabled:
                    try:
                        window.call.voices.append(self._voice_prints(window))
                    except Exception as exc:  # the words stand; only who said them is lost
                        log.warning("voice prints failed: %s", exc)
                        window.call.report.warnings.append(
                            f"speakers not told apart (voice prints failed: {exc})"
                        )
            window.call.segments.extend(
                Piece(
                    r.speaker,
                    window.offset + r.start,
                    window.offset + r.end,
                    r.text,
                    tuple((window.offset + a, window.offset + b, w) for a, b, w in r.words),
                )
                for r in runs
            )

    def _voice_prints(self, window: _Window) -> VoiceFrames:
        """Voice prints of a mono window's stretches of speech, on the recording's timeline:
        taken now, while the window's audio is at hand."""
        if self._encoder is None:
            self._encoder = VoiceEncoder(threads=self.settings.cpu_threads or 1)
        audio = window.streams[0][1]
        return self._encoder.frames(audio, speech_regions(audio)).shifted(window.offset)

    def _said(self, windows: list[_Window]) -> list[list[Said]]:
        """What was said in each window; windows listened for the same hot words are decoded
        in one batch (the words are whisper's prompt, one per batch)."""
        s = self.settings
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, window in enumerate(windows):
            words = tuple(dict.fromkeys((*s.hotwords, *window.call.hotwords)))
            groups.setdefault(words, []).append(i)
        said: list[list[Said]] = [[] for _ in windows]
        for words, members in groups.items():
            try:
                found = transcribe_conversations(
                    self._pipeline(),
                    [windows[i].streams for i in members],
                    language=s.language,
                    beam_size=s.beam_size,
                    batch_size=max(1, s.batch_size),
                    vad=s.vad,
                    hotwords=" ".join(words) or None,
                )
            except Exception as exc:  # ctranslate2 raises RuntimeError and friends
                raise TranscriptionError(f"transcription failed: {exc}") from exc
            for i, runs in zip(members, found, strict=True):
                said[i] = runs
        return said

    def _finish(self, call: _Call) -> Heard:
        if call.error is not None:
            return call.error
        pieces, source = call.segments, "channels"
        if call.mono:
            source = "mono"
            if self.settings.diarization.enabled:
                recut = recut_by_voice(call.segments, call.voices, self.settings)
                pieces, source = (recut, "voices") if recut is not None else (pieces, "uncertain")
        turns = merge_turns(pieces)
        transcript = Transcript(
            turns=turns,
            language=self.settings.language or _language_of(" ".join(t.text for t in turns)),
            duration=round(call.report.seconds, 3),
            speaker_source=source,  # type: ignore[arg-type]
            speech=_speech(pieces),
        )
        self.cache.put(call.audio_hash, transcript, call.report.warnings)
        return transcript, call.report.warnings


def _speech(pieces: list[Piece]) -> list[Speech]:
    """The pause-free runs of speech kept with the transcript (for conversation metrics)."""
    return [
        (p.speaker, round(p.start, 2), round(p.end, 2), len(p.words) or len(p.text.split()))
        for p in sorted(pieces, key=lambda p: (p.start, p.speaker))
    ]


def _language_of(text: str) -> str | None:
    """The call's language when none was configured: whisper detects it per 30-second chunk
    and does not report it per segment, so it is read back from the script of the words
    (Chinese when most letters are CJK). Enough for what uses it (tokenising, the Chinese
    classifier weights); other languages are reported as ``en``."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    return "zh" if sum(has_cjk(c) for c in letters) * 2 > len(letters) else "en"


def merge_turns(segments: list[Piece]) -> list[Turn]:
    """Order segments of all speakers by time and join a speaker's consecutive segments."""
    turns: list[Turn] = []
    for seg in sorted(segments, key=lambda x: (x.start, x.speaker)):
        last = turns[-1] if turns else None
        if (
            last
            and last.speaker == seg.speaker
            and seg.start - (last.end or 0) <= _MERGE_GAP_SECONDS
        ):
            joiner = "" if _cjk_edge(last.text, seg.text) else " "
            turns[-1] = Turn(last.speaker, last.text + joiner + seg.text, last.start, seg.end)
        else:
            turns.append(Turn(seg.speaker, seg.text, round(seg.start, 2), round(seg.end, 2)))
    return [Turn(t.speaker, t.text, t.start, round(t.end or 0, 2)) for t in turns]


def _cjk_edge(left: str, right: str) -> bool:
    return bool(left and right) and has_cjk(left[-1]) and has_cjk(right[0])
