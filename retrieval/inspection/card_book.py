"""Scorecards and the scores they gave, kept beside the rules (``inspection.sqlite``).

Every save of a scorecard is a new version (as rules are); a call's score is kept with the
version it was made with and every answer (value, by what, evidence, note), so a report reads
scores without scoring again and a changed scorecard scores again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.core.errors import InputError
from ingest.ledger import connect
from retrieval.inspection.evaluate import Evidence
from retrieval.inspection.scorecards import Answer, CardResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scorecard_versions (
    name    TEXT NOT NULL,
    version INTEGER NOT NULL,
    source  TEXT,
    action  TEXT NOT NULL,
    by_whom TEXT NOT NULL,
    at      REAL NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS scores (
    call_id   TEXT NOT NULL,
    scorecard TEXT NOT NULL,
    version   INTEGER NOT NULL,
    score     REAL,
    answers   TEXT NOT NULL,
    at        REAL NOT NULL,
    PRIMARY KEY (call_id, scorecard)
);
CREATE TABLE IF NOT EXISTS reviews (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id   TEXT NOT NULL,
    scorecard TEXT NOT NULL,
    question  TEXT NOT NULL,
    value     TEXT NOT NULL,   -- what the reviewer says: yes, no, not_applicable
    automatic TEXT NOT NULL,   -- what the scorecard had answered when it was reviewed
    comment   TEXT NOT NULL,
    by_whom   TEXT NOT NULL,
    at        REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_of ON reviews (scorecard, call_id, question);
"""


class NoSuchScorecard(InputError):
    """No scorecard by that name (the API answers 404)."""


