"""Label-quality runs kept over time, so a relabeling round can be shown to have helped.

Each run stores its summary (time, source, data fingerprint, metrics) and, per call, the given
label, score and flag, and the whole issue (given labels, the suggested change, reasons) so a
run's suspects can be reviewed and accepted later without its report files. Comparing two runs
then says how health and per-label F1 moved, which calls were relabeled in between, which
suspects were resolved and which are new.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.core.errors import InputError
from eval.quality.issue import LabelIssue

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  REAL NOT NULL,
    source      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    summary     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_rows (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    call_id     TEXT NOT NULL,
    given_label TEXT NOT NULL,
    score       REAL NOT NULL,
    flagged     INTEGER NOT NULL,
    issue       TEXT,
    PRIMARY KEY (run_id, call_id)
);
"""
#: What of a :class:`LabelIssue` is kept per row (the transcript stays in the ledger).
_KEPT = (
    "row", "given_label", "given_labels", "suggested_label", "add", "remove", "score", "reasons",
    "flagged", "self_confidence", "conflicts", "llm_verdict", "llm_label", "llm_reason",
)  # fmt: skip


class LabelRuns:
    """The run history in one SQLite file (``<state_dir>/label_runs.sqlite``)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(run_rows)")}
        if "issue" not in columns:  # runs stored before the issues were kept whole
            self._db.execute("ALTER TABLE run_rows ADD COLUMN issue TEXT")

    def close(self) -> None:
        self._db.close()

    def record(self, summary: dict[str, Any], issues: Sequence[LabelIssue]) -> int:
        """Store a finished run; returns its id (also written into ``summary["run_id"]``)."""
        self._db.execute("BEGIN")
        try:
            cur = self._db.execute(
                "INSERT INTO runs (started_at, source, fingerprint, summary) VALUES (?, ?, ?, ?)",
                (time.time(), summary.get("source", ""), summary.get("fingerprint", ""), "{}"),
            )
            run_id = int(cur.lastrowid or 0)
            summary["run_id"] = run_id
            self._db.execute(
                "UPDATE runs SET summary = ? WHERE id = ?",
                (json.dumps(summary, ensure_ascii=False), run_id),
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO run_rows "
                "(run_id, call_id, given_label, score, flagged, issue) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (run_id, i.call_id, i.given_label, i.score, int(i.flagged), _issue_json(i))
                    for i in issues
                    if i.scored
                ],
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return run_id

    def list(self) -> list[dict[str, Any]]:
        """Every run, newest first: id, time, source and the headline numbers."""
        out = []
        for run_id, started, source, raw in self._db.execute(
            "SELECT id, started_at, source, summary FROM runs ORDER BY id DESC"
        ):
            s = json.loads(raw)
            out.append(
                {
                    "run_id": run_id,
                    "started_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
                    "source": source,
                    "n": s.get("n"),
                    "n_flagged": s.get("n_flagged"),
                    "health": s.get("health"),
                }
            )
        return out

    def summary(self, run_id: int) -> dict[str, Any]:
        row = self._db.execute("SELECT summary FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            known = ", ".join(str(r["run_id"]) for r in self.list()[:10]) or "none yet"
            raise InputError(f"no label-quality run {run_id} (recent runs: {known})")
        return dict(json.loads(row[0]))

    def issues(self, run_id: int) -> list[LabelIssue] | None:
        """A run's scored rows, most suspect first; None for a run stored before the issues
        were kept (its rows hold only label, score and flag)."""
        self.summary(run_id)  # InputError when there is no such run
        cur = self._db.execute(
            "SELECT call_id, issue FROM run_rows WHERE run_id = ? ORDER BY score DESC, call_id",
            (run_id,),
        )
        rows = cur.fetchall()
        if any(raw is None for _, raw in rows):
            return None
        return [LabelIssue(call_id=call_id, **json.loads(raw)) for call_id, raw in rows]

    def compare(self, a: int, b: int) -> dict[str, Any]:
        """What changed from run ``a`` to run ``b``."""
        sa, sb = self.summary(a), self.summary(b)
        rows_a, rows_b = self._rows(a), self._rows(b)
        per_label = {}
        for label in sorted(set(sa.get("per_label", {})) | set(sb.get("per_label", {}))):
            la = sa.get("per_label", {}).get(label, {})
            lb = sb.get("per_label", {}).get(label, {})
            per_label[label] = {
                "f1_a": la.get("f1"),
                "f1_b": lb.get("f1"),
                "delta_f1": _delta(la.get("f1"), lb.get("f1")),
                "flagged_a": la.get("n_flagged"),
                "flagged_b": lb.get("n_flagged"),
            }
        common = rows_a.keys() & rows_b.keys()
        return {
            "a": a,
            "b": b,
            "same_data": sa.get("fingerprint") == sb.get("fingerprint"),
            **{
                key: {"a": sa.get(key), "b": sb.get(key), "delta": _delta(sa.get(key), sb.get(key))}
                for key in ("health", "n_flagged", "n", "macro_f1")
            },
            "per_label": per_label,
            "relabeled": [
                {"id": cid, "from": ";".join(rows_a[cid][0]), "to": ";".join(rows_b[cid][0])}
                for cid in sorted(common)
                if _relabeled(rows_a[cid], rows_b[cid])
            ],
            "resolved": sorted(cid for cid in common if rows_a[cid][1] and not rows_b[cid][1]),
            "new_flags": sorted(cid for cid in common if rows_b[cid][1] and not rows_a[cid][1]),
            "only_in_a": len(rows_a.keys() - rows_b.keys()),
            "only_in_b": len(rows_b.keys() - rows_a.keys()),
        }

    def _rows(self, run_id: int) -> dict[str, tuple[list[str], bool, bool]]:
        """{call id: (its labels, flagged, whether the run kept every label)}: a run stored
        before the issues were kept knows only the primary label."""
        cur = self._db.execute(
            "SELECT call_id, given_label, flagged, issue FROM run_rows WHERE run_id = ?",
            (run_id,),
        )
        rows = {}
        for call_id, label, flagged, raw in cur:
            labels = json.loads(raw).get("given_labels") if raw else None
            rows[call_id] = (labels or [label], bool(flagged), bool(labels))
        return rows


def _relabeled(a: tuple[list[str], bool, bool], b: tuple[list[str], bool, bool]) -> bool:
    """The call's labels differ between two runs' rows (on the primary label alone when one
    run did not keep every label)."""
    if a[2] and b[2]:
        return set(a[0]) != set(b[0])
    return a[0][0] != b[0][0]


def _issue_json(issue: LabelIssue) -> str:
    return json.dumps({k: getattr(issue, k) for k in _KEPT}, ensure_ascii=False)


def _delta(a: Any, b: Any) -> float | None:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return round(b - a, 4)
    return None
