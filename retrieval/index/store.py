"""The vector-store interface of CallScope (the plain data it speaks: ``retrieval.index.points``).

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
from types import TracebackType
from typing import Any

import numpy as np

from app.core.errors import InputError, StoreError
from retrieval.index.filters import (
    DATETIME,
    FLOAT,
    INDEXED_FIELDS,
    KEYWORD,
    AnyOf,
    Condition,
    DateRange,
    IsEmpty,
    MatchAny,
    MatchExcept,
    MatchValue,
    NumberRange,
    normalize_filter,
)
from retrieval.index.points import (
    DENSE,
    DENSE_CONTEXT,
    DENSE_NAMES,
    DENSE_PREVIOUS,
    INDEX_SCHEMA,
    POINT_NAMESPACE,
    SPARSE,
    SPARSE_CONTEXT,
    SPARSE_NAMES,
    SPARSE_OPENING,
    SPARSE_PREVIOUS,
    CollectionInfo,
    Hit,
    SparseVec,
    StoredPoint,
    check_match,
    indexed_fields,
    make_info,
    point_id,
)

# The points' types live in retrieval.index.points; they are re-exported for the backends.
__all__ = [
    "AnyOf",
    "CollectionInfo",
    "Condition",
    "DATETIME",
    "FACET_LIMIT",
    "FLOAT",
    "IsEmpty",
    "MatchExcept",
    "NumberRange",
    "DENSE",
    "DENSE_CONTEXT",
    "DENSE_NAMES",
    "DENSE_PREVIOUS",
    "DateRange",
    "Hit",
    "INDEXED_FIELDS",
    "INDEX_SCHEMA",
    "KEYWORD",
    "MatchAny",
    "MatchValue",
    "POINT_NAMESPACE",
    "SCROLL_PAGE",
    "SPARSE",
    "SPARSE_CONTEXT",
    "SPARSE_NAMES",
    "SPARSE_OPENING",
    "SPARSE_PREVIOUS",
    "SparseVec",
    "StoredPoint",
    "VectorStore",
    "check_match",
    "indexed_fields",
    "make_info",
    "normalize_filter",
    "point_id",
]

#: Points fetched per engine call while scrolling.
SCROLL_PAGE = 512
#: Most distinct values one facet count may return.
FACET_LIMIT = 100_000


# ---------------------------------------------------------------------------- interface


def _payload_update(
    filter: Mapping[str, Any], payload: Mapping[str, Any]
) -> tuple[list[Condition], dict[str, Any]]:
    """A payload write's filter and keys, checked: an empty filter would touch every point."""
    conditions = normalize_filter(filter)
    if not conditions:
        raise InputError(
            "refusing to set payload with an empty filter (it would touch every point)"
        )
    if not isinstance(payload, Mapping) or not payload:
        raise InputError("set_payload needs a non-empty dict of payload keys")
    return conditions, dict(payload)


