"""The ingest ledger: one SQLite row per call, so an interrupted batch resumes exactly.

States: ``pending`` (seen) -> ``transcribed`` (audio only; transcript cached) -> ``indexed``
(turn points upserted and acknowledged by the store), or ``failed`` with the error text. A call is
marked ``indexed`` only after its points are durable, and its point ids are deterministic, so a
kill at any moment followed by a re-run neither loses nor duplicates points.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from app.core.errors import StateError
from app.core.models import Transcript

T = TypeVar("T")

STATES = ("pending", "transcribed", "indexed", "failed")
#: Call ids in one ``IN (...)`` query (SQLite allows 32,766 parameters; pages stay small).
_IDS_PER_QUERY = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_id      TEXT PRIMARY KEY,
    collection   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    origin       TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    state        TEXT NOT NULL,
    error        TEXT,
    warnings     TEXT,
    labels       TEXT NOT NULL DEFAULT '[]',
    n_turn_points INTEGER NOT NULL DEFAULT 0,
    duration     REAL,
    language     TEXT,
    transcript   TEXT,
    updated_at   REAL NOT NULL,
    audio        TEXT
);
CREATE INDEX IF NOT EXISTS calls_state ON calls(state);
CREATE TABLE IF NOT EXISTS label_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id    TEXT NOT NULL,
    old_labels TEXT NOT NULL,
    new_labels TEXT NOT NULL,
    source     TEXT NOT NULL,
    at         REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS label_history_call ON label_history(call_id);
CREATE TABLE IF NOT EXISTS classifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id     TEXT NOT NULL,
    label       TEXT NOT NULL,
    labels      TEXT NOT NULL,
    confidence  REAL NOT NULL,
    decided_by  TEXT NOT NULL,
    flags       TEXT NOT NULL,
    source      TEXT NOT NULL,
    at          REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS classifications_call ON classifications(call_id);
"""


@dataclass(frozen=True)
class LedgerRow:
    call_id: str
    collection: str
    kind: str
    origin: str
    content_hash: str
    state: str
    error: str | None
    warnings: list[str]
    labels: list[str]
    #: Turn points stored for the call (one per turn, or per piece of a long turn).
    n_turn_points: int
    duration: float | None
    language: str | None
    #: The call's turns as indexed (None before a call was transcribed or read).
    transcript: Transcript | None
    updated_at: float
    #: The recording of an audio call (its origin may be a table row such as ``calls.csv:7``).
    audio: str | None = None

    @property
    def recording(self) -> Path | None:
        """The audio file of an audio call, when it is still on disk."""
        if self.kind != "audio":
            return None
        path = Path(self.audio or self.origin)
        return path if path.is_file() else None


