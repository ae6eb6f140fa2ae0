"""Opens a collection on the configured engine: the embedded Qdrant Edge shard by default, a
Qdrant server (or cluster) when ``qdrant.url`` is set. Callers get a :class:`VectorStore` and never
know which."""

from __future__ import annotations

import os
from typing import Any

from app.core.config import Settings
from app.core.errors import StoreError
from retrieval.index.embedding import Embedder
from retrieval.index.sparse import Bm25Encoder
from retrieval.index.store import VectorStore


def calls_collection(name: str) -> str:
    return f"{name}_calls"


def open_store(
    settings: Settings,
    embedder: Embedder,
    sparse: Bm25Encoder,
    *,
    collection: str | None = None,
    any_schema: bool = False,
) -> VectorStore:
    """The embedded Qdrant Edge shard, or a Qdrant server collection when ``qdrant.url`` is set.
    ``any_schema`` opens a collection built by another CallScope version (to re-index it)."""
    name = collection or settings.qdrant.collection
    meta: dict[str, Any] = {
        "name": name,
        "model_id": embedder.model_id,
        "dim": embedder.dim,
        "sparse_model": sparse.model_id,
        "keyword_fields": tuple(settings.ingest.metadata_fields),
        "any_schema": any_schema,
    }
    if settings.qdrant.url:
        from qdrant_client import QdrantClient

        from retrieval.index.server_store import ServerStore

        api_key = settings.qdrant.api_key.get_secret_value() if settings.qdrant.api_key else None
        try:
            client = QdrantClient(
                url=settings.qdrant.url, api_key=api_key, timeout=int(settings.qdrant.timeout)
            )
        except Exception as exc:  # bad URL shapes raise ValueError and friends
            raise StoreError(f"cannot reach Qdrant at {settings.qdrant.url}: {exc}") from exc
        q = settings.qdrant
        return ServerStore.open(
            client,
            owns_client=True,
            shard_number=q.shard_number,
            replication_factor=q.replication_factor,
            write_consistency_factor=q.write_consistency_factor,
            **meta,
        )

    from retrieval.index.edge_store import EdgeStore

    os.makedirs(settings.paths.shards, exist_ok=True)
    return EdgeStore.open(settings.paths.shards / name, **meta)


def set_aside(settings: Settings, collection: str) -> list[str]:
    """Rename an embedded collection that cannot be opened (its folder and metadata file) to
    ``<name>.damaged-<time>``, so a fresh one can be built in its place; nothing is deleted.
    Returns the new names (none for a Qdrant server, whose collections are its own to repair)."""
    import time

    from retrieval.index.edge_store import meta_path

    if settings.qdrant.url:
        return []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = settings.paths.shards / collection
    kept = []
    for part in (path, meta_path(path)):
        if part.exists():
            target = part.with_name(f"{part.name}.damaged-{stamp}")
            part.rename(target)
            kept.append(target.name)
    return kept
