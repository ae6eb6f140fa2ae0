"""Hot words reach whisper, per call and for the whole deployment, with the real model: a
customer names two invented terms ("Zentavo Plus", "Quorvia", tests/data/hotwords_call.flac)
that whisper spells wrong unless it is given them."""

from __future__ import annotations

from pathlib import Path

from app.core.digest import file_sha256
from app.core.models import CallSource
from app.runtime import Runtime
from app.services import calls
from ingest.transcribe import Transcriber, transcribe_one
from ingest.transcript_cache import recording_key, split_key
from tests.conftest import DATA

CALL = DATA / "hotwords_call.flac"
TERMS = ("Zentavo Plus", "Quorvia")


def _words(transcript) -> str:
    return " ".join(t.text for t in transcript.turns)


def test_a_recording_key_carries_its_hot_words() -> None:
    assert recording_key("abc") == "abc" and split_key("abc") == ("abc", ())
    key = recording_key("abc", ("Gold Plus", "京东"))
    assert key != "abc" and split_key(key) == ("abc", ("Gold Plus", "京东"))


def test_a_calls_hot_words_are_spelled_right_and_cached_apart(
    transcriber: Transcriber,
) -> None:
    digest = file_sha256(CALL)
    plain, _ = transcribe_one(transcriber, CALL, digest)
    assert "Zentavo" not in _words(plain) and "Quorvia" not in _words(plain), _words(plain)
    heard, _ = transcribe_one(transcriber, CALL, recording_key(digest, TERMS))
    said = _words(heard)
    assert "Zentavo Plus" in said and "Quorvia" in said, said
    # The two transcripts are cached under their own keys: neither replaces the other.
    assert transcriber.cache.get(digest)[0] == plain
    assert transcriber.cache.get(recording_key(digest, TERMS))[0] == heard
    # Forgetting the recording (its call deleted) forgets every transcript of it.
    transcriber.cache.forget(digest)
    assert transcriber.cache.get(digest) is None
    assert transcriber.cache.get(recording_key(digest, TERMS)) is None


def test_the_deployments_hot_words_apply_to_every_recording(
    make_settings, models_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(whisper={"hotwords": list(TERMS), "workers": 1})
    stt = Transcriber(settings.whisper, models_dir=models_dir, cache_dir=tmp_path / "cache")
    assert stt.options()["hotwords"] == list(TERMS)  # part of every cache key
    heard, _ = transcribe_one(stt, CALL, file_sha256(CALL))
    assert "Zentavo Plus" in _words(heard), _words(heard)


def test_an_import_with_hot_words_is_transcribed_with_them_again(
    make_settings, embedder, transcriber: Transcriber
) -> None:
    """Ingested first without, then again with the import's hot words: the call is not
    'unchanged' (it was listened for other words), and the stored transcript has the terms."""
    with Runtime(make_settings(), embedder=embedder) as rt:
        rt._transcriber = transcriber
        source = CallSource("hot", "audio", str(CALL), path=CALL)
        [first] = calls.ingest_sources(rt, [source])
        assert first.status == "indexed"
        again = CallSource("hot", "audio", str(CALL), path=CALL)
        calls.set_hotwords([again], "Zentavo Plus，Quorvia")
        [second] = calls.ingest_sources(rt, [again])
        assert second.status == "indexed"
        said = _words(rt.ledger.get("hot").transcript)
        assert "Zentavo Plus" in said and "Quorvia" in said, said
