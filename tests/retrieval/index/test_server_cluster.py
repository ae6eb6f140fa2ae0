"""Cluster settings reach the collection a Qdrant server creates (qdrant-client local mode as
the server stand-in; it accepts and ignores them, so this checks the wiring only)."""

from __future__ import annotations

from typing import Any

from qdrant_client import QdrantClient

from retrieval.index.server_store import ServerStore


def test_shards_and_replicas_are_passed_when_the_collection_is_created() -> None:
    client = QdrantClient(":memory:")
    seen: dict[str, Any] = {}
    create = client.create_collection

    def spy(name: str, **kwargs: Any) -> bool:
        seen.update(kwargs)
        return create(name, **kwargs)

    client.create_collection = spy  # type: ignore[method-assign]
    store = ServerStore.open(
        client,
        name="calls",
        model_id="m",
        dim=4,
        sparse_model="s",
        shard_number=6,
        replication_factor=2,
        write_consistency_factor=2,
    )
    store.close()
    assert (seen["shard_number"], seen["replication_factor"]) == (6, 2)
    assert seen["write_consistency_factor"] == 2
