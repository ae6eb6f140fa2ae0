"""Default embedded backend: one qdrant-edge shard directory per collection.

Layout for a collection at ``path``::

    <path>/             the Edge shard (segments, WAL, edge_config.json)
    <path>.meta.json    {"name", "model_id", "dim", "sparse_model", "created_at"}

The metadata lives next to the shard, not inside it, so we never write into a directory
the engine owns. It is written (atomically) before the shard is created: a crash in
between leaves metadata without a shard, which the next open simply overwrites, whereas
a shard without metadata could not be checked against the embedding model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import qdrant_edge as q

from app.core.errors import CallScopeError, StoreBusyError, StoreError
from retrieval.index.store import (
    DATETIME,
    DENSE,
    DENSE_NAMES,
    FLOAT,
    KEYWORD,
    SPARSE,
    SPARSE_NAMES,
    AnyOf,
    CollectionInfo,
    Condition,
    DateRange,
    Hit,
    IsEmpty,
    MatchAny,
    MatchExcept,
    MatchValue,
    NumberRange,
    SparseVec,
    StoredPoint,
    VectorStore,
    check_match,
    indexed_fields,
    make_info,
)


def meta_path(path: Path) -> Path:
    """Where the metadata of the collection at ``path`` is kept."""
    return path.with_name(path.name + ".meta.json")


class EdgeStore(VectorStore):
    """A collection stored in-process with qdrant-edge-py (no server needed)."""

    def __init__(self, shard: q.EdgeShard, path: Path, info: CollectionInfo) -> None:
        self._shard = shard
        self.path = path
        self.info = info

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        name: str,
        model_id: str,
        dim: int,
        sparse_model: str,
        keyword_fields: Sequence[str] = (),
        as_built: bool = False,
    ) -> EdgeStore:
        """Open the collection at ``path``, creating it when it does not exist yet.

        Raises ``CollectionMismatchError`` when it exists but was built with another
        embedding model, dimension or sparse model, and ``StoreError`` when the engine
        cannot open it (e.g. it is already open in another process).
        """
        path = Path(path)
        wanted = make_info(name, model_id, dim, sparse_model)
        if path.exists() and not path.is_dir():
            raise StoreError(f"collection path {path} exists and is not a directory")
        existing = path.is_dir() and any(path.iterdir())
        if existing:
            stored = _read_meta(path, name)
            if as_built:  # opened to be read and re-indexed (``callscope reindex``)
                wanted = stored
            check_match(stored, wanted, f"at {path}")
        else:
            _write_meta(path, wanted)
        with _engine("open", name):
            try:
                shard = (
                    q.EdgeShard.load(str(path))
                    if existing
                    else q.EdgeShard.create(str(path), _config(dim))
                )
            except Exception as exc:
                if "WouldBlock" in str(exc):
                    raise StoreBusyError(
                        f"collection {name!r} at {path} is already open (in this or another "
                        "process); close it there first"
                    ) from exc
                raise
        store = cls(shard, path, wanted)
        store.keyword_fields = tuple(keyword_fields)
        try:
            store._ensure_indexes()
        except BaseException:
            store.close()
            raise
        return store

    def drop(self) -> None:
        """Close and delete this collection (shard directory and metadata)."""
        self.close()
        # Rename first (atomic), so a crash mid-delete leaves no half shard at `path`;
        # metadata left behind by a crash is overwritten by the next open.
        doomed = self.path.with_name(f"{self.path.name}.dropping-{uuid.uuid4().hex[:8]}")
        try:
            if self.path.exists():
                self.path.rename(doomed)
                shutil.rmtree(doomed)
            meta_path(self.path).unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot delete collection {self.info.name!r} at {self.path}: {exc}"
            ) from exc

    def _close(self) -> None:
        with _engine("close", self.info.name):
            self._shard.close()

    def _ensure_indexes(self) -> None:
        # Created at creation time and re-checked on every open, so a crash between
        # create() and the index operations only costs one retry.
        with _engine("create payload indexes", self.info.name):
            present = set(self._shard.info().payload_schema)
            for field, kind in indexed_fields(self.keyword_fields).items():
                if field not in present:
                    schema = _SCHEMAS[kind]
                    self._shard.update(q.UpdateOperation.create_field_index(field, schema))
            self._shard.flush()

    # ------------------------------------------------------------------ writes

    def _upsert(self, points: list[StoredPoint]) -> None:
        edge_points = []
        for p in points:
            vector: dict[str, Any] = {DENSE: p.dense}
            if p.sparse is not None and not p.sparse.is_empty:
                vector[SPARSE] = q.SparseVector(p.sparse.indices, p.sparse.values)
            vector.update({name: _edge_vector(v) for name, v in p.more.items()})
            edge_points.append(q.Point(id=p.id, vector=vector, payload=p.payload))
        self._write("upsert points", q.UpdateOperation.upsert_points(edge_points))

    def _delete(self, conditions: list[Condition]) -> None:
        self._write(
            "delete points", q.UpdateOperation.delete_points_by_filter(_edge_filter(conditions))
        )

    def _set_payload(self, conditions: list[Condition], payload: dict[str, Any]) -> None:
        self._write(
            "set payload",
            q.UpdateOperation.set_payload_by_filter(_edge_filter(conditions), payload),
        )

    def _set_payloads(self, updates: list[tuple[list[Condition], dict[str, Any]]]) -> None:
        with _engine("set payload", self.info.name):
            for conditions, payload in updates:
                self._shard.update(
                    q.UpdateOperation.set_payload_by_filter(_edge_filter(conditions), payload)
                )
            self._shard.flush()

    def _write(self, action: str, op: q.UpdateOperation) -> None:
        # update() returns once the operation is in the WAL (a kill -9 right after loses
        # nothing). flush() also persists the segments: it costs ~10 ms per call, small next
        # to embedding a batch, and keeps WAL replay on the next open short.
        with _engine(action, self.info.name):
            self._shard.update(op)
            self._shard.flush()

    # ------------------------------------------------------------------ reads

    def _count(self, conditions: list[Condition]) -> int:
        with _engine("count points", self.info.name):
            return int(
                self._shard.count(q.CountRequest(exact=True, filter=_edge_filter(conditions)))
            )

    def _facet(self, key: str, conditions: list[Condition], limit: int) -> dict[Any, int]:
        with _engine("count values", self.info.name):
            found = self._shard.facet(
                q.FacetRequest(key=key, limit=limit, exact=True, filter=_edge_filter(conditions))
            )
        return {hit.value: int(hit.count) for hit in found.hits}

    def _first_by(
        self, key: str, conditions: list[Condition], descending: bool
    ) -> dict[str, Any] | None:
        direction = q.Direction.Desc if descending else q.Direction.Asc
        with _engine("order points", self.info.name):
            records, _ = self._shard.scroll(
                q.ScrollRequest(
                    limit=1,
                    filter=_edge_filter(conditions),
                    order_by=q.OrderBy(key, direction=direction),
                    with_payload=True,
                    with_vector=False,
                )
            )
        return dict(records[0].payload or {}) if records else None

    def _query_fused(
        self,
        searches: list[tuple[str, Any]],
        conditions: list[Condition],
        limit: int,
        prefetch_limit: int,
        rrf_k: int,
        fuse: bool,
    ) -> list[Hit]:
        flt = _edge_filter(conditions)
        queries = [q.Query.Nearest(_edge_vector(v), using=name) for name, v in searches]
        if not fuse:
            request = q.QueryRequest(limit=limit, query=queries[0], filter=flt, with_payload=True)
        else:
            request = q.QueryRequest(
                limit=limit,
                prefetches=[q.Prefetch(limit=prefetch_limit, query=x, filter=flt) for x in queries],
                query=q.Fusion.Rrf(k=rrf_k),
                filter=flt,
                with_payload=True,
            )
        with _engine("query", self.info.name):
            points = self._shard.query(request)
        return [
            Hit(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in points
        ]

    def _build_index(self) -> bool:
        # Qdrant Edge never optimises by itself (its optimisations are manual): until this runs
        # every dense list of a query scans all vectors (measured: ~12 ms per list at 100k
        # turns, three lists per question). It holds the GIL while it works.
        with _engine("build the search index", self.info.name):
            return bool(self._shard.optimize())

    def _scroll_page(
        self,
        conditions: list[Condition],
        offset: Any,
        limit: int,
        with_vectors: bool | str,
        fields: list[str] | None = None,
    ) -> tuple[list[StoredPoint], Any]:
        with _engine("scroll points", self.info.name):
            records, offset = self._shard.scroll(
                q.ScrollRequest(
                    offset=offset,
                    limit=limit,
                    filter=_edge_filter(conditions),
                    with_payload=True if fields is None else fields,
                    with_vector=[DENSE] if with_vectors == DENSE else bool(with_vectors),
                )
            )
        return [_to_stored(rec, bool(with_vectors)) for rec in records], offset


# ---------------------------------------------------------------------- helpers


@contextmanager
def _engine(action: str, name: str) -> Iterator[None]:
    """Turn any engine exception into a one-line StoreError."""
    try:
        yield
    except CallScopeError:
        raise
    except Exception as exc:  # qdrant-edge raises bare Exception for every engine error
        detail = " ".join(str(exc).split())
        raise StoreError(
            f"Qdrant Edge could not {action} in collection {name!r}: {detail}"
        ) from exc


def _config(dim: int) -> q.EdgeConfig:
    return q.EdgeConfig(
        vectors={
            name: q.EdgeVectorParams(size=dim, distance=q.Distance.Cosine) for name in DENSE_NAMES
        },
        sparse_vectors={
            name: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf) for name in SPARSE_NAMES
        },
    )


def _edge_vector(vector: Any) -> Any:
    if isinstance(vector, SparseVec):
        return q.SparseVector(vector.indices, vector.values)
    return list(map(float, vector))


_SCHEMAS = {
    KEYWORD: q.PayloadSchemaType.Keyword,
    DATETIME: q.PayloadSchemaType.Datetime,
    FLOAT: q.PayloadSchemaType.Float,
}


def _edge_filter(conditions: Sequence[Condition]) -> q.Filter | None:
    if not conditions:
        return None
    return q.Filter(must=[_edge_condition(c) for c in conditions])


def _edge_condition(c: Condition) -> Any:
    if isinstance(c, MatchValue):
        return q.FieldCondition(key=c.key, match=q.MatchValue(c.value))
    if isinstance(c, MatchAny):
        return q.FieldCondition(key=c.key, match=q.MatchAny(list(c.values)))
    if isinstance(c, MatchExcept):
        return q.FieldCondition(key=c.key, match=q.MatchExcept(list(c.values)))
    if isinstance(c, DateRange):
        return q.FieldCondition(
            key=c.key, range=q.RangeDateTime(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt)
        )
    if isinstance(c, NumberRange):
        return q.FieldCondition(
            key=c.key, range=q.RangeFloat(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt)
        )
    if isinstance(c, IsEmpty):
        empty = q.IsEmptyCondition(c.key)
        return q.Filter(must=[empty]) if c.empty else q.Filter(must_not=[empty])
    if isinstance(c, AnyOf):
        return q.Filter(should=[q.Filter(must=[_edge_condition(x) for x in b]) for b in c.branches])
    raise TypeError(f"unknown condition {c!r}")  # pragma: no cover - normalize_filter's kinds


def _to_stored(rec: Any, with_vectors: bool) -> StoredPoint:
    dense = sparse = None
    more: dict[str, Any] = {}
    # Read once: each read of ``rec.vector`` converts every vector of the point again.
    vectors = rec.vector if with_vectors else None
    if vectors:
        dense = vectors.get(DENSE)
        sv = vectors.get(SPARSE)
        if sv is not None:
            sparse = SparseVec(list(sv.indices), list(sv.values))
        for name in (*DENSE_NAMES, *SPARSE_NAMES):
            v = vectors.get(name) if name not in (DENSE, SPARSE) else None
            if v is not None:
                more[name] = (
                    SparseVec(list(v.indices), list(v.values)) if name in SPARSE_NAMES else v
                )
    return StoredPoint(
        id=str(rec.id), dense=dense, sparse=sparse, payload=dict(rec.payload or {}), more=more
    )


def _read_meta(path: Path, name: str) -> CollectionInfo:
    mp = meta_path(path)
    try:
        raw = json.loads(mp.read_text(encoding="utf-8"))
        return CollectionInfo(
            name=name,
            model_id=str(raw["model_id"]),
            dim=int(raw["dim"]),
            sparse_model=str(raw["sparse_model"]),
            schema=int(raw.get("schema", 1)),
        )
    except FileNotFoundError as exc:
        raise StoreError(
            f"collection {name!r} at {path} has no metadata file {mp.name}: its embedding model is "
            "unknown; delete the directory and re-index, or use a new index name (QDRANT__INDEX)"
        ) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(
            f"collection metadata {mp} is unreadable ({exc}); re-index into a new collection"
        ) from exc


def _write_meta(path: Path, info: CollectionInfo) -> None:
    mp = meta_path(path)
    data = {
        "name": info.name,
        "model_id": info.model_id,
        "dim": info.dim,
        "sparse_model": info.sparse_model,
        "schema": info.schema,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        mp.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=mp.name, suffix=".tmp", dir=mp.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, mp)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(mp.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the rename itself durable
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise StoreError(f"cannot write collection metadata {mp}: {exc}") from exc
