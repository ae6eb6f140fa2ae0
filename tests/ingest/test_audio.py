from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import AudioError
from ingest.audio import SAMPLE_RATE, DecodeReport, decode_windows, is_dual_mono
from tests.audiofiles import tone, write_audio
from tests.conftest import DATA


def _decode(path: Path, **kw) -> tuple[list, DecodeReport]:
    report = DecodeReport()
    return list(decode_windows(path, report=report, **kw)), report


def test_real_recordings_decode_to_16k() -> None:
    windows, report = _decode(DATA / "aishell-BAC009S0724W0121.wav")
    assert report.channels == 1
    assert windows[0].samples.shape == (1, 68_496)
    windows, report = _decode(DATA / "stereo_diarization.wav")
    assert report.channels == 2 and report.seconds == pytest.approx(5.0)
    assert not is_dual_mono(windows[0].samples)


def test_mono_saved_as_stereo_is_detected() -> None:
    # jfk.flac carries the same speech on both channels.
    windows, _ = _decode(DATA / "jfk.flac")
    assert windows[0].samples.shape[0] == 2
    assert is_dual_mono(windows[0].samples)


def test_zero_byte_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp3"
    empty.touch()
    with pytest.raises(AudioError, match="empty file"):
        _decode(empty)


def test_text_with_audio_extension(tmp_path: Path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_text("this is not audio at all\n" * 50)
    with pytest.raises(AudioError, match="not a decodable audio file"):
        _decode(fake)


def test_truncated_mp3_keeps_what_is_there(tmp_path: Path) -> None:
    whole = write_audio(tmp_path / "whole.mp3", tone(20))
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    _, report = _decode(cut)
    assert 8 < report.seconds < 12


def test_damaged_frames_are_skipped_not_fatal(tmp_path: Path) -> None:
    data = bytearray(write_audio(tmp_path / "ok.mp3", tone(20)).read_bytes())
    rng = np.random.default_rng(0)
    middle = len(data) // 2
    data[middle : middle + 4000] = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.mp3"
    damaged.write_bytes(bytes(data))
    _, report = _decode(damaged)
    assert report.seconds > 15  # the rest of the call is still there


def test_over_long_recording_is_refused(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.flac", tone(30))
    with pytest.raises(AudioError, match="over the limit|past the limit"):
        _decode(path, max_seconds=10)


def test_a_silent_recording_is_refused_early_not_decoded_to_the_cap(tmp_path: Path) -> None:
    """A silent FLAC (its header may hide the length) stops at the leading-silence limit,
    long before the length cap: decoding it whole cost minutes of CPU and hundreds of MB."""
    silent = write_audio(tmp_path / "silent.flac", np.zeros(120 * SAMPLE_RATE, np.float32))
    windows = []
    with pytest.raises(AudioError, match="the first 20 s are silent"):
        for window in decode_windows(
            silent, window_seconds=10, max_seconds=3600, max_leading_silence=20
        ):
            windows.append(window)
    assert len(windows) <= 2  # refused after ~20 s of the 120 s, not at the end
    # Silence first and speech (here a tone) before the limit: decoded as usual.
    late = np.concatenate([np.zeros(15 * SAMPLE_RATE, np.float32), tone(10)])
    path = write_audio(tmp_path / "late.flac", late)
    found, report = _decode(path, max_leading_silence=20)
    assert report.seconds == pytest.approx(25, abs=0.1)
    # Quiet line noise (about -50 dBFS) is not silence.
    rng = np.random.default_rng(0)
    hiss = (0.003 * rng.standard_normal(40 * SAMPLE_RATE)).astype(np.float32)
    _, report = _decode(write_audio(tmp_path / "hiss.flac", hiss), max_leading_silence=20)
    assert report.seconds == pytest.approx(40, abs=0.1)


def test_long_file_is_decoded_in_bounded_windows(tmp_path: Path) -> None:
    minutes = 12
    rng = np.random.default_rng(1)
    samples = (0.05 * rng.standard_normal(minutes * 60 * SAMPLE_RATE)).astype(np.float32)
    path = write_audio(tmp_path / "long.flac", samples)
    full_bytes = samples.nbytes
    del samples

    tracemalloc.start()
    total, widest = 0, 0
    for window in decode_windows(path, window_seconds=60):
        total += window.samples.shape[1]
        widest = max(widest, window.samples.shape[1])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert total == minutes * 60 * SAMPLE_RATE  # nothing lost at the cuts
    assert widest <= 66 * SAMPLE_RATE  # window + the quiet-cut search margin
    # Decoding never held more than a few windows' worth, far below the whole file.
    assert peak < full_bytes / 3