class VectorStore(ABC):
    #: Call metadata fields (``ingest.metadata_fields``) with a keyword payload index.
    keyword_fields: tuple[str, ...] = ()

    """One collection of points (turn points or call points) with dense and BM25 sparse vectors.

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

    def set_payload(
        self, filter: Mapping[str, Any], payload: Mapping[str, Any], *, annotation: bool = False
    ) -> None:
        """Set (merge) payload keys on every point matching ``filter`` (must not be empty).

        ``annotation``: the keys are notes about the points that nothing derived from the
        collection depends on (a classification's prediction), so :attr:`writes` stays as it
        is and the classifier does not re-read every call to see whether its labels changed."""
        self._check_open()
        conditions, keys = _payload_update(filter, payload)
        self._set_payload(conditions, keys)
        if not annotation:
            self.writes += 1

    def set_payloads(
        self,
        updates: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
        *,
        annotation: bool = False,
    ) -> None:
        """Several :meth:`set_payload` writes (each a filter and its keys) made durable
        together: one flush for the lot instead of one each (a rule apply writes each
        distinct set of matched rules to its calls)."""
        clean = [_payload_update(filter, payload) for filter, payload in updates]
        self._check_open()
        if not clean:
            return
        self._set_payloads(clean)
        if not annotation:
            self.writes += 1

    def _set_payloads(self, updates: list[tuple[list[Condition], dict[str, Any]]]) -> None:
        for conditions, payload in updates:
            self._set_payload(conditions, payload)

    # -- reads
    def count(self, filter: Mapping[str, Any] | None = None) -> int:
        """Exact number of points matching ``filter`` (all points without one)."""
        self._check_open()
        return self._count(normalize_filter(filter))

    def facet(
        self, key: str, filter: Mapping[str, Any] | None = None, limit: int = FACET_LIMIT
    ) -> dict[Any, int]:
        """Exact number of matching points per value of the keyword field ``key`` (a point
        with several values counts once under each), most frequent first, at most ``limit``
        values; counted by the engine from its payload index, not by reading the points."""
        self._check_open()
        keyword = [f for f, kind in indexed_fields(self.keyword_fields).items() if kind == KEYWORD]
        if key not in keyword:
            raise InputError(
                f"facet counts need a keyword-indexed field; {key!r} is not one of "
                f"{', '.join(sorted(keyword))}"
            )
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= FACET_LIMIT:
            raise InputError(f"facet limit must be an integer from 1 to {FACET_LIMIT}")
        found = self._facet(key, normalize_filter(filter), limit)
        return dict(sorted(found.items(), key=lambda kv: (-kv[1], str(kv[0]))))

    def value_range(
        self, key: str, filter: Mapping[str, Any] | None = None
    ) -> tuple[Any, Any] | None:
        """The smallest and largest value of the date or number field ``key`` among matching
        points, as stored (None when none has it), read through the engine's ordered index."""
        self._check_open()
        ranged = [f for f, kind in indexed_fields(self.keyword_fields).items() if kind != KEYWORD]
        if key not in ranged:
            raise InputError(
                f"value ranges need a date- or number-indexed field; {key!r} is not one of "
                f"{', '.join(sorted(ranged))}"
            )
        conditions = normalize_filter(filter)
        ends = [self._first_by(key, conditions, descending=d) for d in (False, True)]
        low, high = (_dig(payload, key) for payload in ends)
        return None if low is None or high is None else (low, high)

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
        with_vectors: bool | str = False,
        fields: Sequence[str] | None = None,
    ) -> Iterator[StoredPoint]:
        """Iterate over matching points (at most ``limit``), paging internally, by id order.

        ``with_vectors``: True for every named vector, ``"dense"`` (:data:`DENSE`) for the
        turn's own dense vector only. ``fields``: only these payload keys (None: all). A reader
        of many points asks for what it uses: a turn point's whole payload and all its vectors
        cost ~100 µs to read, its dense vector and three keys ~30 µs (Qdrant Edge)."""
        self._check_open()
        if with_vectors not in (True, False, DENSE):
            raise InputError(f"with_vectors must be true, false or {DENSE!r}, got {with_vectors!r}")
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise InputError(f"limit must be a non-negative integer or None, got {limit!r}")
        if fields is not None and (
            isinstance(fields, str) or not all(isinstance(f, str) for f in fields)
        ):
            raise InputError(f"fields must be a list of payload keys, got {fields!r}")
        conditions = normalize_filter(filter)
        return self._scroll(
            conditions, limit, with_vectors, None if fields is None else list(fields)
        )

    # -- upkeep
    def build_index(self) -> bool:
        """Build the engine's search index (HNSW) over the points written since the last build,
        so a query stops comparing the question with every stored vector. Blocking, and it may
        take a minute per 100k new turns; a no-op when there is nothing to build. True when
        something was built."""
        self._check_open()
        return self._build_index()

    def _build_index(self) -> bool:
        # A Qdrant server builds its indexes by itself, in the background.
        return False

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
    def _facet(self, key: str, conditions: list[Condition], limit: int) -> dict[Any, int]:
        """Exact counts per value of ``key`` among matching points (at most ``limit`` values)."""

    @abstractmethod
    def _first_by(
        self, key: str, conditions: list[Condition], descending: bool
    ) -> dict[str, Any] | None:
        """The payload of the first matching point ordered by ``key`` (None: no such point)."""

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
        self,
        conditions: list[Condition],
        limit: int | None,
        with_vectors: bool | str,
        fields: list[str] | None = None,
    ) -> Iterator[StoredPoint]:
        offset: Any = None
        remaining = limit
        while remaining is None or remaining > 0:
            page = SCROLL_PAGE if remaining is None else min(SCROLL_PAGE, remaining)
            records, offset = self._scroll_page(conditions, offset, page, with_vectors, fields)
            yield from records
            if remaining is not None:
                remaining -= len(records)
            if offset is None or not records:
                return

    @abstractmethod
    def _scroll_page(
        self,
        conditions: list[Condition],
        offset: Any,
        limit: int,
        with_vectors: bool | str,
        fields: list[str] | None = None,
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


def _dig(payload: Mapping[str, Any] | None, key: str) -> Any:
    """The value at a dotted payload path (``metrics.duration``), None when absent."""
    value: Any = payload
    for part in key.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
