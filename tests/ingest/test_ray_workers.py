"""Transcription on a Ray cluster the test starts on this machine (2 CPUs), against the local
path: the same turns, a bad file failing alone, and the transcripts written by this process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.core.errors import AudioError
from ingest.transcribe import Transcriber
from tests.conftest import DATA
from tests.ingest.hearing import assert_hears_like_alone


# In `make stress`, not `make test`: a local Ray cluster starts for it (~36 s).
@pytest.mark.stress
def test_ray_actors_transcribe_like_this_process(
    ray_cluster: object, transcriber: Transcriber, models_dir: Path, tmp_path: Path
) -> None:
    from ingest.ray_workers import RayTranscriber

    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"\xff\xfb" + b"\x01" * 300)
    files = [
        Path(shutil.copy(DATA / "stereo_diarization.wav", tmp_path / "call one.wav")),
        DATA / "aishell-BAC009S0724W0121.wav",
        bad,
    ]
    stt = RayTranscriber(
        transcriber.settings,
        models_dir=models_dir,
        cache_dir=tmp_path / "cache",
        address=None,  # the cluster the fixture started
        workers=2,
        threads=1,
    )
    try:
        found = stt.transcribe_many([(f, f"ray-{i}") for i, f in enumerate(files)])
    finally:
        stt.close()
    assert isinstance(found[2], AudioError) and "broken.mp3" in str(found[2])
    for f, result in zip(files[:2], found[:2], strict=True):
        assert isinstance(result, tuple)
        assert_hears_like_alone(transcriber, f, result[0])
    # The driver, not the actors, wrote the cache: a second ask reads it, no cluster needed.
    assert stt.cache.get("ray-0") is not None and stt.cache.get("ray-2") is None
