"""Transcription on N local worker processes, each holding its whisper model once.

CTranslate2 spreads one decode over several threads, but not perfectly, and the Python around
it (audio decoding, VAD, mapping words back) runs on one core; N processes of fewer threads keep
every core busy. Each worker is a :class:`~ingest.transcribe.Transcriber` started once (model
loaded on its first recording) and given a share of every group of recordings; it writes the
shared transcript cache itself (atomic renames, so workers never see half a file) and sends the
transcripts back. A recording longer than one window is decoded here and its windows shared
among the workers, so a single long call is not left to one core. Only the parent process
writes the ledger and the vector store.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np

from app.core.config import WhisperSettings
from app.core.errors import CallScopeError, TranscriptionError
from ingest.audio import DecodeReport, declared_seconds, decode_windows
from ingest.stream_batch import Piece
from ingest.transcribe import Heard, Transcriber
from ingest.transcript_cache import TranscriptCache
from ingest.voices import VoiceFrames

log = logging.getLogger(__name__)

_WORKER: Transcriber | None = None
#: What numpy's OpenBLAS and CTranslate2's OpenMP read their thread counts from.
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: Shortest window a long recording is cut into for the workers (whisper batches need a few
#: 30-s chunks per window to be worth it).
_MIN_WINDOW_SECONDS = 60.0


def _start(settings: dict[str, Any], models_dir: str, cache_dir: str) -> None:
    global _WORKER
    _WORKER = Transcriber(
        WhisperSettings.model_validate(settings),
        models_dir=Path(models_dir),
        cache_dir=Path(cache_dir),
    )


def _transcribe(items: list[tuple[str, str]]) -> list[Heard]:
    assert _WORKER is not None, "worker not started"
    return _WORKER.transcribe_many([(Path(p), h) for p, h in items])


def _transcribe_window(
    offset: float, samples: np.ndarray, key: str
) -> tuple[list[Piece], list[VoiceFrames] | None]:
    assert _WORKER is not None, "worker not started"
    return _WORKER.transcribe_window(offset, samples, key)


def share(items: Sequence[tuple[Path, str]], n: int) -> list[list[int]]:
    """Indexes of ``items`` dealt into ``n`` shares of about equal audio (file size stands in
    for duration): largest first, each to the lightest share so far."""
    sizes = {i: (p.stat().st_size if p.is_file() else 0) for i, (p, _) in enumerate(items)}
    shares: list[list[int]] = [[] for _ in range(n)]
    load = [0] * n
    for i in sorted(sizes, key=lambda i: -sizes[i]):
        lightest = load.index(min(load))
        shares[lightest].append(i)
        load[lightest] += sizes[i] or 1
    return [sorted(s) for s in shares if s]


class TranscriberPool:
    """:class:`~ingest.transcribe.SpeechToText` on ``workers`` processes of ``threads`` CTranslate2
    threads each. Started on the first group that needs more than one worker; :meth:`close`
    (or process exit) stops it."""

    def __init__(
        self,
        settings: WhisperSettings,
        *,
        models_dir: Path,
        cache_dir: Path,
        workers: int,
        threads: int,
    ) -> None:
        self.settings = settings.model_copy(update={"cpu_threads": threads})
        self.workers = workers
        # Cache lookups and a lone recording stay in this process, on all
        # the workers' threads (a Transcriber loads its model only when it has work).
        self.local = Transcriber(
            settings.model_copy(update={"cpu_threads": workers * threads}),
            models_dir=models_dir,
            cache_dir=cache_dir,
        )
        self.cache_dir = cache_dir
        self._models_dir = models_dir
        self._pool: ProcessPoolExecutor | None = None

    @property
    def cache(self) -> TranscriptCache:
        """The transcript cache (the parent reads and writes it; workers only transcribe)."""
        return self.local.cache

    def transcribe_many(self, items: Sequence[tuple[Path, str]]) -> list[Heard]:
        """Short recordings are dealt among the workers whole (each worker batches its share
        across calls); a recording longer than one window is cut into its windows, and the
        windows are shared, so one long call uses every worker too."""
        results: list[Heard | None] = [self.local.cache.get(h) for _, h in items]
        todo = [i for i, r in enumerate(results) if r is None]
        seconds = {i: declared_seconds(items[i][0]) or 0.0 for i in todo}
        # Cut into windows: a recording longer than one window, and, when there are fewer
        # recordings than workers, any that is more than a couple of minutes long.
        long = [
            i
            for i in todo
            if seconds[i] > self.settings.window_seconds
            or (len(todo) < self.workers and seconds[i] > 2 * _MIN_WINDOW_SECONDS)
        ]
        short = [i for i in todo if i not in long]
        if not long and len(short) < 2:  # one short upload: not worth waking the workers
            for i in short:
                results[i] = self.local.transcribe_many([items[i]])[0]
            return [r for r in results if r is not None]
        pool = self._start()
        futures: list[tuple[list[int], Future[list[Heard]]]] = []
        for part in share([items[i] for i in short], self.workers):
            indexes = [short[j] for j in part]
            paths = [(str(items[i][0]), items[i][1]) for i in indexes]
            futures.append((indexes, pool.submit(_transcribe, paths)))
        for i in long:
            results[i] = self._windows(pool, *items[i], seconds[i])
        for indexes, future in futures:
            try:
                heard = future.result()
            except BrokenProcessPool as exc:
                # A worker died (out of memory, killed): its recordings fail, the pool restarts
                # for the next group.
                self.close(wait=False)
                heard = [TranscriptionError(f"transcription worker died: {exc}")] * len(indexes)
            except Exception as exc:  # an unpicklable surprise must not end the batch
                log.exception("transcription worker failed")
                heard = [TranscriptionError(f"transcription worker failed: {exc}")] * len(indexes)
            for i, result in zip(indexes, heard, strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    def _windows(
        self, pool: ProcessPoolExecutor, path: Path, audio_hash: str, seconds: float
    ) -> Heard:
        """One long recording, its windows decoded here and transcribed by all the workers; at
        most one window per worker (plus one) waits in memory. Windows are short enough that
        every worker gets at least two (an 896-s call in 600-s windows left one worker with
        two thirds of it), and never longer than ``whisper.window_seconds``."""
        s = self.settings
        window = min(s.window_seconds, max(_MIN_WINDOW_SECONDS, seconds / (2 * self.workers)))
        report = DecodeReport()
        waiting: deque[Future[tuple[list[Piece], list[VoiceFrames] | None]]] = deque()
        pieces: list[Piece] = []
        voices: list[VoiceFrames] | None = None

        def take(done: tuple[list[Piece], list[VoiceFrames] | None]) -> None:
            nonlocal voices
            pieces.extend(done[0])
            if done[1] is not None:  # a mono window: its voice prints, for the whole call
                voices = (voices or []) + done[1]

        try:
            for piece in decode_windows(
                path,
                window_seconds=window,
                max_seconds=s.max_audio_seconds,
                max_leading_silence=s.max_leading_silence_s,
                report=report,
            ):
                waiting.append(
                    pool.submit(_transcribe_window, piece.offset, piece.samples, audio_hash)
                )
                while len(waiting) > self.workers:
                    take(waiting.popleft().result())
            while waiting:
                take(waiting.popleft().result())
        except CallScopeError as exc:
            return exc
        except BrokenProcessPool as exc:
            self.close(wait=False)
            return TranscriptionError(f"transcription worker died: {exc}")
        finally:
            for future in waiting:
                future.cancel()
        return self.local.assemble(audio_hash, pieces, report, voices)

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self.local.model_source()  # the bundled model assembled once, here
            # The workers' math libraries (OpenBLAS in numpy, OpenMP in CTranslate2) size their
            # thread pools from these when they load, which in a spawned child is before any of
            # our code runs: so they are set in the environment the children inherit. Unset,
            # each worker would take every core, and the mel features (numpy matmul) would come
            # out a rounding apart from a 1-thread Ray actor's (Ray sets OMP_NUM_THREADS to the
            # actor's CPUs), changing a word now and then: the same calls must read the same.
            threads = str(self.settings.cpu_threads or 1)
            saved = {k: os.environ.get(k) for k in _THREAD_VARS}
            os.environ.update({k: threads for k in _THREAD_VARS})
            try:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    # spawn, not fork: the parent holds threads (the job worker, CTranslate2's
                    # pool) and a forked copy of them can deadlock.
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start,
                    initargs=(
                        self.settings.model_dump(),
                        str(self._models_dir),
                        str(self.cache_dir),
                    ),
                )
                # Children are spawned on demand: start them all now, under these variables.
                for ready in [self._pool.submit(os.getpid) for _ in range(self.workers)]:
                    ready.result()
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        return self._pool

    def close(self, *, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None


def plan(settings: WhisperSettings, cores: int | None = None) -> tuple[int, int]:
    """(worker processes, CTranslate2 threads each) from the settings; ``workers = 0`` means
    one per ``threads_per_worker`` cores."""
    cores = cores or os.cpu_count() or 1
    threads = settings.cpu_threads or settings.threads_per_worker
    workers = settings.workers or max(1, cores // threads)
    return workers, threads
