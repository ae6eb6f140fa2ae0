"""The rules and what they found, kept in the state dir (``inspection.sqlite``).

Every save of a rule is a new version beside the old ones (who, when, added / changed /
deleted / restored), so any change can be undone by restoring an earlier version. The results
hold, per call and rule, whether it matched and its evidence, with the rule version it was
checked against: a changed rule is applied again, an unchanged one is not.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from app.core.errors import InputError
from ingest.ledger import connect
from retrieval.inspection.evaluate import Evidence, RuleResult
from retrieval.inspection.rules import Rule, parse_rule

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rule_versions (
    name    TEXT NOT NULL,
    version INTEGER NOT NULL,
    source  TEXT,             -- the rule as written (JSON); NULL for a deletion
    action  TEXT NOT NULL,    -- added, changed, deleted, restored
    by_whom TEXT NOT NULL,
    at      REAL NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS results (
    call_id  TEXT NOT NULL,
    rule     TEXT NOT NULL,
    version  INTEGER NOT NULL,
    matched  INTEGER NOT NULL,
    evidence TEXT NOT NULL,
    at       REAL NOT NULL,
    PRIMARY KEY (call_id, rule)
);
CREATE INDEX IF NOT EXISTS results_by_rule ON results (rule, matched);
CREATE TABLE IF NOT EXISTS alerts (
    id         TEXT PRIMARY KEY,  -- the event id receivers dedupe on
    url        TEXT NOT NULL,
    body       TEXT NOT NULL,     -- the JSON event, as sent
    state      TEXT NOT NULL,     -- pending, sent, failed
    attempts   INTEGER NOT NULL,
    next_at    REAL NOT NULL,
    created_at REAL NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS alerts_due ON alerts (state, next_at);
"""


class NoSuchRule(InputError):
    """No rule (or no such version of it) by that name (the API answers 404)."""


