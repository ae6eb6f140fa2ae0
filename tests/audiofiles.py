"""Writing small real audio files for tests, with PyAV (the same library that decodes them)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def write_audio(path: Path, samples: np.ndarray, rate: int = 16_000, bitrate: int = 32_000) -> Path:
    """Encode float samples of shape (channels, n) to ``path``; format from the extension."""
    samples = np.atleast_2d(samples).astype(np.float32)
    channels = samples.shape[0]
    codec = {".mp3": "mp3", ".wav": "pcm_s16le", ".flac": "flac", ".ogg": "libvorbis"}[path.suffix]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "stereo" if channels == 2 else "mono"
        if codec == "mp3":
            stream.bit_rate = bitrate
        frame_size = 1152
        for start in range(0, samples.shape[1], frame_size * 16):
            block = samples[:, start : start + frame_size * 16]
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(block), format="fltp", layout=stream.layout.name
            )
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def tone(seconds: float, freq: float = 440.0, rate: int = 16_000, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
