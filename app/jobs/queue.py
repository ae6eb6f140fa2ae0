"""Background jobs: long work (ingest, import, batch classification, label-quality runs) off the
request path, with progress, in a SQLite table so that their state survives a restart.

One worker thread runs the jobs one at a time in the order they were submitted: the machine has
few cores and the models are shared with the requests, so two heavy jobs at once would only
slow each other. A job found ``running`` when the process starts was interrupted (a crash, a
kill, a stop) and is queued again: every kind resumes without duplicates (ingest and import skip
what the ledger already indexed, a batch classification skips the calls already in its results
file, a label run starts over). The table is ``app/job_store.py``; what each kind does is in
``app/job_kinds.py``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import CallScopeError, InputError
from app.jobs.store import FINISHED, MAX_ATTEMPTS, STATES, Job, JobStore

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger("callscope.jobs")

__all__ = [
    "FINISHED",
    "MAX_ATTEMPTS",
    "STATES",
    "Cleanup",
    "Handler",
    "Job",
    "JobCancelled",
    "JobInterrupted",
    "JobRunner",
    "JobStore",
    "Progress",
    "jobs_dir",
]


class JobCancelled(Exception):
    """Raised inside a running job when someone cancelled it."""


class JobInterrupted(Exception):
    """Raised inside a running job when the process is stopping: it is queued again."""


#: Shortest time between two progress writes of one job.
PROGRESS_SECONDS = 0.5

#: ``progress(done, total, message)``; raises JobCancelled / JobInterrupted to stop the job.
Progress = Callable[[int, "int | None", str], None]
#: A job kind: does the work of ``job`` on the shared runtime and returns its result.
Handler = Callable[["Runtime", Job, Progress], dict[str, Any]]
#: Removes what a job of a kind no longer needs once it has ended (its uploaded inputs).
Cleanup = Callable[["Runtime", Job], None]


class JobRunner:
    """Runs the queued jobs of one :class:`JobStore` on one worker thread."""

    def __init__(
        self,
        runtime: Runtime,
        store: JobStore,
        handlers: dict[str, Handler],
        cleanups: dict[str, Cleanup] | None = None,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.handlers = handlers
        self.cleanups = cleanups or {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        # Cancels asked in this process, seen at once (the table's flag is for the record).
        self._cancelled: set[str] = set()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        resumed = self.store.requeue_interrupted()
        if resumed:
            log.warning("resuming %d job(s) interrupted by a restart: %s", len(resumed), resumed)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._work, name="callscope-jobs", daemon=True)
        self._thread.start()
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop after the current job's next progress step (that job is queued again); False
        when the worker is still busy after ``timeout`` seconds (a long step, such as one
        recording being transcribed)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
            self._thread = None
        return True

    # -- use -------------------------------------------------------------------------------
    def submit(self, kind: str, params: dict[str, Any]) -> Job:
        if kind not in self.handlers:
            raise InputError(f"unknown job kind {kind!r}; one of: {', '.join(self.handlers)}")
        job = self.store.create(kind, params)
        self._wake.set()
        return job

    def get(self, job_id: str) -> Job | None:
        return self.store.get(job_id)

    def cancel(self, job_id: str) -> Job:
        before = self.store.get(job_id)
        job = self.store.request_cancel(job_id)
        if job.state == "running":
            self._cancelled.add(job_id)
        elif job.state == "cancelled" and before is not None and before.state == "queued":
            self._clean_up(job)  # it never ran: its inputs go now
        self._notify()
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job has finished (or ``timeout`` seconds passed); returns it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.store.get(job_id)
            if job is None:
                raise InputError(f"no job {job_id!r}")
            if job.finished:
                return job
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return job
            with self._changed:
                self._changed.wait(0.5 if left is None else min(left, 0.5))

    # -- the worker ------------------------------------------------------------------------
    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _work(self) -> None:
        while not self._stopping.is_set():
            job = self.store.claim_next()
            if job is None:
                self._wake.wait(5.0)
                self._wake.clear()
                continue
            self._run(job)
            self._notify()

    def _run(self, job: Job) -> None:
        last_write = 0.0
        latest: list[Any] = []  # the last (done, total, message) reported, written or not

        def progress(done: int, total: int | None, message: str = "") -> None:
            nonlocal last_write
            if job.id in self._cancelled:
                raise JobCancelled
            if self._stopping.is_set():
                raise JobInterrupted
            # A batch reports every call; the table (one fsync per write) is updated at most
            # every PROGRESS_SECONDS, and at the last step. The job's end writes the latest.
            latest[:] = [done, total, message]
            now = time.monotonic()
            if now - last_write >= PROGRESS_SECONDS or (total is not None and done >= total):
                last_write = now
                if self.store.progress(job.id, done, total, message):
                    raise JobCancelled  # asked by another process sharing the table
                self._notify()

        log.info("job %s (%s) started, attempt %d", job.id, job.kind, job.attempts)
        end: dict[str, Any]
        try:
            result = self.handlers[job.kind](self.runtime, job, progress)
        except JobCancelled:
            end = {"state": "cancelled", "message": "cancelled"}
        except JobInterrupted:
            self._flush(job, latest)
            self.store.requeue(job.id, "interrupted by shutdown; resumes at the next start")
            return
        except CallScopeError as exc:
            end = {"state": "failed", "error": str(exc)}
        except Exception as exc:  # a bug must fail the job, not kill the worker thread
            log.exception("job %s crashed", job.id)
            end = {"state": "failed", "error": f"internal error: {type(exc).__name__}"}
        else:
            end = {"state": "done", "result": result, "message": "done"}
        finally:
            self._cancelled.discard(job.id)
        self._flush(job, latest)
        self._clean_up(job)  # before it shows as finished: a client may look at once
        self.store.finish(job.id, end.pop("state"), **end)
        log.info("job %s ended", job.id)

    def _clean_up(self, job: Job) -> None:
        cleanup = self.cleanups.get(job.kind)
        if cleanup is None:
            return
        try:
            cleanup(self.runtime, job)
        except Exception:  # leftover files must not fail a job that is over
            log.exception("cleaning up after job %s failed", job.id)

    def _flush(self, job: Job, latest: list[Any]) -> None:
        if latest:
            self.store.progress(job.id, *latest)


def jobs_dir(runtime: Runtime, job_id: str) -> Path:
    """A job's own folder for its inputs and outputs (under the state dir)."""
    folder = runtime.settings.paths.state_dir / "jobs" / job_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder
