"""Mono recordings: speakers told apart by voice, named by role, or left uncertain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.core.config import WhisperSettings
from ingest.diarize import diarize
from ingest.transcribe import Transcriber
from ingest.voices import VoiceEncoder, VoiceFrames
from tests.conftest import DATA


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def test_mono_mix_gives_two_speakers_with_the_right_roles(transcriber: Transcriber) -> None:
    reference = json.loads((DATA / "mono_two_voices.json").read_text("utf-8"))
    transcript, _ = transcriber.transcribe(DATA / "mono_two_voices.flac", "mono-two-voices")
    assert transcript.speaker_source == "voices"
    assert {t.speaker for t in transcript.turns} == {"agent", "customer"}
    # Each reference turn is mostly covered by found turns of its own speaker.
    for speaker, start, end in reference:
        same = sum(
            _overlap((start, end), (t.start, t.end))
            for t in transcript.turns
            if t.speaker == speaker
        )
        assert same > 0.7 * (end - start), (speaker, start, end, transcript.turns)
    agent = " ".join(t.text for t in transcript.turns if t.speaker == "agent").lower()
    assert "refund" in agent or "order" in agent
    # The runs kept for metrics carry the same speakers.
    assert {s[0] for s in transcript.speech} == {"agent", "customer"}


def test_one_voice_is_not_cut_in_two(transcriber: Transcriber) -> None:
    transcript, _ = transcriber.transcribe(DATA / "jfk.flac", "jfk")
    assert transcript.speaker_source == "uncertain"
    assert {t.speaker for t in transcript.turns} == {"speaker"}


def test_diarization_can_be_switched_off(models_dir: Path, tmp_path: Path) -> None:
    settings = WhisperSettings(workers=1, diarization={"enabled": False})
    plain = Transcriber(settings, models_dir=models_dir, cache_dir=tmp_path)
    transcript, _ = plain.transcribe(DATA / "mono_two_voices.flac", "off")
    assert transcript.speaker_source == "mono"
    assert {t.speaker for t in transcript.turns} == {"speaker"}


def test_voice_prints_tell_two_real_voices_apart() -> None:
    """The two human voices of the shared stereo file: prints of the same voice are closer
    than prints of the other one."""
    from faster_whisper import decode_audio

    left, right = decode_audio(str(DATA / "stereo_diarization.wav"), split_stereo=True)
    encoder = VoiceEncoder()
    a = encoder.frames(left, [(0.0, len(left) / 16000)])
    b = encoder.frames(right, [(0.0, len(right) / 16000)])
    va, vb = a.vectors.mean(0), b.vectors.mean(0)
    across = float(va @ vb / np.linalg.norm(va) / np.linalg.norm(vb))
    within = float(a.vectors[0] @ a.vectors[-1])
    assert across < 0.8 and within > across


def _frames(labels: list[int], rng: np.random.Generator, per_stretch: int = 2) -> VoiceFrames:
    """Prints every 0.5 s, ``per_stretch`` to a stretch of speech, with these voice labels."""
    centres = np.eye(256, dtype=np.float32)[:2]
    vectors = np.stack([centres[x] + 0.05 * rng.standard_normal(256) for x in labels])
    times = np.arange(len(labels)) * 0.5 + 0.25
    starts = (np.arange(len(labels)) // per_stretch) * 0.5 * per_stretch
    spans = np.stack([starts, starts + 0.5 * per_stretch], axis=1)
    return VoiceFrames(times, vectors.astype(np.float32), spans)


def test_words_take_the_voice_heard_around_them() -> None:
    rng = np.random.default_rng(0)
    voices = [0, 0, 1, 1] * 4  # eight stretches, the voices taking turns
    frames = _frames(voices, rng)
    words = [(t - 0.2, t + 0.2, f"w{i}") for i, t in enumerate(frames.times)]
    found = diarize(words, frames, speakers=2)
    assert not found.uncertain and found.speakers == 2 and found.purity == 1.0
    first = found.speaker_of[0]
    assert found.speaker_of == [first if v == 0 else 1 - first for v in voices]


def test_voices_that_do_not_separate_are_uncertain() -> None:
    rng = np.random.default_rng(1)
    frames = _frames([0] * 16, rng)
    words = [(t, t + 0.3, "w") for t in frames.times]
    found = diarize(words, frames, speakers=0, max_speakers=3, min_separation=0.4)
    assert found.uncertain and set(found.speaker_of) == {0}


def test_too_little_speech_is_uncertain() -> None:
    rng = np.random.default_rng(3)
    frames = _frames([0, 0, 1, 1, 0, 0, 1, 1], rng)  # four stretches: two voices, or chance
    words = [(t, t + 0.3, "w") for t in frames.times]
    assert diarize(words, frames, speakers=2, min_stretches=6).uncertain


def test_a_voice_split_through_its_sentences_is_uncertain() -> None:
    """Prints that separate but cut through stretches of speech (one voice split by how it
    sounds in the moment, not by who speaks) do not make two speakers."""
    rng = np.random.default_rng(2)
    frames = _frames([0, 1] * 12, rng, per_stretch=4)  # the split runs through every stretch
    words = [(t, t + 0.3, "w") for t in frames.times]
    found = diarize(words, frames, speakers=2, min_separation=0.0, min_purity=0.9)
    assert found.uncertain and found.purity < 0.9


def test_a_voice_print_failure_keeps_the_words(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> VoiceFrames:
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(VoiceEncoder, "frames", broken)
    stt = Transcriber(WhisperSettings(workers=1), models_dir=models_dir, cache_dir=tmp_path)
    transcript, warnings = stt.transcribe(DATA / "mono_two_voices.flac", "broken-prints")
    assert transcript.speaker_source == "uncertain" and transcript.turns
    assert any("voice prints failed: encoder exploded" in w for w in warnings)