class RuleBook:
    """Rules with their version history, and the results of checking them on calls."""

    def __init__(self, path: Path) -> None:
        self._db = connect(path, _SCHEMA)
        self._lock = threading.RLock()
        #: The current rules, read again only after a change (every call checked asks for them):
        #: ours reset it, another process's shows in SQLite's ``data_version``.
        self._current: list[tuple[Rule, int]] | None = None
        self._seen = -1

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- rules -----------------------------------------------------------------------------
    def rules(self) -> list[tuple[Rule, int]]:
        """The current rules (not deleted) with their versions, by name."""
        with self._lock:
            seen = self._db.execute("PRAGMA data_version").fetchone()[0]
            if self._current is not None and seen == self._seen:
                return list(self._current)
            self._seen = seen
            rows = self._db.execute(
                "SELECT name, version, source FROM rule_versions v WHERE version = "
                "(SELECT MAX(version) FROM rule_versions WHERE name = v.name) ORDER BY name"
            ).fetchall()
            self._current = [
                (parse_rule(json.loads(src)), version) for _, version, src in rows if src
            ]
            return list(self._current)

    def names(self) -> dict[str, bool]:
        """Every rule that has a history, name -> whether it is deleted now (so a deleted rule
        can still be found and restored)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT name, source IS NULL FROM rule_versions v WHERE version = "
                "(SELECT MAX(version) FROM rule_versions WHERE name = v.name) ORDER BY name"
            ).fetchall()
        return {name: bool(deleted) for name, deleted in rows}

    def rule(self, name: str) -> tuple[Rule, int] | None:
        return next(((r, v) for r, v in self.rules() if r.name == name), None)

    def save(self, rules: Sequence[Rule], by: str) -> dict[str, str]:
        """Store each rule as a new version when it differs from the current one; returns
        name -> added / changed / unchanged."""
        out = {}
        with self._lock:
            for rule in rules:
                last = self._last(rule.name)
                source = _source(rule)
                if last is not None and last[1] == source:
                    out[rule.name] = "unchanged"
                    continue
                action = "added" if last is None or last[1] is None else "changed"
                self._add(rule.name, source, action, by)
                out[rule.name] = action
        return out

    def delete(self, name: str, by: str) -> None:
        """Delete a rule (its history stays: :meth:`restore` brings it back) and its results."""
        with self._lock:
            last = self._last(name)
            if last is None or last[1] is None:
                raise NoSuchRule(f"no rule {name!r}")
            self._add(name, None, "deleted", by)
            self._db.execute("DELETE FROM results WHERE rule = ?", (name,))

    def restore(self, name: str, version: int, by: str) -> Rule:
        """Make an earlier version current again (undo a change or a deletion)."""
        with self._lock:
            row = self._db.execute(
                "SELECT source FROM rule_versions WHERE name = ? AND version = ?", (name, version)
            ).fetchone()
            if row is None or row[0] is None:
                raise NoSuchRule(f"rule {name!r} has no version {version} to restore")
            self._add(name, row[0], "restored", by)
        return parse_rule(json.loads(row[0]))

    def history(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT version, action, by_whom, at, source FROM rule_versions WHERE name = ? "
                "ORDER BY version",
                (name,),
            ).fetchall()
        if not rows:
            raise NoSuchRule(f"no rule {name!r}")
        return [
            {"version": v, "action": a, "by": b, "at": at, "rule": json.loads(s) if s else None}
            for v, a, b, at, s in rows
        ]

    def _last(self, name: str) -> tuple[int, str | None] | None:
        row = self._db.execute(
            "SELECT version, source FROM rule_versions WHERE name = ? ORDER BY version DESC "
            "LIMIT 1",
            (name,),
        ).fetchone()
        return (int(row[0]), row[1]) if row else None

    def _add(self, name: str, source: str | None, action: str, by: str) -> None:
        last = self._last(name)
        version = 1 if last is None else last[0] + 1
        self._db.execute(
            "INSERT INTO rule_versions VALUES (?,?,?,?,?,?)",
            (name, version, source, action, by, time.time()),
        )
        self._current = None

    # -- results ---------------------------------------------------------------------------
    def store(self, call_id: str, results: Iterable[tuple[RuleResult, int]]) -> list[str]:
        """Keep what each rule (at its version) found on ``call_id``; returns the rules that
        match it now and did not before (what an alert is about)."""
        now = time.time()
        rows = [
            (call_id, r.rule, version, int(r.matched), _evidence(r.evidence), now)
            for r, version in results
        ]
        with self._lock:
            before = dict(
                self._db.execute(
                    "SELECT rule, matched FROM results WHERE call_id = ?", (call_id,)
                ).fetchall()
            )
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?)", rows)
            self._db.execute("COMMIT")
        return [rule for _, rule, _, matched, _, _ in rows if matched and not before.get(rule)]

    def store_many(
        self, found: Sequence[tuple[str, Sequence[tuple[RuleResult, int]]]]
    ) -> dict[str, list[str]]:
        """:meth:`store` for many calls in one transaction (an apply over the whole store
        writes in pages); returns call id -> the rules that match it now and not before."""
        now = time.time()
        rows = [
            (call_id, r.rule, version, int(r.matched), _evidence(r.evidence), now)
            for call_id, results in found
            for r, version in results
        ]
        ids = list(dict.fromkeys(call_id for call_id, _ in found))
        with self._lock:
            before = {
                (call_id, rule)
                for chunk in _pages(ids)
                for call_id, rule in self._db.execute(
                    "SELECT call_id, rule FROM results WHERE matched = 1 AND call_id IN "
                    f"({', '.join('?' * len(chunk))})",
                    chunk,
                )
            }
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?)", rows)
            self._db.execute("COMMIT")
        new: dict[str, list[str]] = {}
        for call_id, rule, _, matched, _, _ in rows:
            if matched and (call_id, rule) not in before:
                new.setdefault(call_id, []).append(rule)
        return new

    def checked_many(self, call_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """:meth:`checked` for many calls: call id -> rule -> version (calls never checked
        are absent)."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for chunk in _pages(list(call_ids)):
                for call_id, rule, version in self._db.execute(
                    "SELECT call_id, rule, version FROM results WHERE call_id IN "
                    f"({', '.join('?' * len(chunk))})",
                    chunk,
                ):
                    out.setdefault(call_id, {})[rule] = version
        return out

    def matched_many(self, call_ids: Sequence[str]) -> dict[str, list[str]]:
        """call id -> the names of the rules it matches, sorted (calls matching none are
        absent)."""
        out: dict[str, list[str]] = {}
        with self._lock:
            for chunk in _pages(list(call_ids)):
                for call_id, rule in self._db.execute(
                    "SELECT call_id, rule FROM results WHERE matched = 1 AND call_id IN "
                    f"({', '.join('?' * len(chunk))}) ORDER BY call_id, rule",
                    chunk,
                ):
                    out.setdefault(call_id, []).append(rule)
        return out

    def checked(self, call_id: str) -> dict[str, int]:
        """rule -> the version it was last checked against on ``call_id``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT rule, version FROM results WHERE call_id = ?", (call_id,)
            ).fetchall()
        return dict(rows)

    def results(self, call_id: str) -> list[tuple[RuleResult, int, float]]:
        """What each rule found on ``call_id``: (result, rule version, when)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT rule, version, matched, evidence, at FROM results WHERE call_id = ? "
                "ORDER BY rule",
                (call_id,),
            ).fetchall()
        return [
            (RuleResult(rule, bool(m), _read_evidence(ev)), version, at)
            for rule, version, m, ev, at in rows
        ]

    def matched_calls(self, rule: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT call_id FROM results WHERE rule = ? AND matched = 1 ORDER BY call_id",
                (rule,),
            ).fetchall()
        return [r[0] for r in rows]

    def counts(self) -> dict[str, tuple[int, int]]:
        """rule -> (calls it matched, calls it was checked on)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT rule, SUM(matched), COUNT(*) FROM results GROUP BY rule"
            ).fetchall()
        return {rule: (int(m), int(n)) for rule, m, n in rows}

    # -- alerts (the delivery log) ---------------------------------------------------------
    def queue_alert(self, event_id: str, url: str, body: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO alerts VALUES (?,?,?,?,?,?,?,?)",
                (event_id, url, body, "pending", 0, time.time(), time.time(), None),
            )

    def due_alerts(self, now: float, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, url, body, attempts FROM alerts WHERE state = 'pending' AND "
                "next_at <= ? ORDER BY next_at LIMIT ?",
                (now, limit),
            ).fetchall()
        return [{"id": i, "url": u, "body": b, "attempts": a} for i, u, b, a in rows]

    def next_alert_at(self) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(next_at) FROM alerts WHERE state = 'pending'"
            ).fetchone()
        return row[0] if row and row[0] is not None else None

    def alert_tried(
        self, event_id: str, *, sent: bool, error: str | None, next_at: float | None
    ) -> None:
        """One delivery attempt: sent, to be tried again at ``next_at``, or given up."""
        state = "sent" if sent else "pending" if next_at is not None else "failed"
        with self._lock:
            self._db.execute(
                "UPDATE alerts SET state = ?, attempts = attempts + 1, next_at = ?, "
                "last_error = ? WHERE id = ?",
                (state, next_at or time.time(), error, event_id),
            )

    def alerts(self, limit: int = 100) -> list[dict[str, Any]]:
        """The delivery log, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, url, state, attempts, created_at, next_at, last_error, body "
                "FROM alerts ORDER BY created_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        keys = ("id", "url", "state", "attempts", "created_at", "next_at", "last_error", "body")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def outdate_call(self, call_id: str, rules: Sequence[str] | None = None) -> None:
        """Mark what the rules (all, or ``rules``) found on ``call_id`` as made before its
        content, labels or classification changed: checked again at the next apply, whether it
        matched kept (a match that holds on is not new)."""
        with self._lock:
            if rules is None:
                self._db.execute("UPDATE results SET version = 0 WHERE call_id = ?", (call_id,))
                return
            self._db.executemany(
                "UPDATE results SET version = 0 WHERE call_id = ? AND rule = ?",
                [(call_id, rule) for rule in rules],
            )

    def forget_call(self, call_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM results WHERE call_id = ?", (call_id,))


def _pages(ids: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [ids[at : at + size] for at in range(0, len(ids), size)]


def _source(rule: Rule) -> str:
    return json.dumps(rule.source, ensure_ascii=False, sort_keys=True)


def _evidence(evidence: Sequence[Evidence]) -> str:
    if not evidence:
        return "[]"  # most results: a rule that did not match
    # Spelled out: dataclasses.asdict deep-copies, a third of an apply's time when it was used.
    return json.dumps(
        [{"turn": e.turn, "role": e.role, "text": e.text, "start": e.start, "end": e.end,
          "why": e.why} for e in evidence],
        ensure_ascii=False,
    )  # fmt: skip


def _read_evidence(text: str) -> tuple[Evidence, ...]:
    return tuple(Evidence(**e) for e in json.loads(text or "[]"))