def _locked(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def locked(self: Ledger, *args: Any, **kwargs: Any) -> T:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class Ledger:
    """A small SQLite table; one connection per process, WAL mode for crash safety."""

    def __init__(self, path: Path) -> None:
        self._db = connect(path, _SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(calls)")}
        if "audio" not in columns:  # a ledger written before recordings had their own column
            self._db.execute("ALTER TABLE calls ADD COLUMN audio TEXT")
        if "n_chunks" in columns:  # a ledger written when turn points were called chunks
            self._db.execute("ALTER TABLE calls RENAME COLUMN n_chunks TO n_turn_points")
        # One connection shared by threads (the API serves requests from a threadpool); the
        # lock makes each method, and each BEGIN..COMMIT in it, one unit.
        self._lock = threading.RLock()

    @_locked
    def close(self) -> None:
        self._db.close()

    @_locked
    def get(self, call_id: str) -> LedgerRow | None:
        cur = self._db.execute("SELECT * FROM calls WHERE call_id = ?", (call_id,))
        row = cur.fetchone()
        return _row(cur, row) if row else None

    @_locked
    def get_many(self, call_ids: Iterable[str]) -> dict[str, LedgerRow]:
        """The rows of ``call_ids`` that exist, by call id: one query per 500 ids (a rule
        applied to every stored call reads them in pages, not one query a call)."""
        ids = list(dict.fromkeys(call_ids))
        found: dict[str, LedgerRow] = {}
        for at in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[at : at + _IDS_PER_QUERY]
            cur = self._db.execute(
                f"SELECT * FROM calls WHERE call_id IN ({', '.join('?' * len(chunk))})", chunk
            )
            for row in cur.fetchall():
                read = _row(cur, row)
                found[read.call_id] = read
        return found

    @_locked
    def upsert(self, call_id: str, **fields: Any) -> None:
        """Insert or update one call's row with the given columns."""
        fields["updated_at"] = time.time()
        for key in ("labels", "warnings"):
            if key in fields and not isinstance(fields[key], str):
                fields[key] = json.dumps(fields[key], ensure_ascii=False)
        if isinstance(fields.get("transcript"), Transcript):
            fields["transcript"] = json.dumps(fields["transcript"].to_dict(), ensure_ascii=False)
        # UPDATE first: an INSERT .. ON CONFLICT would check NOT NULL columns that a partial
        # update (e.g. only ``state``) does not carry.
        sets = ", ".join(f"{c} = ?" for c in fields)
        cur = self._db.execute(
            f"UPDATE calls SET {sets} WHERE call_id = ?", (*fields.values(), call_id)
        )
        if cur.rowcount == 0:
            cols = ["call_id", *fields]
            self._db.execute(
                f"INSERT INTO calls ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                (call_id, *fields.values()),
            )

    def rows(self, state: str | None = None) -> Iterator[LedgerRow]:
        return iter(self._rows(state))

    @_locked
    def _rows(self, state: str | None) -> list[LedgerRow]:
        sql, args = "SELECT * FROM calls", ()
        if state:
            sql, args = sql + " WHERE state = ?", (state,)
        cur = self._db.execute(sql + " ORDER BY call_id", args)
        return [_row(cur, row) for row in cur.fetchall()]

    @_locked
    def delete(self, call_id: str) -> bool:
        """Remove a call's row and its label history; False when there was no row."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cur = self._db.execute("DELETE FROM calls WHERE call_id = ?", (call_id,))
            self._db.execute("DELETE FROM label_history WHERE call_id = ?", (call_id,))
            self._db.execute("DELETE FROM classifications WHERE call_id = ?", (call_id,))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return cur.rowcount > 0

    @_locked
    def add_history(
        self,
        call_id: str,
        old_labels: list[str],
        new_labels: list[str],
        source: str,
        at: float | None = None,
    ) -> int:
        """Record a label correction: one ``label_history`` row and the call's new ``labels``,
        in one transaction; returns the entry's id (what an undo names). ``content_hash`` is
        left alone (see ``ingest.relabel``)."""
        at = time.time() if at is None else at
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cur = self._db.execute(
                "INSERT INTO label_history (call_id, old_labels, new_labels, source, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (call_id, _json(old_labels), _json(new_labels), source, at),
            )
            self._db.execute(
                "UPDATE calls SET labels = ?, updated_at = ? WHERE call_id = ?",
                (_json(new_labels), time.time(), call_id),
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return int(cur.lastrowid or 0)

    @_locked
    def history(self, call_id: str) -> list[dict[str, Any]]:
        """A call's label corrections, oldest first; ``id`` names an entry (for an undo)."""
        cur = self._db.execute(
            "SELECT id, call_id, old_labels, new_labels, source, at FROM label_history "
            "WHERE call_id = ? ORDER BY id",
            (call_id,),
        )
        return [
            {
                "id": i,
                "call_id": c,
                "old_labels": json.loads(o),
                "new_labels": json.loads(n),
                "source": s,
                "at": at,
            }
            for i, c, o, n, s, at in cur.fetchall()
        ]

    @_locked
    def add_classification(self, call_id: str, classification: Any, source: str) -> bool:
        """Add a classification (a ``retrieval.classify.knn.Classification``) to the history of a
        call in the ledger; ``source`` says who asked (api, ui, cli, job:<id>). Call ids are
        file names, as in ingest, so a file named like a stored call is that call; a new file
        has no history to join (nothing could show or delete it): False, nothing written."""
        c = classification
        cur = self._db.execute(
            "INSERT INTO classifications (call_id, label, labels, confidence, decided_by, flags, "
            "source, at) SELECT ?, ?, ?, ?, ?, ?, ?, ? "
            "WHERE EXISTS (SELECT 1 FROM calls WHERE call_id = ?)",
            (
                call_id,
                c.label,
                _json(c.labels),
                float(c.confidence),
                c.decided_by,
                _json(c.flags),
                source,
                time.time(),
                call_id,
            ),
        )
        return cur.rowcount > 0

    @_locked
    def classifications(self, call_id: str) -> list[dict[str, Any]]:
        """A call's classifications, oldest first."""
        cur = self._db.execute(
            "SELECT label, labels, confidence, decided_by, flags, source, at FROM classifications "
            "WHERE call_id = ? ORDER BY id",
            (call_id,),
        )
        return [
            {
                "label": label,
                "labels": json.loads(labels),
                "confidence": confidence,
                "decided_by": decided_by,
                "flags": json.loads(flags),
                "source": source,
                "at": at,
            }
            for label, labels, confidence, decided_by, flags, source, at in cur.fetchall()
        ]

    @_locked
    def rename_collection(self, old: str, new: str) -> int:
        """Rows that name the turn collection ``old`` name ``new`` (a renamed collection);
        returns how many changed."""
        return self._db.execute(
            "UPDATE calls SET collection = ? WHERE collection = ?", (new, old)
        ).rowcount

    @_locked
    def counts(self) -> dict[str, int]:
        found = dict(
            self._db.execute("SELECT state, COUNT(*) FROM calls GROUP BY state").fetchall()
        )
        return {state: found.get(state, 0) for state in STATES}


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """A connection for state that must survive a crash (the ledger, the job table): WAL,
    fully synchronous commits, shareable between threads (callers serialize with a lock).

    The file is checked first (``PRAGMA quick_check``): a database cut short, overwritten or
    not SQLite at all is a :class:`StateError` naming the file and the repair, never a
    traceback later, and never silently taken as empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        found = db.execute("PRAGMA quick_check").fetchall()
        if found != [("ok",)]:
            db.close()
            detail = "; ".join(str(r[0]) for r in found[:3])
            raise StateError(f"{path} is damaged ({detail}): {REPAIR}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(schema)
    except sqlite3.DatabaseError as exc:
        raise StateError(
            f"{path} is damaged or not a CallScope database ({exc}): {REPAIR}"
        ) from exc
    return db


#: What to do about a damaged state database.
REPAIR = "run `callscope doctor` to repair it (the damaged file is kept beside it)"


def _json(value: list[str]) -> str:
    return json.dumps(value, ensure_ascii=False)


def _row(cur: sqlite3.Cursor, row: tuple[Any, ...]) -> LedgerRow:
    data = dict(zip([d[0] for d in cur.description], row, strict=True))
    data["labels"] = json.loads(data["labels"] or "[]")
    data["warnings"] = json.loads(data["warnings"] or "[]")
    raw = data["transcript"]
    data["transcript"] = Transcript.from_dict(json.loads(raw)) if raw else None
    return LedgerRow(**data)
