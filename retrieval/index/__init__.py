"""The index: the store of CallScope: one interface, an embedded and a server backend.

``EdgeStore`` (qdrant-edge-py, in-process, default) and ``ServerStore`` (qdrant-client,
a Qdrant server) implement ``VectorStore``; ``Bm25Encoder`` computes the sparse vectors
both use. Only ``app.core.errors`` exceptions leave this package.

The names below are loaded on first use (PEP 562): importing a submodule such as
``retrieval.index.filters`` must not drag in qdrant-client, which only a server store needs
and which costs seconds to import.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as type checkers see them (loaded lazily below)
    from retrieval.index.edge_store import EdgeStore
    from retrieval.index.server_store import ServerStore
    from retrieval.index.sparse import Bm25Encoder
    from retrieval.index.store import (
        DENSE,
        INDEXED_FIELDS,
        SPARSE,
        CollectionInfo,
        Hit,
        SparseVec,
        StoredPoint,
        VectorStore,
        normalize_filter,
        point_id,
    )

_HOMES = {
    "EdgeStore": "edge_store",
    "ServerStore": "server_store",
    "Bm25Encoder": "sparse",
    **dict.fromkeys(
        (
            "DENSE",
            "INDEXED_FIELDS",
            "SPARSE",
            "CollectionInfo",
            "Hit",
            "SparseVec",
            "StoredPoint",
            "VectorStore",
            "normalize_filter",
            "point_id",
        ),
        "store",
    ),
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
