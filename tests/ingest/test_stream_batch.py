"""Conversations of many calls decoded in shared whisper batches (``ingest.stream_batch`` and
``Transcriber.transcribe_many``), against each recording transcribed on its own, with the real
bundled whisper on real recordings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import AudioError
from ingest.audio import decode_windows
from ingest.stream_batch import Said, _glue, _Region, _runs, transcribe_conversations
from ingest.transcribe import Transcriber
from tests.conftest import DATA
from tests.ingest.hearing import assert_hears_like_alone

STEREO, MONO, CHINESE = (
    DATA / "stereo_diarization.wav",
    DATA / "jfk.flac",
    DATA / "aishell-BAC009S0724W0121.wav",
)


def _channels(path: Path, speakers: tuple[str, ...]) -> list[tuple[str, np.ndarray]]:
    [window] = list(decode_windows(path))
    if len(speakers) == 1:
        return [(speakers[0], window.samples.mean(axis=0))]
    return list(zip(speakers, window.samples, strict=True))


def test_conversations_batched_together_keep_their_words_speakers_and_times(
    transcriber: Transcriber,
) -> None:
    conversations = [
        _channels(STEREO, ("agent", "customer")),
        _channels(MONO, ("speaker",)),
        [("speaker", np.zeros(16000 * 3, dtype=np.float32))],  # silence
        _channels(CHINESE, ("speaker",)),
    ]
    said = transcribe_conversations(
        transcriber._pipeline(), conversations, language=None, batch_size=4
    )
    assert said[2] == []  # silence: nothing heard, nothing invented
    by_speaker = {s.speaker: s.text.lower() for s in said[0]}
    assert "wizard" in by_speaker["agent"] and "horizon" not in by_speaker["agent"]
    assert "horizon" in by_speaker["customer"] and "wizard" not in by_speaker["customer"]
    assert "country" in " ".join(s.text for s in said[1]).lower()
    assert "广州" in "".join(s.text for s in said[3])  # its own language, detected per chunk
    for channels, heard in zip(conversations, said, strict=True):
        seconds = len(channels[0][1]) / 16000
        assert all(0 <= s.start <= s.end <= seconds + 0.05 for s in heard)
    # Times are each channel's own: the customer's line starts where it starts alone.
    alone = transcribe_conversations(
        transcriber._pipeline(), [conversations[0][1:]], language="en", batch_size=1
    )
    customer = next(s for s in said[0] if s.speaker == "customer")
    assert abs(customer.start - alone[0][0].start) < 0.3


def test_cross_call_batching_gives_the_turns_of_one_at_a_time(
    transcriber: Transcriber, tmp_path: Path
) -> None:
    files = [STEREO, MONO, CHINESE]
    together = Transcriber(transcriber.settings, models_dir=Path(), cache_dir=tmp_path / "a")
    together._model, together._batched = transcriber._model, transcriber._batched
    batched = together.transcribe_many([(f, f"t-{f.name}") for f in files])
    for f, result in zip(files, batched, strict=True):
        assert isinstance(result, tuple)
        assert_hears_like_alone(transcriber, f, result[0])


def test_a_bad_recording_in_a_group_fails_alone(transcriber: Transcriber, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"ID3" + b"\x00" * 500)
    good = Path(shutil.copy(STEREO, tmp_path / "good.wav"))
    cache = Transcriber(transcriber.settings, models_dir=Path(), cache_dir=tmp_path / "c")
    cache._model, cache._batched = transcriber._model, transcriber._batched
    first, second = cache.transcribe_many([(bad, "bad"), (good, "good")])
    assert isinstance(first, AudioError) and "bad.mp3" in str(first)
    assert isinstance(second, tuple) and {t.speaker for t in second[0].turns} == {
        "agent",
        "customer",
    }
    assert cache.cache.get("good") is not None and cache.cache.get("bad") is None


def test_glue_fills_chunks_in_order_up_to_the_limit() -> None:
    assert _glue([10, 10, 10, 5, 30, 1], limit=30) == [[0, 1, 2], [3], [4], [5]]
    assert _glue([], limit=30) == []


def test_runs_split_at_speaker_changes_and_long_pauses() -> None:
    agent = _Region(0, "agent", 0, 0, 16000 * 10)
    customer = _Region(0, "customer", 0, 0, 16000 * 10)
    words = [
        (agent, 0.0, 0.4, " Hello"),
        (agent, 0.5, 0.9, " there."),
        (customer, 1.0, 1.5, " Hi."),
        (customer, 3.0, 3.4, " Refund"),  # 1.5 s after the last word: a new run
        (agent, 3.5, 3.6, " "),  # nothing said: no run
    ]
    assert _runs(words) == [
        Said("agent", 0.0, 0.9, "Hello there.", ((0.0, 0.4, " Hello"), (0.5, 0.9, " there."))),
        Said("customer", 1.0, 1.5, "Hi.", ((1.0, 1.5, " Hi."),)),
        Said("customer", 3.0, 3.4, "Refund", ((3.0, 3.4, " Refund"),)),
    ]


def test_worker_pool_transcribes_like_one_process_shares_long_calls_isolates_bad_files(
    transcriber: Transcriber, models_dir: Path, tmp_path: Path
) -> None:
    from ingest.workers import TranscriberPool, share

    bad = tmp_path / "empty.wav"
    bad.write_bytes(b"")
    files = [STEREO, MONO, bad]
    # Windows of 10 s: the 11-s recording is a "long" one, its windows shared by the workers.
    settings = transcriber.settings.model_copy(update={"window_seconds": 10})
    pool = TranscriberPool(
        settings, models_dir=models_dir, cache_dir=tmp_path / "p", workers=2, threads=1
    )
    try:
        found = pool.transcribe_many([(f, f"pool-{f.name}") for f in files])
    finally:
        pool.close()
    assert isinstance(found[2], AudioError) and "empty" in str(found[2])
    for f, result in zip(files[:2], found[:2], strict=True):
        assert isinstance(result, tuple)
        assert_hears_like_alone(transcriber, f, result[0])
    # The workers wrote the shared cache: this process now reads them without a model.
    assert pool.cache.get(f"pool-{STEREO.name}") is not None
    # Work is dealt by size, largest first, to the lightest share.
    assert sorted(i for part in share([(f, "") for f in files], 2) for i in part) == [0, 1, 2]


# In `make stress`, not `make test`: a worker process killed mid-group: ~12 s.
@pytest.mark.stress
def test_a_worker_killed_mid_group_fails_its_calls_and_the_next_group_runs(
    transcriber: Transcriber, models_dir: Path, tmp_path: Path
) -> None:
    import os
    import signal
    import threading

    from app.core.errors import TranscriptionError
    from ingest.workers import TranscriberPool

    pool = TranscriberPool(
        transcriber.settings, models_dir=models_dir, cache_dir=tmp_path, workers=2, threads=1
    )
    try:
        started = pool._start()
        victim = next(iter(started._processes))  # a worker's pid (models load on first use)
        threading.Timer(0.3, os.kill, (victim, signal.SIGKILL)).start()
        first = pool.transcribe_many([(STEREO, "k1"), (MONO, "k2")])
        assert any(isinstance(r, TranscriptionError) and "died" in str(r) for r in first)
        again = pool.transcribe_many([(STEREO, "k3"), (MONO, "k4")])  # a fresh pool
        assert all(isinstance(r, tuple) for r in again)
    finally:
        pool.close()
