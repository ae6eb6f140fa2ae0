"""Label-quality runs kept over time, so a relabeling round can be shown to have helped.

Each run stores its summary (time, source, data fingerprint, metrics) and, per call, the given
label, score and flag. Comparing two runs then says how health and per-label F1 moved, which
calls were relabeled in between, which suspects were resolved and which are new.
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
    PRIMARY KEY (run_id, call_id)
);
"""


class LabelRuns:
    """The run history in one SQLite file (``<state_dir>/label_runs.sqlite``)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

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
                "INSERT OR REPLACE INTO run_rows VALUES (?, ?, ?, ?, ?)",
                [
                    (run_id, i.call_id, i.given_label, i.score, int(i.flagged))
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
                {"id": cid, "from": rows_a[cid][0], "to": rows_b[cid][0]}
                for cid in sorted(common)
                if rows_a[cid][0] != rows_b[cid][0]
            ],
            "resolved": sorted(cid for cid in common if rows_a[cid][1] and not rows_b[cid][1]),
            "new_flags": sorted(cid for cid in common if rows_b[cid][1] and not rows_a[cid][1]),
            "only_in_a": len(rows_a.keys() - rows_b.keys()),
            "only_in_b": len(rows_b.keys() - rows_a.keys()),
        }

    def _rows(self, run_id: int) -> dict[str, tuple[str, bool]]:
        cur = self._db.execute(
            "SELECT call_id, given_label, flagged FROM run_rows WHERE run_id = ?", (run_id,)
        )
        return {cid: (label, bool(flag)) for cid, label, flag in cur}


def _delta(a: Any, b: Any) -> float | None:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return round(b - a, 4)
    return None
