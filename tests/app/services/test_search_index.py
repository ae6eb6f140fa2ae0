"""Building Qdrant Edge's search index after a large import (``services.search_index``), on
the real engine with the turn index's six vectors: it builds once, queries find the same
turns after it, and a second build has nothing to do."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from app.runtime import Runtime
from app.services.search_index import build_search_index
from retrieval.index.sparse import SparseVec
from retrieval.index.store import DENSE_CONTEXT, DENSE_PREVIOUS, StoredPoint


# In `make stress`, not `make test`: 7,500 turn points (the engine's threshold): ~13 s.
@pytest.mark.stress
def test_a_large_store_gets_its_index_once_and_answers_the_same(runtime: Runtime) -> None:
    rng = np.random.default_rng(0)
    already = runtime.turns.count()
    dim = runtime.turns.info.dim
    # Above the engine's default indexing threshold (10,000 KB of one vector's storage, checked:
    # 4,000 turns are not): 7,500 384-d vectors are 11.5 MB.
    vectors = rng.standard_normal((7500, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    points = [
        StoredPoint(
            id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"big:{i}")),
            dense=v,
            sparse=SparseVec([i % 50], [1.0]),
            payload={"call_id": f"call-{i // 10}", "turn": i, "text": f"turn {i}"},
            more={DENSE_CONTEXT: v, DENSE_PREVIOUS: vectors[i - 1]},
        )
        for i, v in enumerate(vectors)
    ]
    for start in range(0, len(points), 1000):
        runtime.turns.upsert(points[start : start + 1000])
    wanted = [7, 1234, 7499]
    before = [runtime.turns.query(dense=vectors[i], limit=1)[0].payload["turn"] for i in wanted]

    seconds = build_search_index(runtime)

    assert seconds is not None and seconds > 0
    after = [runtime.turns.query(dense=vectors[i], limit=1)[0] for i in wanted]
    assert [h.payload["turn"] for h in after] == before
    assert [h.payload["text"] for h in after] == [f"turn {i}" for i in wanted]
    assert build_search_index(runtime) is None  # nothing new to build
    assert runtime.turns.count() == already + 7500
