"""The ledger opens files an older CallScope wrote, renaming what was renamed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ingest.ledger import Ledger


def test_a_ledger_from_when_turn_points_were_chunks_keeps_its_counts(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE calls (call_id TEXT PRIMARY KEY, collection TEXT NOT NULL, kind TEXT NOT "
        "NULL, origin TEXT NOT NULL, content_hash TEXT NOT NULL, state TEXT NOT NULL, error TEXT,"
        " warnings TEXT, labels TEXT NOT NULL DEFAULT '[]', n_chunks INTEGER NOT NULL DEFAULT 0,"
        " duration REAL, language TEXT, transcript TEXT, updated_at REAL NOT NULL)"
    )
    db.execute(
        "INSERT INTO calls (call_id, collection, kind, origin, content_hash, state, labels, "
        "n_chunks, updated_at) VALUES ('c1', 'calls', 'transcript', 'c1.txt', 'h', 'indexed', "
        "'[\"refund\"]', 7, 0)"
    )
    db.commit()
    db.close()
    ledger = Ledger(path)
    row = ledger.get("c1")
    assert row is not None and row.n_turn_points == 7 and row.labels == ["refund"]
    ledger.close()
    assert Ledger(path).get("c1").n_turn_points == 7  # type: ignore[union-attr]


def test_many_rows_are_read_in_pages_and_missing_ids_are_left_out(
    tmp_path: Path, monkeypatch
) -> None:
    import ingest.ledger

    monkeypatch.setattr(ingest.ledger, "_IDS_PER_QUERY", 3)  # pages on 7 calls
    ledger = Ledger(tmp_path / "ledger.sqlite")
    for n in range(7):
        ledger.upsert(f"c{n}", collection="calls", kind="text", origin=f"c{n}.txt",
                      content_hash="h", state="indexed", labels=[f"l{n}"])  # fmt: skip
    rows = ledger.get_many(["c6", "nope", "c0", "c3", "c3", "c1", "c2", "c4", "c5"])
    assert sorted(rows) == [f"c{n}" for n in range(7)]
    assert rows["c6"].labels == ["l6"] and rows["c6"] == ledger.get("c6")
    assert ledger.get_many([]) == {}
