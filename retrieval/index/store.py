"""The vector-store interface of CallScope and the plain data it speaks.

Nothing here imports a Qdrant package: ``EdgeStore`` (embedded, qdrant-edge-py) and
``ServerStore`` (qdrant-client) translate these types into their engine's own, so the
rest of the code base (ingest, query, eval) never sees a library type or exception.

The backend-neutral filter spec is described in ``retrieval.index.filters``.
"""

from __future__ import annotations

import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np

from app.core.errors import (
    CollectionMismatchError,
    ConfigError,
    InputError,
    StaleIndexError,
    StoreError,
)
from retrieval.index.filters import (
    DATETIME,
    INDEXED_FIELDS,
    KEYWORD,
    Condition,
    DateRange,
    MatchAny,
    MatchValue,
    normalize_filter,
)

__all__ = [
    "DATETIME",
    "DENSE",
    "INDEXED_FIELDS",
    "KEYWORD",
    "POINT_NAMESPACE",
    "SPARSE",
    "CollectionInfo",
    "Condition",
    "DateRange",
    "Hit",
    "MatchAny",
    "MatchValue",
    "SparseVec",
    "StoredPoint",
    "VectorStore",
    "check_match",
    "make_info",
    "normalize_filter",
    "point_id",
]

DENSE = "dense"
SPARSE = "bm25"
#: The turn index's context vectors (``ingest/turns.py``): the mean of the dense vectors of the
#: turns around a turn, BM25 of the previous turn with this one, BM25 of the turns around it.
DENSE_CONTEXT = "dense_ctx"
SPARSE_PREVIOUS = "bm25_prev"
SPARSE_CONTEXT = "bm25_ctx"
#: Every collection has these named vectors; a point may leave the extra ones out.
DENSE_NAMES = (DENSE, DENSE_CONTEXT)
SPARSE_NAMES = (SPARSE, SPARSE_PREVIOUS, SPARSE_CONTEXT)

# Fixed namespace of CallScope point ids: never change it, or every re-ingest duplicates.
#: Points fetched per engine call while scrolling.
SCROLL_PAGE = 512

POINT_NAMESPACE = uuid.UUID("5d0c6f8e-3b7a-4c1e-9a52-7f1e2c9b8a34")


@dataclass(frozen=True)
class SparseVec:
    """A sparse vector: parallel lists of dimension indices and weights."""

    indices: list[int]
    values: list[float]

    def __post_init__(self) -> None:
        if len(self.indices) != len(self.values):
            raise InputError(
                f"sparse vector has {len(self.indices)} indices but {len(self.values)} values"
            )

    @property
    def is_empty(self) -> bool:
        """True when the vector has no non-zero dimension (e.g. text of stopwords only)."""
        return not self.indices


#: What the points of a collection are. 1: chunks of ~200 tokens (CallScope before the turn
#: index). 2: one point per turn (dense of the turn in its context, BM25 of the turn) and call
#: points whose vector is built from the turn vectors. Bump it whenever stored vectors or
#: payloads change meaning: an older collection then refuses to open and says how to re-index.
INDEX_SCHEMA = 2


@dataclass(frozen=True)
class CollectionInfo:
    """What a collection was built with; compared on every open."""

    name: str
    model_id: str
    dim: int
    sparse_model: str
    #: :data:`INDEX_SCHEMA` of the CallScope that built it (collections from before it: 1).
    schema: int = 1


@dataclass
class StoredPoint:
    """One chunk as stored: id, vectors and payload.

    ``dense`` (and ``sparse``) are ``None`` in records from ``scroll(with_vectors=False)``.
    """

    id: str
    dense: Sequence[float] | np.ndarray | None
    sparse: SparseVec | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    #: Other named vectors (:data:`DENSE_CONTEXT`, :data:`SPARSE_PREVIOUS`, ...): written, not
    #: read back by ``scroll``.
    more: dict[str, Any] = field(default_factory=dict)


@dataclass
class Hit:
    """One query result."""

    id: str
    score: float
    payload: dict[str, Any]


# ---------------------------------------------------------------------------- ids


def point_id(call_id: str, chunk_index: int, content_hash: str) -> str:
    """Deterministic id of a chunk, so re-ingesting the same chunk overwrites it.

    The content hash is part of the id: a chunk whose text changed gets a new id, so a
    re-ingest of a changed call must ``delete({"call_id": ...})`` first.
    """
    if not isinstance(call_id, str) or not call_id:
        raise InputError(f"call_id must be a non-empty string, got {call_id!r}")
    if not isinstance(chunk_index, int) or isinstance(chunk_index, bool) or chunk_index < 0:
        raise InputError(f"chunk_index must be a non-negative integer, got {chunk_index!r}")
    return str(uuid.uuid5(POINT_NAMESPACE, f"{call_id}:{chunk_index}:{content_hash}"))