class CardBook:
    def __init__(self, path: Path) -> None:
        self._db = connect(path, _SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def sources(self) -> list[tuple[dict[str, Any], int]]:
        """The current scorecards as written, with their versions, by name."""
        with self._lock:
            rows = self._db.execute(
                "SELECT version, source FROM scorecard_versions v WHERE version = "
                "(SELECT MAX(version) FROM scorecard_versions WHERE name = v.name) ORDER BY name"
            ).fetchall()
        return [(json.loads(src), version) for version, src in rows if src]

    def save(self, cards: list[dict[str, Any]], by: str) -> dict[str, str]:
        out = {}
        with self._lock:
            for card in cards:
                name = card["name"]
                source = json.dumps(card, ensure_ascii=False, sort_keys=True)
                last = self._db.execute(
                    "SELECT version, source FROM scorecard_versions WHERE name = ? "
                    "ORDER BY version DESC LIMIT 1",
                    (name,),
                ).fetchone()
                if last is not None and last[1] == source:
                    out[name] = "unchanged"
                    continue
                action = "added" if last is None or last[1] is None else "changed"
                self._db.execute(
                    "INSERT INTO scorecard_versions VALUES (?,?,?,?,?,?)",
                    (name, (last[0] if last else 0) + 1, source, action, by, time.time()),
                )
                out[name] = action
        return out

    def history(self, name: str) -> list[dict[str, Any]]:
        """Every version of a scorecard: as written (None for a deletion), who, when, how."""
        with self._lock:
            rows = self._db.execute(
                "SELECT version, action, by_whom, at, source FROM scorecard_versions "
                "WHERE name = ? ORDER BY version",
                (name,),
            ).fetchall()
        if not rows:
            raise NoSuchScorecard(f"no scorecard {name!r}")
        return [
            {"version": v, "action": a, "by": b, "at": at,
             "scorecard": json.loads(src) if src else None}
            for v, a, b, at, src in rows
        ]  # fmt: skip

    def delete(self, name: str, by: str) -> None:
        """Delete a scorecard: a version saying so (its history, scores and reviews stay, so
        :meth:`restore` brings it back as it was)."""
        with self._lock:
            last = self._last(name)
            if last is None or last[1] is None:
                raise NoSuchScorecard(f"no scorecard {name!r}")
            self._add(name, None, "deleted", by)

    def restore(self, name: str, version: int, by: str) -> dict[str, Any]:
        """Make an earlier version current again (undo a change or a deletion)."""
        with self._lock:
            row = self._db.execute(
                "SELECT source FROM scorecard_versions WHERE name = ? AND version = ?",
                (name, version),
            ).fetchone()
            if row is None or row[0] is None:
                raise NoSuchScorecard(f"scorecard {name!r} has no version {version} to restore")
            self._add(name, row[0], "restored", by)
        return json.loads(row[0])

    def _last(self, name: str) -> tuple[int, str | None] | None:
        row = self._db.execute(
            "SELECT version, source FROM scorecard_versions WHERE name = ? "
            "ORDER BY version DESC LIMIT 1",
            (name,),
        ).fetchone()
        return (int(row[0]), row[1]) if row else None

    def _add(self, name: str, source: str | None, action: str, by: str) -> None:
        last = self._last(name)
        self._db.execute(
            "INSERT INTO scorecard_versions VALUES (?,?,?,?,?,?)",
            (name, (last[0] if last else 0) + 1, source, action, by, time.time()),
        )

    def store(self, call_id: str, result: CardResult, version: int) -> None:
        answers = json.dumps([asdict(a) for a in result.answers], ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO scores VALUES (?,?,?,?,?,?)",
                (call_id, result.scorecard, version, result.score, answers, time.time()),
            )

    def scored(self, scorecard: str) -> dict[str, tuple[int, float | None]]:
        """call id -> (the version it was scored with, its score)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT call_id, version, score FROM scores WHERE scorecard = ?", (scorecard,)
            ).fetchall()
        return {c: (v, s) for c, v, s in rows}

    def results(self, call_id: str) -> list[tuple[CardResult, int]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT scorecard, version, score, answers FROM scores WHERE call_id = ? "
                "ORDER BY scorecard",
                (call_id,),
            ).fetchall()
        return [
            (CardResult(card, score, _answers(answers)), version)
            for card, version, score, answers in rows
        ]

    def rescore(
        self, scorecard: str, score_of: Callable[[tuple[Answer, ...]], float | None]
    ) -> int:
        """Every stored score of ``scorecard`` made again from its stored answers (nothing is
        asked again: e.g. when an LLM question starts or stops counting); returns how many
        changed."""
        with self._lock:
            rows = self._db.execute(
                "SELECT call_id, score, answers FROM scores WHERE scorecard = ?", (scorecard,)
            ).fetchall()
            changed = [
                (new, call_id, scorecard)
                for call_id, score, answers in rows
                if (new := score_of(_answers(answers))) != score
            ]
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE scores SET score = ? WHERE call_id = ? AND scorecard = ?", changed
            )
            self._db.execute("COMMIT")
        return len(changed)

    # -- human review (人工复核): every confirmation or correction kept, the last one counts --
    def add_review(
        self, call_id: str, scorecard: str, question: str, value: str, automatic: str,
        comment: str, by: str,
    ) -> int:  # fmt: skip
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO reviews (call_id, scorecard, question, value, automatic, comment, "
                "by_whom, at) VALUES (?,?,?,?,?,?,?,?)",
                (call_id, scorecard, question, value, automatic, comment, by, time.time()),
            )
            return int(cur.lastrowid or 0)

    def reviews(self, scorecard: str, call_id: str | None = None) -> list[dict[str, Any]]:
        """Every review of the scorecard (on one call), oldest first."""
        query = (
            "SELECT id, call_id, question, value, automatic, comment, by_whom, at FROM reviews "
            "WHERE scorecard = ?" + (" AND call_id = ?" if call_id else "") + " ORDER BY id"
        )
        args = (scorecard, call_id) if call_id else (scorecard,)
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        keys = ("id", "call_id", "question", "value", "automatic", "comment", "by", "at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def forget_call(self, call_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM scores WHERE call_id = ?", (call_id,))


def _answers(stored: str) -> tuple[Answer, ...]:
    return tuple(
        Answer(
            a["question"], a["value"], a["by"],
            tuple(Evidence(**e) for e in a["evidence"]), a["note"],
        )
        for a in json.loads(stored)
    )  # fmt: skip
