"""The index: the store of CallScope: one interface, an embedded and a server backend.

``EdgeStore`` (qdrant-edge-py, in-process, default) and ``ServerStore`` (qdrant-client,
a Qdrant server) implement ``VectorStore``; ``Bm25Encoder`` computes the sparse vectors
both use. Only ``app.core.errors`` exceptions leave this package.
"""

from __future__ import annotations

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

__all__ = [
    "DENSE",
    "INDEXED_FIELDS",
    "SPARSE",
    "Bm25Encoder",
    "CollectionInfo",
    "EdgeStore",
    "Hit",
    "ServerStore",
    "SparseVec",
    "StoredPoint",
    "VectorStore",
    "normalize_filter",
    "point_id",
]
