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


def open_store(
    settings: Settings,
    embedder: Embedder,
    sparse: Bm25Encoder,
    *,
    collection: str | None = None,
    as_built: bool = False,
) -> VectorStore:
    """The embedded Qdrant Edge shard, or a Qdrant server collection when ``qdrant.url`` is set:
    ``collection`` (the index's turn collection by default). ``as_built`` opens a collection
    as it was built, by another CallScope version or with another embedding or BM25 model (to
    read what it holds and re-index it)."""
    name = collection or settings.qdrant.turns_collection
    meta: dict[str, Any] = {
        "name": name,
        "model_id": embedder.model_id,
        "dim": embedder.dim,
        "sparse_model": sparse.model_id,
        "keyword_fields": tuple(settings.ingest.metadata_fields),
        "as_built": as_built,
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
        meta["name"] = _server_name(client, settings, name)
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


def _server_name(client: Any, settings: Settings, name: str) -> str:
    """``name``, or the collection's name before collections were named after the index when
    only that one exists on the server: a server's collections are its own, never renamed here
    (its ledger rows name the collection they are in, so they stay consistent)."""
    q = settings.qdrant
    legacy = dict(zip((q.turns_collection, q.calls_collection), q.legacy_collections, strict=True))
    if name not in legacy:
        return name
    try:
        if not client.collection_exists(name) and client.collection_exists(legacy[name]):
            return legacy[name]
    except Exception:  # unreachable or refused: opening it below says which, in its words
        return name
    return name


def adopt_legacy(settings: Settings) -> tuple[str, str] | None:
    """Rename an embedded index's collections from the names they had before they were named
    after the index (``calls`` and ``calls_calls`` by default) to ``<index>_turns`` and
    ``<index>_calls``, folder and metadata file each, unless a collection of the new name is
    there already. Returns the turn collection's ``(old, new)`` names, for the caller to rename
    the ledger rows that name the old one (every time: a crash may have come between); None on
    a Qdrant server, whose collections are its own (see ``_server_name``)."""
    import json

    from retrieval.index.edge_store import meta_path

    q = settings.qdrant
    if q.url:
        return None
    shards = settings.paths.shards
    pairs = [
        (old, new)
        for old, new in zip(
            q.legacy_collections, (q.turns_collection, q.calls_collection), strict=True
        )
        if old != new
    ]
    if (shards / pairs[0][0]).is_dir() and not any((shards / new).exists() for _, new in pairs):
        for old, new in pairs:
            old_meta, new_meta = meta_path(shards / old), meta_path(shards / new)
            if old_meta.is_file():  # the metadata first: a folder is never without its own
                data = json.loads(old_meta.read_text(encoding="utf-8"))
                new_meta.write_text(json.dumps({**data, "name": new}, indent=2), encoding="utf-8")
            if (shards / old).is_dir():
                (shards / old).rename(shards / new)
            old_meta.unlink(missing_ok=True)
    return q.legacy_collections[0], q.turns_collection


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
