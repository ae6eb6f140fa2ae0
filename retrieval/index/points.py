"""The plain data the stores speak: named vectors, sparse vectors, points, hits, point ids,
and what a collection was built with (checked on every open). No Qdrant package here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.errors import CollectionMismatchError, ConfigError, InputError, StaleIndexError
from retrieval.index.filters import INDEXED_FIELDS, KEYWORD

DENSE = "dense"
SPARSE = "bm25"
#: The turn index's context vectors (``ingest/turns.py``): the mean of the dense vectors of the
#: turns around a turn, the dense vector of the turn before it, BM25 of the previous turn with
#: this one, BM25 of the turns around it.
DENSE_CONTEXT = "dense_ctx"
DENSE_PREVIOUS = "dense_prev"
SPARSE_PREVIOUS = "bm25_prev"
SPARSE_CONTEXT = "bm25_ctx"
#: Call points only: BM25 of the call's opening (its first customer turn), what a new call's
#: nearest labeled calls are found by (``ingest/turns.py`` ``opening_line``).
SPARSE_OPENING = "bm25_open"
#: Every collection has these named vectors; a point may leave the extra ones out.
DENSE_NAMES = (DENSE, DENSE_CONTEXT, DENSE_PREVIOUS)
SPARSE_NAMES = (SPARSE, SPARSE_PREVIOUS, SPARSE_CONTEXT, SPARSE_OPENING)

# Fixed namespace of CallScope point ids: never change it, or every re-ingest duplicates.
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
#: points whose vector is built from the turn vectors. 3: call points' vector is the
#: length-weighted sum of their turn vectors, and they carry BM25 of their opening
#: (:data:`SPARSE_OPENING`). 4: the call vector and the opening leave out the turns with no
#: content (greetings, "ok, thanks": ``app.core.filler``). 5: turn points carry the dense vector
#: of the turn before them (:data:`DENSE_PREVIOUS`). Bump it whenever stored vectors or
#: payloads change meaning: an older collection then refuses to open and says how to re-index.
INDEX_SCHEMA = 5


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
    """One point as stored (a turn point, or a call's call-level point): id, vectors and payload.

    ``dense`` (and ``sparse``) are ``None`` in records from ``scroll(with_vectors=False)``.
    """

    id: str
    dense: Sequence[float] | np.ndarray | None
    sparse: SparseVec | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    #: Other named vectors (:data:`DENSE_CONTEXT`, :data:`SPARSE_PREVIOUS`, ...), written and
    #: read back by ``scroll(with_vectors=True)``.
    more: dict[str, Any] = field(default_factory=dict)


@dataclass
class Hit:
    """One query result."""

    id: str
    score: float
    payload: dict[str, Any]


# ---------------------------------------------------------------------------- ids


def point_id(call_id: str, turn: int, content_hash: str) -> str:
    """Deterministic id of a turn point (``turn``: its turn in the call; the call-level point
    uses its own), so re-ingesting the same turn overwrites it.

    The content hash is part of the id: a turn whose text changed gets a new id, so a
    re-ingest of a changed call must ``delete({"call_id": ...})`` first.
    """
    if not isinstance(call_id, str) or not call_id:
        raise InputError(f"call_id must be a non-empty string, got {call_id!r}")
    if not isinstance(turn, int) or isinstance(turn, bool) or turn < 0:
        raise InputError(f"turn must be a non-negative integer, got {turn!r}")
    # The id's text is unchanged since points were chunks: stored ids stay valid.
    return str(uuid.uuid5(POINT_NAMESPACE, f"{call_id}:{turn}:{content_hash}"))


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
            f"({wanted.dim}-d): run `callscope reindex` to embed every call again with the "
            "new model (from the transcripts in the ledger: nothing is transcribed again), or "
            "set EMBEDDING__MODEL back to the index's model, or choose another index name "
            "(QDRANT__INDEX)"
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
            "run `callscope reindex` (from the transcripts in the ledger), or choose another "
            "index name (QDRANT__INDEX)"
        )
