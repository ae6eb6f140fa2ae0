"""Voice prints: what a speaker sounds like, as a 256-d vector per 1.6 s of speech.

The network and its weights are Resemblyzer's (Apache-2.0): a 3-layer LSTM over 40-band mel
frames, trained for speaker verification (GE2E), whose weights ship inside the ``resemblyzer``
wheel, so nothing is downloaded. Its package is not imported: its ``__init__`` imports
``webrtcvad``, which needs ``pkg_resources`` (gone from setuptools >= 81). The weights file is
found through the installed package's location and loaded into the same network defined here;
the mel frames are computed with librosa exactly as Resemblyzer does (``audio.py``), so the
vectors are the ones the model was trained to produce.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.errors import ConfigError
from ingest.audio import SAMPLE_RATE

#: Mel frames of one partial utterance (10 ms each): the length the network was trained on.
PARTIAL_FRAMES = 160
_HOP = SAMPLE_RATE // 100  # 10 ms
_WINDOW = SAMPLE_RATE * 25 // 1000  # 25 ms
_MELS = 40
#: Resemblyzer normalises every utterance to this loudness before embedding it.
_TARGET_DBFS = -30.0


@dataclass(frozen=True)
class VoiceFrames:
    """Voice prints of a stretch of speech: ``vectors[i]`` (unit length) heard around
    ``times[i]`` seconds, within the speech span ``spans[i]`` (start, end) it was cut from."""

    times: np.ndarray
    vectors: np.ndarray
    spans: np.ndarray

    @staticmethod
    def empty() -> VoiceFrames:
        return VoiceFrames(np.zeros(0), np.zeros((0, 256), np.float32), np.zeros((0, 2)))

    @staticmethod
    def join(parts: Sequence[VoiceFrames]) -> VoiceFrames:
        parts = [p for p in parts if len(p.times)]
        if not parts:
            return VoiceFrames.empty()
        return VoiceFrames(
            np.concatenate([p.times for p in parts]),
            np.concatenate([p.vectors for p in parts]),
            np.concatenate([p.spans for p in parts]),
        )

    def shifted(self, offset: float) -> VoiceFrames:
        return VoiceFrames(self.times + offset, self.vectors, self.spans + offset)


def weights_path() -> Path:
    """Resemblyzer's ``pretrained.pt``, located without importing the package."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "diarization needs the resemblyzer package (its wheel holds the voice encoder "
            "weights): pip install resemblyzer"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.is_file():
        raise ConfigError(f"resemblyzer is installed but has no weights file at {path}")
    return path


class VoiceEncoder:
    """Speech samples -> voice prints. Build once per process; thread-safe for reads."""

    def __init__(self, threads: int = 1) -> None:
        import torch
        from torch import nn

        class _Net(nn.Module):  # Resemblyzer's VoiceEncoder network, unchanged
            def __init__(self) -> None:
                super().__init__()
                self.lstm = nn.LSTM(_MELS, 256, 3, batch_first=True)
                self.linear = nn.Linear(256, 256)
                self.relu = nn.ReLU()

            def forward(self, mels: torch.Tensor) -> torch.Tensor:
                _, (hidden, _) = self.lstm(mels)
                raw = self.relu(self.linear(hidden[-1]))
                return raw / torch.norm(raw, dim=1, keepdim=True).clamp_min(1e-9)

        self._torch = torch
        self._threads = threads
        self._lock = threading.Lock()
        net = _Net()
        checkpoint = torch.load(weights_path(), map_location="cpu", weights_only=True)
        # strict=False as in Resemblyzer: the checkpoint also holds the training loss's
        # similarity weight and bias, which inference does not use.
        net.load_state_dict(checkpoint["model_state"], strict=False)
        net.eval()
        self._net = net

    def frames(
        self,
        samples: np.ndarray,
        spans: Sequence[tuple[float, float]],
        *,
        hop_seconds: float = 1.0,
        min_seconds: float = 0.4,
    ) -> VoiceFrames:
        """Voice prints of the speech ``spans`` (seconds) of a 16 kHz mono signal: one per
        ``hop_seconds`` inside each span (1 s: as accurate as 0.5 s on the mono mixes of
        docs/benchmarks.md, at half the cost), every one heard over at most 1.6 s of that span only
        (never across a pause into the next speaker). Spans shorter than ``min_seconds`` are too
        short to tell a voice by and are skipped; shorter than 1.6 s gives one print, of the span
        looped to 1.6 s."""
        import librosa

        mels: list[np.ndarray] = []
        times: list[float] = []
        owners: list[tuple[float, float]] = []
        hop = max(1, int(round(hop_seconds * 100)))
        for start, end in spans:
            if end - start < min_seconds:
                continue
            audio = samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)].astype(np.float32)
            audio = _loudness(audio)
            need = PARTIAL_FRAMES * _HOP
            if audio.size < need:
                # Looped rather than zero-padded: padding makes every short utterance sound
                # alike (they cluster by length, not by voice); a loop keeps only the voice.
                audio = np.tile(audio, need // max(1, audio.size) + 1)[:need]
            mel = librosa.feature.melspectrogram(
                y=audio, sr=SAMPLE_RATE, n_fft=_WINDOW, hop_length=_HOP, n_mels=_MELS
            ).T.astype(np.float32)
            last = mel.shape[0] - PARTIAL_FRAMES
            firsts = list(range(0, last + 1, hop))
            if firsts[-1] != last:
                firsts.append(last)  # the span's tail gets a print of its own
            for first in firsts:
                mels.append(mel[first : first + PARTIAL_FRAMES])
                middle = start + (first + PARTIAL_FRAMES / 2) / 100
                times.append(min(max(middle, start), end))
                owners.append((start, end))
        if not mels:
            return VoiceFrames.empty()
        torch = self._torch
        vectors = []
        with self._lock, torch.inference_mode():
            before = torch.get_num_threads()
            torch.set_num_threads(self._threads)
            try:
                for at in range(0, len(mels), 256):
                    batch = torch.from_numpy(np.stack(mels[at : at + 256]))
                    vectors.append(self._net(batch).numpy())
            finally:
                torch.set_num_threads(before)
        return VoiceFrames(np.asarray(times), np.concatenate(vectors), np.asarray(owners))


def speech_regions(samples: np.ndarray, pause_ms: int = 300) -> list[tuple[float, float]]:
    """Stretches of speech (seconds) by Silero VAD, split at pauses over ``pause_ms``: where
    one voice speaks without a break, so no print straddles a turn change with a pause."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=pause_ms)
    found = get_speech_timestamps(np.ascontiguousarray(samples, dtype=np.float32), options)
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in found]


def _loudness(audio: np.ndarray) -> np.ndarray:
    """Scale to Resemblyzer's -30 dBFS (its ``normalize_volume``), so a quiet line and a loud
    one of the same voice give the same print."""
    rms = float(np.sqrt(np.mean(np.square(audio)))) if audio.size else 0.0
    if rms < 1e-6:
        return audio
    gain = 10 ** (_TARGET_DBFS / 20) / rms
    return audio * gain
