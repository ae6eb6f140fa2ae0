"""Backend for a Qdrant server or cluster, through qdrant-client (used when a URL is set).

Collection metadata (model_id, dim, sparse_model, created_at) is stored in the
collection's own ``metadata`` (``create_collection(metadata=...)``, qdrant-client >= 1.16
and Qdrant server >= 1.16). qdrant-client 1.20's local mode (``QdrantClient(":memory:")``
or ``path=``) keeps it too, so no side file is needed and both behave the same.

Hybrid queries use ``RrfQuery(rrf=Rrf(k=...))`` rather than ``FusionQuery(Fusion.RRF)``:
the latter always uses the engine's default k (2 in Qdrant and in qdrant-client's local
mode), which would silently ignore ``rrf_k`` and score differently from Edge.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from qdrant_client import QdrantClient, models
from qdrant_client.common.client_exceptions import QdrantException
from qdrant_client.http.exceptions import (
    ApiException,
    ResponseHandlingException,
    UnexpectedResponse,
)

from app.core.errors import CallScopeError, CollectionMismatchError, StoreError
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

log = logging.getLogger(__name__)

_UPSERT_BATCH = 256  # keeps each HTTP request far below the server's 32 MB body limit

# What qdrant-client raises: HTTP/transport errors (ApiException and subclasses, httpx),
# its own QdrantException, and ValueError/RuntimeError from the local mode.
_CLIENT_ERRORS: tuple[type[BaseException], ...] = (
    ApiException,
    QdrantException,
    httpx.HTTPError,
    ValueError,
    RuntimeError,
    OSError,
)
try:  # gRPC is optional (prefer_grpc=True)
    import grpc

    _CLIENT_ERRORS += (grpc.RpcError,)
except ImportError:  # pragma: no cover
    pass


class ServerStore(VectorStore):
    """A collection on a Qdrant server (or qdrant-client's local mode, in tests)."""

    shared = True  # other CallScope processes may write the same collection

    def __init__(
        self, client: QdrantClient, info: CollectionInfo, *, owns_client: bool = False
    ) -> None:
        self._client = client
        self.info = info
        self._owns_client = owns_client

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(
        cls,
        client: QdrantClient,
        *,
        name: str,
        model_id: str,
        dim: int,
        sparse_model: str,
        owns_client: bool = False,
        keyword_fields: Sequence[str] = (),
        as_built: bool = False,
        shard_number: int = 1,
        replication_factor: int = 1,
        write_consistency_factor: int = 1,
    ) -> ServerStore:
        """Open collection ``name``, creating it when missing.

        Raises ``CollectionMismatchError`` when it exists but was built with another
        embedding model, dimension or sparse model (or not by CallScope), and
        ``StoreError`` when the server fails or cannot be reached. With
        ``owns_client=True``, ``close()`` also closes ``client``.
        """
        wanted = make_info(name, model_id, dim, sparse_model)
        with _client_errors("open", name):
            if not client.collection_exists(name):
                try:
                    client.create_collection(
                        name,
                        vectors_config={
                            name: models.VectorParams(size=dim, distance=models.Distance.COSINE)
                            for name in DENSE_NAMES
                        },
                        sparse_vectors_config={
                            name: models.SparseVectorParams(modifier=models.Modifier.IDF)
                            for name in SPARSE_NAMES
                        },
                        shard_number=shard_number,
                        replication_factor=replication_factor,
                        write_consistency_factor=write_consistency_factor,
                        metadata={
                            "model_id": model_id,
                            "dim": dim,
                            "sparse_model": sparse_model,
                            "schema": wanted.schema,
                            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        },
                    )
                except UnexpectedResponse as exc:
                    # 409: another process created it in between; check it like any existing one.
                    if exc.status_code != 409:
                        raise
            described = client.get_collection(name)
        stored = _stored_info(described, wanted)
        if as_built:  # opened to be read and re-indexed (``callscope reindex``)
            wanted = stored
        check_match(stored, wanted, "on the Qdrant server")
        store = cls(client, wanted, owns_client=owns_client)
        store.keyword_fields = tuple(keyword_fields)
        store._ensure_indexes(described)
        return store

    def drop(self) -> None:
        """Delete this collection on the server, then close the store."""
        self._check_open()
        with _client_errors("drop the collection", self.info.name):
            self._client.delete_collection(self.info.name)
        self.close()

    def _close(self) -> None:
        if self._owns_client:
            with _client_errors("close the client", self.info.name):
                self._client.close()

    def _ensure_indexes(self, described: models.CollectionInfo) -> None:
        # Created after the collection and re-checked on every open, so an interrupted
        # creation heals itself. (qdrant-client's local mode ignores payload indexes, warns,
        # and reports none: it gets them re-requested on each open, which is harmless.)
        present = set(described.payload_schema or {})
        with _client_errors("create payload indexes", self.info.name):
            for field, kind in indexed_fields(self.keyword_fields).items():
                if field not in present:
                    self._client.create_payload_index(
                        self.info.name, field, _SCHEMAS[kind], wait=True
                    )

    # ------------------------------------------------------------------ writes

    def _upsert(self, points: list[StoredPoint]) -> None:
        structs = []
        for p in points:
            vector: dict[str, Any] = {DENSE: p.dense}
            if p.sparse is not None and not p.sparse.is_empty:
                vector[SPARSE] = models.SparseVector(
                    indices=p.sparse.indices, values=p.sparse.values
                )
            vector.update({name: _client_vector(v) for name, v in p.more.items()})
            structs.append(models.PointStruct(id=p.id, vector=vector, payload=p.payload))
        with _client_errors("upsert points", self.info.name):
            for start in range(0, len(structs), _UPSERT_BATCH):
                # wait=True: return only once the server has applied (and WAL-logged) it.
                self._client.upsert(
                    self.info.name, points=structs[start : start + _UPSERT_BATCH], wait=True
                )

    def _delete(self, conditions: list[Condition]) -> None:
        with _client_errors("delete points", self.info.name):
            self._client.delete(
                self.info.name,
                points_selector=models.FilterSelector(filter=_filter(conditions)),
                wait=True,
            )

    def _set_payload(self, conditions: list[Condition], payload: dict[str, Any]) -> None:
        with _client_errors("set payload", self.info.name):
            self._client.set_payload(
                self.info.name,
                payload=payload,
                points=models.FilterSelector(filter=_filter(conditions)),
                wait=True,
            )

    def _set_payloads(self, updates: list[tuple[list[Condition], dict[str, Any]]]) -> None:
        operations = [
            models.SetPayloadOperation(
                set_payload=models.SetPayload(payload=payload, filter=_filter(conditions))
            )
            for conditions, payload in updates
        ]
        with _client_errors("set payload", self.info.name):
            self._client.batch_update_points(self.info.name, operations, wait=True)

    # ------------------------------------------------------------------ reads

    def _count(self, conditions: list[Condition]) -> int:
        with _client_errors("count points", self.info.name):
            return int(
                self._client.count(
                    self.info.name, count_filter=_filter(conditions), exact=True
                ).count
            )

    def _facet(self, key: str, conditions: list[Condition], limit: int) -> dict[Any, int]:
        with _client_errors("count values", self.info.name):
            found = self._client.facet(
                self.info.name, key, facet_filter=_filter(conditions), limit=limit, exact=True
            )
        return {hit.value: int(hit.count) for hit in found.hits}

    def _first_by(
        self, key: str, conditions: list[Condition], descending: bool
    ) -> dict[str, Any] | None:
        direction = models.Direction.DESC if descending else models.Direction.ASC
        with _client_errors("order points", self.info.name):
            records, _ = self._client.scroll(
                self.info.name,
                scroll_filter=_filter(conditions),
                limit=1,
                order_by=models.OrderBy(key=key, direction=direction),
                with_payload=True,
                with_vectors=False,
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
        flt = _filter(conditions)
        with _client_errors("query", self.info.name):
            if not fuse:
                name, vector = searches[0]
                response = self._client.query_points(
                    self.info.name,
                    query=_client_vector(vector),
                    using=name,
                    query_filter=flt,
                    limit=limit,
                    with_payload=True,
                )
            else:
                response = self._client.query_points(
                    self.info.name,
                    prefetch=[
                        models.Prefetch(
                            query=_client_vector(v), using=n, limit=prefetch_limit, filter=flt
                        )
                        for n, v in searches
                    ],
                    query=models.RrfQuery(rrf=models.Rrf(k=rrf_k)),
                    query_filter=flt,
                    limit=limit,
                    with_payload=True,
                )
        return [
            Hit(id=str(p.id), score=float(p.score), payload=dict(p.payload or {}))
            for p in response.points
        ]

    def _scroll_page(
        self,
        conditions: list[Condition],
        offset: Any,
        limit: int,
        with_vectors: bool | str,
        fields: list[str] | None = None,
    ) -> tuple[list[StoredPoint], Any]:
        with _client_errors("scroll points", self.info.name):
            records, offset = self._client.scroll(
                self.info.name,
                scroll_filter=_filter(conditions),
                limit=limit,
                offset=offset,
                with_payload=True if fields is None else fields,
                with_vectors=[DENSE] if with_vectors == DENSE else bool(with_vectors),
            )
        return [_to_stored(rec, bool(with_vectors)) for rec in records], offset


# ---------------------------------------------------------------------- helpers


@contextmanager
def _client_errors(action: str, name: str) -> Iterator[None]:
    """Turn qdrant-client errors into one-line StoreErrors."""
    try:
        yield
    except CallScopeError:
        raise
    except _CLIENT_ERRORS as exc:
        raise StoreError(
            f"Qdrant could not {action} in collection {name!r}: {_describe(exc)}"
        ) from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UnexpectedResponse):
        body = exc.content.decode("utf-8", "replace") if exc.content else ""
        text = f"HTTP {exc.status_code} {exc.reason_phrase} {body[:200]}"
    elif isinstance(exc, ResponseHandlingException):
        text = f"server unreachable or bad response ({exc.source})"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _stored_info(described: models.CollectionInfo, wanted: CollectionInfo) -> CollectionInfo:
    params = described.config.params
    vectors = params.vectors if isinstance(params.vectors, dict) else {}
    dense = vectors.get(DENSE)
    if dense is None or SPARSE not in (params.sparse_vectors or {}):
        raise CollectionMismatchError(
            f"collection {wanted.name!r} on the Qdrant server was not created by CallScope (no "
            f"{DENSE!r} dense and {SPARSE!r} sparse vectors): choose another index name "
            "(QDRANT__INDEX)"
        )
    meta = described.config.metadata or {}
    if "model_id" not in meta:
        # Created by a server without collection metadata (< 1.16) or by hand: only the
        # dimension can be checked, so trust the settings' model for the rest.
        log.warning(
            "collection %r has no CallScope metadata; checking its dimension only", wanted.name
        )
        return CollectionInfo(
            wanted.name, wanted.model_id, int(dense.size), wanted.sparse_model, wanted.schema
        )
    return CollectionInfo(
        name=wanted.name,
        model_id=str(meta["model_id"]),
        dim=int(dense.size),  # the engine's own config is the truth for the dimension
        sparse_model=str(meta.get("sparse_model", wanted.sparse_model)),
        schema=int(meta.get("schema", 1)),
    )


def _client_vector(vector: Any) -> Any:
    if isinstance(vector, SparseVec):
        return models.SparseVector(indices=vector.indices, values=vector.values)
    return list(map(float, vector))


_SCHEMAS = {
    KEYWORD: models.PayloadSchemaType.KEYWORD,
    DATETIME: models.PayloadSchemaType.DATETIME,
    FLOAT: models.PayloadSchemaType.FLOAT,
}


def _filter(conditions: Sequence[Condition]) -> models.Filter | None:
    if not conditions:
        return None
    return models.Filter(must=[_condition(c) for c in conditions])


def _condition(c: Condition) -> Any:
    if isinstance(c, MatchValue):
        return models.FieldCondition(key=c.key, match=models.MatchValue(value=c.value))
    if isinstance(c, MatchAny):
        return models.FieldCondition(key=c.key, match=models.MatchAny(any=list(c.values)))
    if isinstance(c, MatchExcept):
        return models.FieldCondition(
            key=c.key, match=models.MatchExcept(**{"except": list(c.values)})
        )
    if isinstance(c, DateRange):
        return models.FieldCondition(
            key=c.key, range=models.DatetimeRange(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt)
        )
    if isinstance(c, NumberRange):
        return models.FieldCondition(
            key=c.key, range=models.Range(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt)
        )
    if isinstance(c, IsEmpty):
        empty = models.IsEmptyCondition(is_empty=models.PayloadField(key=c.key))
        return models.Filter(must=[empty]) if c.empty else models.Filter(must_not=[empty])
    if isinstance(c, AnyOf):
        return models.Filter(
            should=[models.Filter(must=[_condition(x) for x in b]) for b in c.branches]
        )
    raise TypeError(f"unknown condition {c!r}")  # pragma: no cover - normalize_filter's kinds


def _to_stored(rec: models.Record, with_vectors: bool) -> StoredPoint:
    dense = sparse = None
    more: dict[str, Any] = {}
    if with_vectors and isinstance(rec.vector, dict):
        dense = rec.vector.get(DENSE)
        sv = rec.vector.get(SPARSE)
        if isinstance(sv, models.SparseVector):
            sparse = SparseVec(list(sv.indices), list(sv.values))
        for name, v in rec.vector.items():
            if name in (DENSE, SPARSE):
                continue
            more[name] = (
                SparseVec(list(v.indices), list(v.values))
                if isinstance(v, models.SparseVector)
                else v
            )
    return StoredPoint(
        id=str(rec.id), dense=dense, sparse=sparse, payload=dict(rec.payload or {}), more=more
    )
