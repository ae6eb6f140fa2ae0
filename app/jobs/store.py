"""The job table: one SQLite row per background job, so a job's state outlives the process.

    queued -> running -> done | failed | cancelled      (running -> queued again on restart)

The queue and the worker that run these jobs are in ``app/jobs.py``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.core.errors import InputError
from ingest.ledger import connect

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


def _job(cur: sqlite3.Cursor, row: tuple[Any, ...]) -> Job:
    data = dict(zip([d[0] for d in cur.description], row, strict=True))
    data["params"] = json.loads(data["params"])
    data["result"] = json.loads(data["result"]) if data["result"] else None
    data["cancel"] = bool(data["cancel"])
    return Job(**data)
