"""The real bundled faster-whisper base model on short real recordings."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import opencc

from ingest.transcribe import Transcriber
from tests.conftest import DATA


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def test_english_mono(transcriber: Transcriber) -> None:
    transcript, warnings = transcriber.transcribe(DATA / "jfk.flac", "jfk")
    assert warnings == []
    assert transcript.language == "en"
    # Same speech on both channels: one speaker, not every word twice.
    assert {t.speaker for t in transcript.turns} == {"speaker"}
    text = " ".join(t.text for t in transcript.turns)
    reference = (
        "and so my fellow americans ask not what your country can do for you "
        "ask what you can do for your country"
    )
    assert len(_words(text) & _words(reference)) / len(_words(reference)) > 0.9
    assert text.lower().count("fellow") == 1
    assert transcript.turns[0].start is not None and transcript.turns[-1].end <= 11.1


def test_stereo_channels_become_agent_and_customer(transcriber: Transcriber) -> None:
    transcript, _ = transcriber.transcribe(DATA / "stereo_diarization.wav", "stereo")
    by_speaker = {t.speaker: t.text.lower() for t in transcript.turns}
    assert set(by_speaker) == {"agent", "customer"}
    assert "wizard" in by_speaker["agent"] and "curtain" in by_speaker["agent"]
    assert "horizon" in by_speaker["customer"] and "distant" in by_speaker["customer"]
    assert "wizard" not in by_speaker["customer"]


def test_mandarin_comes_out_simplified(transcriber: Transcriber) -> None:
    transcript, _ = transcriber.transcribe(DATA / "aishell-BAC009S0724W0121.wav", "zh")
    text = "".join(t.text for t in transcript.turns)
    assert transcript.language == "zh"
    assert "广州" in text and "地产" in text  # reference: 广州市房地产中介协会分析
    assert opencc.OpenCC("t2s").convert(text) == text  # nothing left in Traditional


def test_same_audio_is_never_transcribed_twice(transcriber: Transcriber, tmp_path: Path) -> None:
    copy = shutil.copy(DATA / "stereo_diarization.wav", tmp_path / "again.wav")
    before = transcriber.cache.hits
    first, _ = transcriber.transcribe(Path(copy), "same-hash")
    second, _ = transcriber.transcribe(Path(copy), "same-hash")
    assert transcriber.cache.hits == before + 1
    assert first.turns == second.turns


def test_cache_key_changes_with_options(
    transcriber: Transcriber, models_dir: Path, tmp_path: Path
) -> None:
    forced = Transcriber(
        transcriber.settings.model_copy(update={"language": "en"}),
        models_dir=models_dir,
        cache_dir=tmp_path,
    )
    assert forced.cache.key("h") != transcriber.cache.key("h")
    assert transcriber.cache.key("h") == transcriber.cache.key("h")
