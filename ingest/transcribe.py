"""Speech to speaker turns with faster-whisper, cached by audio content.

Stereo call recordings put the agent on one channel and the customer on the other, so each
channel is transcribed on its own and its segments carry that channel's speaker; the two
streams are then merged by time. A cache keyed by audio hash + model + options means the same
recording is never transcribed twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core import bundled
from app.core.config import BUNDLED_WHISPER, WhisperSettings
from app.core.errors import ConfigError, TranscriptionError
from app.core.models import Transcript, Turn
from app.core.text import normalize
from ingest.audio import SAMPLE_RATE, DecodeReport, decode_windows, is_dual_mono

log = logging.getLogger(__name__)

#: Consecutive segments of one speaker closer than this are one turn.
_MERGE_GAP_SECONDS = 1.5
#: A silence longer than this inside a whisper segment splits it. With VAD (and in the batched
#: pipeline) whisper decodes up to 30 s of speech regions glued together, so one segment can
#: run from a customer's first sentence across the agent's whole answer to the customer's next
#: one; word timings put each stretch of speech back where it was said.
_SPLIT_GAP_SECONDS = 0.8


@dataclass(frozen=True)
class _Segment:
    speaker: str
    start: float
    end: float
    text: str


class Transcriber:
    """Turns a recording into a :class:`Transcript`. Build once; the model stays loaded."""

    def __init__(self, settings: WhisperSettings, *, models_dir: Path, cache_dir: Path) -> None:
        self.settings = settings
        self.cache_dir = cache_dir
        self._models_dir = models_dir
        self._model: Any = None
        self._batched: Any = None
        self.model_id = (
            f"faster-whisper-base:{bundled.WHISPER_BASE_SHA256[:12]}"
            if settings.model == BUNDLED_WHISPER
            else settings.model
        )
        self.cache_hits = 0

    # -- model -------------------------------------------------------------------------
    def _load(self) -> None:
        if self._model is not None:
            return
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        s = self.settings
        if s.model == BUNDLED_WHISPER:
            source = str(bundled.whisper_base_dir(self._models_dir))
        else:
            source = s.model
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
        self._batched = BatchedInferencePipeline(self._model) if s.batch_size > 1 else None

    # -- public ------------------------------------------------------------------------
    def batched_pipeline(self) -> Any:
        """The loaded model's batched pipeline (for ``ingest.stream_batch``: many streams
        decoded in shared batches)."""
        from faster_whisper import BatchedInferencePipeline

        self._load()
        return self._batched or BatchedInferencePipeline(self._model)

    def options(self) -> dict[str, Any]:
        """What changes the output: part of the cache key."""
        s = self.settings
        return {
            # Bump when the way segments become turns changes, so old cache entries are not
            # served for the new behaviour.
            "pipeline": 3,
            "model": self.model_id,
            "beam": s.beam_size,
            "vad": s.vad,
            "batch": s.batch_size,
            "batch_min": s.batch_min_seconds,
            "language": s.language,
            "channels": list(s.channel_speakers),
            "mono": s.mono_speaker,
        }

    def cache_key(self, audio_hash: str) -> str:
        blob = json.dumps({"audio": audio_hash, **self.options()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def transcribe(self, path: Path, audio_hash: str) -> tuple[Transcript, list[str]]:
        """Transcript of one recording plus decode warnings; from the cache when seen before."""
        cache = self.cache_dir / f"{self.cache_key(audio_hash)}.json"
        if cache.exists():
            self.cache_hits += 1
            data = json.loads(cache.read_text("utf-8"))
            return Transcript.from_dict(data), data.get("warnings", [])

        self._load()
        report = DecodeReport()
        segments: list[_Segment] = []
        languages: Counter[str] = Counter()
        channel_language: dict[int, str | None] = {}
        s = self.settings
        for window in decode_windows(
            path,
            window_seconds=s.window_seconds,
            max_seconds=s.max_audio_seconds,
            max_leading_silence=s.max_leading_silence_s,
            report=report,
        ):
            streams = self._streams(window.samples)
            for channel, (speaker, audio) in enumerate(streams):
                found, lang = self._transcribe_channel(
                    audio, channel_language.get(channel, s.language)
                )
                # Detect the language once per channel and keep it for later windows: a
                # call does not switch language mid-way, and detection on a quiet window
                # can guess wrong.
                channel_language.setdefault(channel, lang)
                if found:
                    languages[lang or "unknown"] += sum(len(t) for _, _, t in found)
                segments.extend(
                    _Segment(speaker, window.offset + a, window.offset + b, t) for a, b, t in found
                )

        transcript = Transcript(
            turns=merge_turns(segments),
            language=languages.most_common(1)[0][0] if languages else s.language,
            duration=round(report.seconds, 3),
        )
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({**transcript.to_dict(), "warnings": report.warnings}, ensure_ascii=False),
            "utf-8",
        )
        os.replace(tmp, cache)
        return transcript, report.warnings

    # -- internals ---------------------------------------------------------------------
    def _streams(self, samples: np.ndarray) -> list[tuple[str, np.ndarray]]:
        s = self.settings
        if samples.shape[0] == 2 and not is_dual_mono(samples):
            return [(s.channel_speakers[0], samples[0]), (s.channel_speakers[1], samples[1])]
        return [(s.mono_speaker, samples.mean(axis=0) if samples.shape[0] > 1 else samples[0])]

    def _transcribe_channel(
        self, audio: np.ndarray, language: str | None
    ) -> tuple[list[tuple[float, float, str]], str | None]:
        s = self.settings
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        kwargs: dict[str, Any] = {
            "language": language,
            "beam_size": s.beam_size,
            "vad_filter": s.vad,
            "word_timestamps": True,
        }
        try:
            if self._batched is not None and audio.shape[0] >= s.batch_min_seconds * SAMPLE_RATE:
                segs, info = self._batched.transcribe(audio, batch_size=s.batch_size, **kwargs)
            else:
                segs, info = self._model.transcribe(audio, **kwargs)
            found = [run for seg in segs for run in _speech_runs(seg)]
        except Exception as exc:  # ctranslate2 raises RuntimeError and friends
            raise TranscriptionError(f"transcription failed: {exc}") from exc
        return [f for f in found if f[2]], info.language


def _speech_runs(segment: Any) -> list[tuple[float, float, str]]:
    """Split a whisper segment at silences between its words: (start, end, text) runs."""
    words = segment.words or []
    if not words:
        return [(segment.start, segment.end, normalize(segment.text))]
    runs: list[list[Any]] = [[words[0]]]
    for word in words[1:]:
        if word.start - runs[-1][-1].end > _SPLIT_GAP_SECONDS:
            runs.append([word])
        else:
            runs[-1].append(word)
    return [
        (float(r[0].start), float(r[-1].end), normalize("".join(w.word for w in r))) for r in runs
    ]


def merge_turns(segments: list[_Segment]) -> list[Turn]:
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
    from app.core.text import has_cjk

    return bool(left and right) and has_cjk(left[-1]) and has_cjk(right[0])
