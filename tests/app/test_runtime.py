"""The Runtime opens the index under its names: collections named before they were named after
the index (``calls`` and ``calls_calls``) are adopted with their calls, nothing re-ingested."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from qdrant_client import QdrantClient
from qdrant_client.models import Distance, VectorParams

from app.core.config import Settings
from app.runtime import Runtime
from app.services import search as search_service
from retrieval.index.edge_store import meta_path
from retrieval.index.factory import _server_name
from tests.textcalls import text_sources

CALLS = {
    "roam-1": (
        ["roaming"],
        "2026-11-02",
        [("agent", "Hello"), ("customer", "Roaming in Turkey cost me a fortune")],
    ),
    "bill-1": (
        ["billing"],
        "2026-11-03",
        [("agent", "Hi"), ("customer", "My invoice is wrong this month")],
    ),
}


def _make_old_state(settings: Settings, embedder: object) -> None:
    """An index as an earlier CallScope left it: turn collection ``calls``, call collection
    ``calls_calls``, ledger rows naming ``calls``."""
    with Runtime(settings, embedder=embedder) as rt:  # type: ignore[arg-type]
        assert {r.status for r in rt.pipeline().run(text_sources(CALLS))} == {"indexed"}
    shards, q = settings.paths.shards, settings.qdrant
    for new, old in zip(
        (q.turns_collection, q.calls_collection), q.legacy_collections, strict=True
    ):
        (shards / new).rename(shards / old)
        meta = json.loads(meta_path(shards / new).read_text(encoding="utf-8"))
        meta_path(shards / old).write_text(json.dumps({**meta, "name": old}), encoding="utf-8")
        meta_path(shards / new).unlink()
    with sqlite3.connect(settings.paths.ledger) as db:
        db.execute("UPDATE calls SET collection = 'calls'")


def _collections(settings: Settings) -> set[str]:
    return {p.name for p in settings.paths.shards.iterdir()}


def test_an_old_index_is_adopted_under_the_new_names_with_its_calls(
    make_settings: Callable[..., Settings], embedder: object
) -> None:
    settings = make_settings()
    _make_old_state(settings, embedder)
    assert {"calls", "calls_calls"} <= _collections(settings)

    with Runtime(settings, embedder=embedder) as rt:  # type: ignore[arg-type]
        assert {r.status for r in rt.pipeline().run(text_sources(CALLS))} == {"unchanged"}
        assert rt.turns.info.name == "callscope_turns" and rt.calls.count() == 2
        found = search_service.search(rt, "roaming charges abroad", k=1).passages
        assert found[0].call_id == "roam-1"
    assert _collections(settings) == {
        "callscope_turns",
        "callscope_turns.meta.json",
        "callscope_calls",
        "callscope_calls.meta.json",
    }
    meta = json.loads(meta_path(settings.paths.shards / "callscope_calls").read_text("utf-8"))
    assert meta["name"] == "callscope_calls"


def test_ledger_rows_follow_a_rename_a_crash_left_half_done(
    make_settings: Callable[..., Settings], embedder: object
) -> None:
    settings = make_settings()
    with Runtime(settings, embedder=embedder) as rt:  # type: ignore[arg-type]
        rt.pipeline().run(text_sources(CALLS))
    with sqlite3.connect(settings.paths.ledger) as db:  # the folders renamed, the rows not yet
        db.execute("UPDATE calls SET collection = 'calls'")
    with Runtime(settings, embedder=embedder) as rt:  # type: ignore[arg-type]
        assert {r.status for r in rt.pipeline().run(text_sources(CALLS))} == {"unchanged"}


def test_on_a_server_the_old_names_are_used_as_they_are(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(qdrant={"url": "http://qdrant.invalid:6333"})
    client = QdrantClient(location=":memory:")
    assert _server_name(client, settings, "callscope_turns") == "callscope_turns"  # nothing there
    client.create_collection("calls", vectors_config=VectorParams(size=4, distance=Distance.COSINE))
    assert _server_name(client, settings, "callscope_turns") == "calls"
    assert _server_name(client, settings, "callscope_calls") == "callscope_calls"  # not there
    client.create_collection(
        "callscope_turns", vectors_config=VectorParams(size=4, distance=Distance.COSINE)
    )
    assert _server_name(client, settings, "callscope_turns") == "callscope_turns"  # new wins
    assert _server_name(client, settings, "other") == "other"
