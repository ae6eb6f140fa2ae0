"""The LLM response cache: answers by prompt hash in one SQLite file under the state dir.

Re-running a classification batch, or asking the same question over the same passages, then
costs nothing. JSON answers and streamed text answers share the table; their keys never collide
because a text answer's hash covers a schema name no JSON request can have
(``retrieval.llm.client.TEXT_ANSWER``). Only the (already redacted) answer is stored, never the
prompt, so the file holds no more personal data than the model was shown.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

#: The ``mode`` column of a streamed text answer (JSON answers store their response mode).
STREAM_MODE = "stream"


class ResponseCache:
    """Answers by prompt hash in SQLite; one connection shared under a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # check_same_thread=False is safe because every use holds self._lock.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS llm_responses ("
            " prompt_hash TEXT PRIMARY KEY, model TEXT NOT NULL, mode TEXT NOT NULL,"
            " raw TEXT NOT NULL, data TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,"
            " completion_tokens INTEGER NOT NULL, created REAL NOT NULL)"
        )
        # The response format each endpoint accepted, so a new process does not probe again.
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS llm_endpoints ("
            " base_url TEXT PRIMARY KEY, mode TEXT NOT NULL, updated REAL NOT NULL)"
        )

    def endpoint_mode(self, base_url: str) -> str | None:
        """The response format ``base_url`` accepted last time, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT mode FROM llm_endpoints WHERE base_url = ?", (base_url,)
            ).fetchone()
        return row[0] if row else None

    def set_endpoint_mode(self, base_url: str, mode: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO llm_endpoints VALUES (?,?,?)", (base_url, mode, time.time())
            )

    def get(self, key: str) -> tuple[str, dict[str, Any], str] | None:
        """``(raw, data, mode)`` of a JSON answer, or None."""
        row = self._row(key)
        if row is None or row[2] == STREAM_MODE:
            return None
        return row[0], json.loads(row[1]), row[2]

    def put(
        self,
        key: str,
        model: str,
        *,
        mode: str,
        raw: str,
        data: dict[str, Any],
        usage: tuple[int, int],
    ) -> None:
        self._insert(key, model, mode, raw, json.dumps(data, ensure_ascii=False), usage)

    def get_text(self, key: str) -> str | None:
        """The whole text of a streamed answer, or None."""
        row = self._row(key)
        return row[0] if row is not None and row[2] == STREAM_MODE else None

    def put_text(self, key: str, model: str, text: str, usage: tuple[int, int]) -> None:
        self._insert(key, model, STREAM_MODE, text, "null", usage)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _row(self, key: str) -> tuple[str, str, str] | None:
        with self._lock:
            return self._db.execute(
                "SELECT raw, data, mode FROM llm_responses WHERE prompt_hash = ?", (key,)
            ).fetchone()

    def _insert(
        self, key: str, model: str, mode: str, raw: str, data: str, usage: tuple[int, int]
    ) -> None:
        row = (key, model, mode, raw, data, *usage, time.time())
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO llm_responses VALUES (?,?,?,?,?,?,?,?)", row)
