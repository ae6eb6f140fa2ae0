"""A damaged, emptied or replaced ledger is reported clearly and ``doctor`` rebuilds it from the
store (real MiniLM, real Qdrant Edge, real SQLite files)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.core.config import Settings
from app.core.errors import StateError, StoreError
from app.core.models import CallSource, Transcript, Turn
from app.runtime import Runtime
from app.services import calls as calls_service
from app.services import search as search_service
from app.services.doctor import doctor
from retrieval.index.embedding import Embedder


def _sources() -> list[CallSource]:
    return [
        CallSource(
            call_id=f"c{i}",
            kind="text",
            origin=f"c{i}.txt",
            transcript=Transcript(
                [
                    Turn("agent", "Good morning, how can I help?", 0.0, 3.0),
                    Turn("customer", text, 3.0, 9.0),
                ]
            ),
            labels=[label],
            date="2026-10-0" + str(i + 1),
        )
        for i, (text, label) in enumerate(
            [
                ("My card was charged twice for one order.", "billing"),
                ("The courier left my parcel at the wrong house.", "delivery"),
                ("I cannot log in, the password reset never arrives.", "account"),
            ]
        )
    ]


@pytest.fixture
def settings(make_settings: Callable[..., Settings], embedder: Embedder) -> Settings:
    settings = make_settings()
    with Runtime(settings, embedder=embedder) as rt:
        assert {r.status for r in calls_service.ingest_sources(rt, _sources())} == {"indexed"}
    return settings


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "cut":
        path.write_bytes(data[: len(data) // 2])
    elif how == "header":
        path.write_bytes(b"\0" * 100 + data[100:])
    else:
        path.write_bytes(b"")
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize("how", ["cut", "header", "empty"])
def test_a_damaged_ledger_refuses_clearly_and_doctor_rebuilds_it(
    settings: Settings, embedder: Embedder, how: str
) -> None:
    ledger = settings.paths.ledger
    _checkpoint(settings, embedder)
    _damage(ledger, how)
    with Runtime(settings, embedder=embedder) as rt:
        with pytest.raises(StateError, match="callscope doctor"):
            rt.ledger  # noqa: B018 - opening is what refuses
        # Serving: not ready, and the error shape, never a bare 500.
        app = create_app(settings.with_changes(api={"dev_mode": True}), runtime=rt)
        with TestClient(app, raise_server_exceptions=False) as client:
            ready = client.get("/ready")
            assert ready.status_code == 503 and "doctor" in ready.json()["error"]["message"]
            listed = client.get("/api/calls")
            assert listed.status_code == 503
            assert listed.json()["error"]["code"] == "state_damaged"

    checked = doctor(settings, repair=False)
    assert checked.ledger == "damaged" and checked.problems
    report = doctor(settings)
    assert report.ledger == "rebuilt" and report.rebuilt_calls == 3 and report.kept
    assert any(ledger.parent.glob("ledger.sqlite.damaged-*"))
    with Runtime(settings, embedder=embedder) as rt:
        row = rt.ledger.get("c1")
        assert row is not None and row.state == "indexed" and row.labels == ["delivery"]
        assert [t.text for t in row.transcript.turns] == [
            "Good morning, how can I help?",
            "The courier left my parcel at the wrong house.",
        ]
        assert row.transcript.turns[1].start == 3.0
        found = search_service.search(rt, "parcel at the wrong house")
        assert found.passages[0].call_id == "c1"
        # Importing the same calls again leaves one set of points per call.
        before = rt.turns.count()
        calls_service.ingest_sources(rt, _sources())
        assert rt.turns.count() == before and rt.calls.count() == 3
    assert doctor(settings).problems == []


def test_doctor_removes_points_no_call_owns(settings: Settings, embedder: Embedder) -> None:
    with Runtime(settings, embedder=embedder) as rt:
        rt.calls.delete({"call_id": "c2"})
        rt.ledger.delete("c2")
        assert rt.turns.count({"call_id": "c2"}) > 0
    report = doctor(settings)
    assert report.orphan_points > 0 and report.ledger == "ok"
    with Runtime(settings, embedder=embedder) as rt:
        assert rt.turns.count({"call_id": "c2"}) == 0 and rt.turns.count({"call_id": "c1"}) > 0


def _checkpoint(settings: Settings, embedder: Embedder) -> None:
    """Fold the WAL into the main file, so damaging the file damages the data."""
    with Runtime(settings, embedder=embedder) as rt:
        rt.ledger._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # noqa: SLF001


def test_a_damaged_store_is_rebuilt_from_the_ledger(settings: Settings, embedder: Embedder) -> None:
    shard = settings.paths.shards / settings.qdrant.turns_collection
    (shard / "edge_config.json").write_text("garbage")
    for segment in (shard / "segments").iterdir():
        shutil.rmtree(segment)
    with Runtime(settings, embedder=embedder) as rt:
        with pytest.raises(StoreError, match="could not open"):
            rt.turns  # noqa: B018 - a clear one-line error, never a traceback
    assert doctor(settings, repair=False).store == "damaged"
    report = doctor(settings)
    assert report.store == "rebuilt" and any(".damaged-" in k for k in report.kept)
    with Runtime(settings, embedder=embedder) as rt:
        found = search_service.search(rt, "charged twice for one order")
        assert found.passages[0].call_id == "c0"
        assert rt.ledger.get("c0").labels == ["billing"]
    assert doctor(settings).problems == []
