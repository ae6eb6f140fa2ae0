"""The transcript cache: what whisper heard in a recording, kept by audio content and by
everything that changes the output (model, options, diarization), so the same recording is
never transcribed twice and a changed setting is never served an old answer."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from app.core.models import Transcript


class TranscriptCache:
    """One JSON file per (audio hash, options) in ``folder``."""

    def __init__(self, folder: Path, options: dict[str, Any]) -> None:
        self.folder = folder
        self.options = options
        #: Transcripts served from the cache by this process.
        self.hits = 0

    def key(self, audio_hash: str) -> str:
        blob = json.dumps({"audio": audio_hash, **self.options}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _path(self, audio_hash: str) -> Path:
        return self.folder / f"{self.key(audio_hash)}.json"

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
        """Drop a recording's transcript (the next ingest transcribes it again)."""
        self._path(audio_hash).unlink(missing_ok=True)