# ---------------------------------------------------------------------------- collections


def make_info(
    name: str, model_id: str, dim: int, sparse_model: str, schema: int = INDEX_SCHEMA
) -> CollectionInfo:
    """Validated ``CollectionInfo`` from settings (``ConfigError`` on unusable values)."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"collection name must be a non-empty string, got {name!r}")
    if not isinstance(model_id, str) or not model_id.strip():
        raise ConfigError(f"model_id must be a non-empty string, got {model_id!r}")
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ConfigError(f"dim must be a positive integer, got {dim!r}")
    if not isinstance(sparse_model, str) or not sparse_model.strip():
        raise ConfigError(f"sparse_model must be a non-empty string, got {sparse_model!r}")
    return CollectionInfo(
        name=name, model_id=model_id, dim=dim, sparse_model=sparse_model, schema=schema
    )


def indexed_fields(keyword_fields: Sequence[str] = ()) -> dict[str, str]:
    """The payload indexes of a collection: the fixed ones and the call metadata fields
    declared in settings (``ingest.metadata_fields``, keyword indexes)."""
    return {**INDEXED_FIELDS, **{f: KEYWORD for f in keyword_fields if f not in INDEXED_FIELDS}}


def check_match(stored: CollectionInfo, wanted: CollectionInfo, where: str) -> None:
    """Raise ``CollectionMismatchError`` when ``stored`` was built differently from ``wanted``."""
    if (stored.model_id, stored.dim) != (wanted.model_id, wanted.dim):
        raise CollectionMismatchError(
            f"collection {wanted.name!r} ({where}) was built with embedding model "
            f"{stored.model_id!r} ({stored.dim}-d) but the settings use {wanted.model_id!r} "
            f"({wanted.dim}-d): choose a new collection name or re-index (drop it and ingest again)"
        )
    if stored.schema != wanted.schema:
        newer = stored.schema > wanted.schema
        raise StaleIndexError(
            f"collection {wanted.name!r} ({where}) was built by "
            + (
                f"a newer CallScope (index schema {stored.schema}); upgrade CallScope"
                if newer
                else f"an older CallScope (index schema {stored.schema}, this one reads "
                f"{wanted.schema}): run `callscope reindex` (it re-uses the transcripts in the "
                "ledger: nothing is transcribed again)"
            )
        )
    if stored.sparse_model != wanted.sparse_model:
        # Token ids differ between BM25 configurations: old and new vectors cannot be mixed.
        raise CollectionMismatchError(
            f"collection {wanted.name!r} ({where}) was built with sparse model "
            f"{stored.sparse_model!r} but the settings use {wanted.sparse_model!r}: "
            "choose a new collection name or re-index (drop it and ingest again)"
        )


# ---------------------------------------------------------------------------- interface


class VectorStore(ABC):
    #: Call metadata fields (``ingest.metadata_fields``) with a keyword payload index.
    keyword_fields: tuple[str, ...] = ()

    """One collection of call chunks with a dense and a BM25 sparse vector per point.

    Public methods validate their arguments here (raising ``InputError``) and hand
    clean values to the backend's ``_``-methods; backends raise ``StoreError``.
    """

    info: CollectionInfo
    _closed: bool = False
    #: Writes made through this object. Readers that keep something derived from the
    #: collection (the classifier's light model) check it again only when this changed.
    writes: int = 0
    #: True when other processes may write the same collection (a Qdrant server): then
    #: ``writes`` does not see every change and such readers also re-check now and then.
    shared: bool = False

    # -- writes
    def upsert(self, points: Sequence[StoredPoint]) -> None:
        """Insert or overwrite points (same id = same point); durable when it returns."""
        self._check_open()
        if not points:
            return
        clean = [self._clean_point(p) for p in points]
        self._upsert(clean)
        self.writes += 1

    def delete(self, filter: Mapping[str, Any]) -> None:
        """Delete every point matching ``filter``; an empty filter is refused."""
        self._check_open()
        conditions = normalize_filter(filter)
        if not conditions:
            raise InputError("refusing to delete with an empty filter (it would delete everything)")
        self._delete(conditions)
        self.writes += 1

    def set_payload(self, filter: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        """Set (merge) payload keys on every point matching ``filter`` (must not be empty)."""
        self._check_open()
        conditions = normalize_filter(filter)
        if not conditions:
            raise InputError(
                "refusing to set payload with an empty filter (it would touch every point)"
            )
        if not isinstance(payload, Mapping) or not payload:
            raise InputError("set_payload needs a non-empty dict of payload keys")
        self._set_payload(conditions, dict(payload))
        self.writes += 1

    # -- reads
    def count(self, filter: Mapping[str, Any] | None = None) -> int:
        """Exact number of points matching ``filter`` (all points without one)."""
        self._check_open()
        return self._count(normalize_filter(filter))

    def query(
        self,
        *,
        dense: Sequence[float] | np.ndarray | None = None,
        sparse: SparseVec | None = None,
        filter: Mapping[str, Any] | None = None,
        limit: int = 10,
        prefetch_limit: int = 100,
        rrf_k: int = 60,
    ) -> list[Hit]:
        """Nearest points by dense, sparse, or both fused with RRF(k=rrf_k).

        Dense only searches ``DENSE`` (cosine scores), sparse only searches ``SPARSE``
        (BM25 scores, IDF applied by the engine); both run two prefetches of
        ``prefetch_limit`` candidates and fuse them. An empty sparse vector (a query of
        stopwords only) adds no candidates: alone it returns ``[]``; with a dense vector
        the scores stay RRF scores, so callers always get one scale per query kind.
        """
        self._check_open()
        if dense is None and sparse is None:
            raise InputError("query needs a dense vector, a sparse vector, or both")
        for name, value in (("limit", limit), ("prefetch_limit", prefetch_limit), ("rrf_k", rrf_k)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        vec = None if dense is None else self._clean_dense(dense)
        if sparse is not None and not isinstance(sparse, SparseVec):
            raise InputError(f"sparse must be a SparseVec, got {type(sparse).__name__}")
        if sparse is not None and sparse.is_empty and vec is None:
            return []
        searches: list[tuple[str, Any]] = []
        if vec is not None:
            searches.append((DENSE, vec))
        if sparse is not None:
            searches.append((SPARSE, sparse))
        return self._fused(searches, filter, limit, prefetch_limit, rrf_k, keep_rrf=True)

    def query_fused(
        self,
        searches: Sequence[tuple[str, Any]],
        *,
        filter: Mapping[str, Any] | None = None,
        limit: int = 10,
        prefetch_limit: int = 100,
        rrf_k: int = 60,
    ) -> list[Hit]:
        """Nearest points by several named vectors at once (``(name, dense vector or
        SparseVec)``), fused with RRF(k=rrf_k) in the engine; one search alone gives its raw
        scores. Empty sparse vectors add no candidates."""
        self._check_open()
        for name, value in (("limit", limit), ("prefetch_limit", prefetch_limit), ("rrf_k", rrf_k)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        clean: list[tuple[str, Any]] = []
        for name, vector in searches:
            if name in DENSE_NAMES:
                clean.append((name, self._clean_dense(vector)))
            elif name in SPARSE_NAMES:
                if not isinstance(vector, SparseVec):
                    raise InputError(f"{name} needs a SparseVec, got {type(vector).__name__}")
                clean.append((name, vector))
            else:
                raise InputError(f"no vector named {name!r}")
        if not clean:
            raise InputError("query needs at least one vector")
        return self._fused(clean, filter, limit, prefetch_limit, rrf_k, keep_rrf=False)

    def _fused(
        self,
        searches: list[tuple[str, Any]],
        filter: Mapping[str, Any] | None,
        limit: int,
        prefetch_limit: int,
        rrf_k: int,
        *,
        keep_rrf: bool,
    ) -> list[Hit]:
        """``keep_rrf``: a dense + empty-sparse query still returns RRF-scaled scores, so a
        caller of :meth:`query` always gets one scale per query kind."""
        live = [(n, v) for n, v in searches if not (isinstance(v, SparseVec) and v.is_empty)]
        if not live:
            return []
        fuse = len(live) > 1 or (keep_rrf and len(searches) > 1)
        return self._query_fused(
            live, normalize_filter(filter), limit, max(prefetch_limit, limit), rrf_k, fuse
        )

    def scroll(
        self,
        filter: Mapping[str, Any] | None = None,
        limit: int | None = None,
        with_vectors: bool = False,
    ) -> Iterator[StoredPoint]:
        """Iterate over matching points (at most ``limit``), paging internally, by id order."""
        self._check_open()
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise InputError(f"limit must be a non-negative integer or None, got {limit!r}")
        conditions = normalize_filter(filter)
        return self._scroll(conditions, limit, with_vectors)

    # -- lifecycle
    def close(self) -> None:
        """Release the collection; further calls raise ``StoreError``. Idempotent."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- backend hooks (arguments already validated). In _query, fuse with RRF exactly when
    # both dense and sparse are given; an empty sparse vector then adds no prefetch.
    @abstractmethod
    def _upsert(self, points: list[StoredPoint]) -> None: ...

    @abstractmethod
    def _delete(self, conditions: list[Condition]) -> None: ...

    @abstractmethod
    def _set_payload(self, conditions: list[Condition], payload: dict[str, Any]) -> None: ...

    @abstractmethod
    def _count(self, conditions: list[Condition]) -> int: ...

    @abstractmethod
    def _query_fused(
        self,
        searches: list[tuple[str, Any]],
        conditions: list[Condition],
        limit: int,
        prefetch_limit: int,
        rrf_k: int,
        fuse: bool,
    ) -> list[Hit]:
        """One nearest search (``fuse`` False: raw scores) or RRF over one prefetch per named
        vector, each with the filter (a filter applied only after fusion could leave fewer than
        ``limit`` results)."""

    def _scroll(
        self, conditions: list[Condition], limit: int | None, with_vectors: bool
    ) -> Iterator[StoredPoint]:
        offset: Any = None
        remaining = limit
        while remaining is None or remaining > 0:
            page = SCROLL_PAGE if remaining is None else min(SCROLL_PAGE, remaining)
            records, offset = self._scroll_page(conditions, offset, page, with_vectors)
            yield from records
            if remaining is not None:
                remaining -= len(records)
            if offset is None or not records:
                return

    @abstractmethod
    def _scroll_page(
        self, conditions: list[Condition], offset: Any, limit: int, with_vectors: bool
    ) -> tuple[list[StoredPoint], Any]:
        """One page of points from ``offset`` and the offset of the next page (None at the end)."""

    @abstractmethod
    def _close(self) -> None: ...

    # -- helpers
    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"collection {self.info.name!r} is closed")

    def _clean_dense(self, dense: Sequence[float] | np.ndarray) -> list[float]:
        try:
            arr = np.asarray(dense, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InputError(f"dense vector is not numeric: {exc}") from exc
        if arr.ndim != 1 or arr.shape[0] != self.info.dim:
            raise InputError(
                f"dense vector has shape {arr.shape} but collection {self.info.name!r} "
                f"expects {self.info.dim} dimensions"
            )
        if not np.isfinite(arr).all():
            raise InputError("dense vector contains NaN or infinity")
        if not float(np.abs(arr).sum()) > 0.0:
            # Cosine of a zero vector is undefined: the engines would score it arbitrarily.
            raise InputError("dense vector is all zeros")
        return arr.tolist()

    def _clean_point(self, point: StoredPoint) -> StoredPoint:
        if not isinstance(point, StoredPoint):
            raise InputError(f"upsert takes StoredPoint objects, got {type(point).__name__}")
        try:
            pid = str(uuid.UUID(str(point.id)))
        except ValueError as exc:
            raise InputError(f"point id {point.id!r} is not a UUID (use point_id())") from exc
        if point.dense is None:
            raise InputError(f"point {pid} has no dense vector")
        sparse = point.sparse
        if sparse is not None and not isinstance(sparse, SparseVec):
            raise InputError(f"point {pid}: sparse must be a SparseVec")
        if sparse is not None and any(not math.isfinite(v) for v in sparse.values):
            raise InputError(f"point {pid}: sparse vector contains NaN or infinity")
        if not isinstance(point.payload, Mapping):
            raise InputError(f"point {pid}: payload must be a dict")
        more: dict[str, Any] = {}
        for name, vector in point.more.items():
            if name in DENSE_NAMES:
                more[name] = self._clean_dense(vector)
            elif name in SPARSE_NAMES and isinstance(vector, SparseVec):
                if not vector.is_empty:
                    more[name] = vector
            else:
                raise InputError(f"point {pid}: no vector named {name!r}")
        return StoredPoint(
            id=pid,
            dense=self._clean_dense(point.dense),
            sparse=sparse,
            payload=dict(point.payload),
            more=more,
        )
