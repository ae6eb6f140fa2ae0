"""Cross-stream batched transcription (``ingest.stream_batch``) against plain per-stream
transcription, with the real bundled whisper on real recordings."""

from __future__ import annotations

import numpy as np

from ingest.audio import decode_windows
from ingest.stream_batch import transcribe_streams
from ingest.transcribe import Transcriber, _speech_runs
from tests.conftest import DATA


def _streams() -> list[np.ndarray]:
    """The two channels of a stereo call and a mono recording: three streams."""
    [stereo] = list(decode_windows(DATA / "stereo_diarization.wav"))
    [mono] = list(decode_windows(DATA / "jfk.flac"))
    return [stereo.samples[0], stereo.samples[1], mono.samples.mean(axis=0)]


def _words(text: str) -> list[str]:
    return [w.strip(".,!?").lower() for w in text.split()]


def test_streams_batched_together_hear_what_each_stream_says_alone(
    transcriber: Transcriber,
) -> None:
    streams = _streams() + [np.zeros(16000 * 3, dtype=np.float32)]  # and a silent stream
    heard = transcribe_streams(transcriber.batched_pipeline(), streams, language="en", batch_size=4)
    assert heard[3] == []  # silence: nothing heard, nothing invented
    model = transcriber.batched_pipeline().model
    for audio, got in zip(streams[:3], heard[:3], strict=True):
        plain, _ = model.transcribe(audio, language="en", vad_filter=True, word_timestamps=True)
        ref = [run for seg in plain for run in _speech_runs(seg)]
        ours = [run for seg in got for run in _speech_runs(seg)]
        ref_words, our_words = (
            _words(" ".join(r[2] for r in ref)),
            _words(" ".join(r[2] for r in ours)),
        )
        shared = len(set(ref_words) & set(our_words)) / len(set(ref_words))
        assert shared >= 0.8, (ref, ours)
        # Times are the stream's own: the first words start where they start alone.
        assert abs(ours[0][0] - ref[0][0]) < 0.5 and abs(ours[-1][1] - ref[-1][1]) < 0.5
        assert all(0 <= a <= b <= len(audio) / 16000 + 0.05 for a, b, _ in ours)
    # Each channel keeps its own words: "wizard" left, "horizon" right, "country" in jfk.
    texts = [" ".join(s.text for s in got).lower() for got in heard]
    assert "wizard" in texts[0] and "horizon" not in texts[0]
    assert "horizon" in texts[1] and "wizard" not in texts[1]
    assert "country" in texts[2]
