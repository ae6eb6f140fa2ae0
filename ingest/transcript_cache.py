"""The transcript cache: what whisper heard in a recording, kept by audio content and by
everything that changes the output (model, options, diarization, the hot words it was listened
for), so the same recording is never transcribed twice and a changed setting is never served an
old answer."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.core.models import Transcript


def recording_key(audio_hash: str, hotwords: Sequence[str] = ()) -> str:
    """What a recording is transcribed as: its audio hash, and the hot words it is listened
    for when there are any. It keys the cache (other hot words, another transcript) and travels
    with the recording to worker processes and Ray actors, which read the words back with
    :func:`split_key`."""
    if not hotwords:
        return audio_hash
    return f"{audio_hash}#{json.dumps(list(hotwords), ensure_ascii=False)}"


def split_key(key: str) -> tuple[str, tuple[str, ...]]:
    """``(audio hash, hot words)`` of a :func:`recording_key`."""
    audio_hash, _, words = key.partition("#")
    return audio_hash, tuple(json.loads(words)) if words else ()


class TranscriptCache:
    """One JSON file per (recording key, options) in ``folder``: ``<key>.json``, and for a
    recording heard with hot words ``<key>.<words>.json`` beside it, so forgetting a recording
    finds every transcript of it."""

    def __init__(self, folder: Path, options: dict[str, Any]) -> None:
        self.folder = folder
        self.options = options
        #: Transcripts served from the cache by this process.
        self.hits = 0

    def key(self, audio_hash: str) -> str:
        blob = json.dumps({"audio": audio_hash, **self.options}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        audio_hash, words = split_key(key)
        if not words:
            return self.folder / f"{self.key(audio_hash)}.json"
        listened = hashlib.sha256(json.dumps(words, ensure_ascii=False).encode()).hexdigest()
        return self.folder / f"{self.key(audio_hash)}.{listened[:16]}.json"

    def get(self, audio_hash: str) -> tuple[Transcript, list[str]] | None:
        """The transcript and decode warnings heard before, or None."""
        try:
            text = self._path(audio_hash).read_text("utf-8")
        except FileNotFoundError:
            return None
        self.hits += 1
        data = json.loads(text)
        return Transcript.from_dict(data), data.get("warnings", [])

    def put(self, audio_hash: str, transcript: Transcript, warnings: list[str]) -> None:
        """Keep a transcript (atomically: a killed run leaves no half file)."""
        path = self._path(audio_hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps({**transcript.to_dict(), "warnings": warnings}, ensure_ascii=False), "utf-8"
        )
        os.replace(tmp, path)

    def forget(self, audio_hash: str) -> None:
        """Drop a recording's transcripts, whatever hot words each was heard with (the next
        ingest transcribes it again)."""
        stem = self.key(split_key(audio_hash)[0])
        for path in (self.folder / f"{stem}.json", *self.folder.glob(f"{stem}.*.json")):
            path.unlink(missing_ok=True)
