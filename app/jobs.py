"""Background jobs: long work (ingest, import, batch classification, label-quality runs) off the
request path, with progress, in a SQLite table so that their state survives a restart.

One worker thread runs the jobs one at a time in the order they were submitted: the machine has
few cores and the models are shared with the requests, so two heavy jobs at once would only
slow each other. A job found ``running`` when the process starts was interrupted (a crash, a
kill, a stop) and is queued again: every kind resumes without duplicates (ingest and import skip
what the ledger already indexed, a batch classification skips the calls already in its results
file, a label run starts over). The handlers of each kind are in ``app/job_kinds.py``.

    queued -> running -> done | failed | cancelled      (running -> queued again on restart)
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import CallScopeError, InputError
from ingest.ledger import connect

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger("callscope.jobs")

STATES = ("queued", "running", "done", "failed", "cancelled")
#: Starts a job gets before a restart that finds it interrupted again fails it.
MAX_ATTEMPTS = 3
FINISHED = ("done", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    state         TEXT NOT NULL,
    params        TEXT NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0,
    total         INTEGER,
    message       TEXT NOT NULL DEFAULT '',
    result        TEXT,
    error         TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    cancel        INTEGER NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL,
    started_at    REAL,
    finished_at   REAL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, created_at);
"""


@dataclass(frozen=True)
class Job:
    """One job as stored: what to do (``params``), how far it got, and how it ended."""

    id: str
    kind: str
    state: str
    params: dict[str, Any]
    done: int
    total: int | None
    message: str
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    cancel: bool
    created_at: float
    started_at: float | None
    finished_at: float | None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cancel_requested"] = data.pop("cancel")
        data["progress"] = (self.done / self.total) if self.total else None
        return data


class JobCancelled(Exception):
    """Raised inside a running job when someone cancelled it."""


class JobInterrupted(Exception):
    """Raised inside a running job when the process is stopping: it is queued again."""


class JobStore:
    """The jobs table. One connection shared by threads behind a lock (like the ledger)."""

    def __init__(self, path: Path) -> None:
        self._db = connect(path, _SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, kind: str, params: dict[str, Any]) -> Job:
        job_id = uuid.uuid4().hex[:16]
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, kind, state, params, created_at) VALUES (?, ?, ?, ?, ?)",
                (job_id, kind, "queued", json.dumps(params, ensure_ascii=False), time.time()),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            cur = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,))
            row = cur.fetchone()
            return _job(cur, row) if row else None

    def list(
        self,
        *,
        kind: str | None = None,
        state: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[Job]]:
        """Newest first; also the total matching count."""
        where, args = [], []
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if state:
            where.append("state = ?")
            args.append(state)
        sql_where = f" WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            total = self._db.execute(f"SELECT COUNT(*) FROM jobs{sql_where}", args).fetchone()[0]
            cur = self._db.execute(
                f"SELECT * FROM jobs{sql_where} ORDER BY created_at DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            )
            return total, [_job(cur, row) for row in cur.fetchall()]

    def claim_next(self) -> Job | None:
        """The oldest queued job, now ``running`` (its attempts counted)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            self._db.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, "
                "error = NULL WHERE id = ?",
                (time.time(), row[0]),
            )
            return self.get(row[0])

    def progress(self, job_id: str, done: int, total: int | None, message: str) -> bool:
        """Record progress; returns True when a cancel was requested."""
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET done = ?, total = ?, message = ? WHERE id = ?",
                (done, total, message, job_id),
            )
            row = self._db.execute("SELECT cancel FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row[0])

    def finish(
        self,
        job_id: str,
        state: str,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        message: str | None = None,
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = ?, result = ?, error = ?, finished_at = ?, "
                "message = COALESCE(?, message), "
                # A job that is done has done all of it (a last step may not have reported).
                "done = CASE WHEN ? = 'done' AND total IS NOT NULL THEN total ELSE done END "
                "WHERE id = ?",
                (
                    state,
                    json.dumps(result, ensure_ascii=False, default=str) if result else None,
                    error,
                    time.time(),
                    message,
                    state,
                    job_id,
                ),
            )

    def requeue(self, job_id: str, message: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = 'queued', message = ? WHERE id = ?", (message, job_id)
            )

    def requeue_interrupted(self) -> list[str]:
        """Jobs left ``running`` by a process that is gone: queue them again, oldest first;
        one that was already started MAX_ATTEMPTS times fails instead (it may be what took
        the process down, and must not do so at every start)."""
        with self._lock:
            found = self._db.execute(
                "SELECT id, attempts FROM jobs WHERE state = 'running' ORDER BY created_at"
            ).fetchall()
            requeued = []
            for job_id, attempts in found:
                if attempts >= MAX_ATTEMPTS:
                    self.finish(
                        job_id,
                        "failed",
                        error=f"interrupted {attempts} times (the process stopped while it ran); "
                        "not started again",
                    )
                else:
                    self.requeue(job_id, "interrupted by a restart; resuming")
                    requeued.append(job_id)
        return requeued

    def request_cancel(self, job_id: str) -> Job:
        """Cancel a queued job now; ask a running one to stop at its next progress step."""
        with self._lock:
            job = self.get(job_id)
            if job is None:
                raise InputError(f"no job {job_id!r}")
            if job.state == "queued":
                self.finish(job_id, "cancelled", message="cancelled before it started")
            elif job.state == "running":
                self._db.execute("UPDATE jobs SET cancel = 1 WHERE id = ?", (job_id,))
            job = self.get(job_id)
        assert job is not None
        return job


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
        handlers: dict[str, Handler] | None = None,
        cleanups: dict[str, Cleanup] | None = None,
    ) -> None:
        if handlers is None:
            from app.job_kinds import CLEANUPS, HANDLERS

            handlers, cleanups = HANDLERS, CLEANUPS if cleanups is None else cleanups
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


def _job(cur: sqlite3.Cursor, row: tuple[Any, ...]) -> Job:
    data = dict(zip([d[0] for d in cur.description], row, strict=True))
    data["params"] = json.loads(data["params"])
    data["result"] = json.loads(data["result"]) if data["result"] else None
    data["cancel"] = bool(data["cancel"])
    return Job(**data)
