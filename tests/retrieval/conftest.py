"""Fixtures of the vector-store contract suite: both backends, a small bilingual corpus."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient

from retrieval.index import Bm25Encoder, EdgeStore, ServerStore, StoredPoint, VectorStore, point_id

DIM = 8
MODEL = "test-model"

# (call_id, turn, text, labels, split, date)
DOCS: list[tuple[str, int, str, list[str], str, str]] = [
    ("c1", 0, "I want a refund for my broken headphones", ["refund"], "train", "2026-10-02"),
    ("c1", 1, "The agent processed the refund yesterday", ["refund"], "train", "2026-10-02"),
    ("c2", 0, "My parcel delivery is late again", ["delivery"], "test", "2026-10-15"),
    ("c3", 0, "I forgot my password and cannot log in", ["account"], "train", "2026-09-20"),
    ("c4", 0, "我要退款，耳机坏了", ["refund"], "test", "2026-10-31T15:30:00Z"),
    ("c5", 0, "我的快递还没有到", ["delivery"], "train", "2026-11-01"),
    ("c6", 0, "我忘记了密码，无法登录", ["account", "urgent"], "test", "2026-08-01"),
    ("c7", 0, "这个月的费用太高了", ["billing"], "train", "2026-10-10"),
]


@dataclass
class Corpus:
    """The DOCS as points, with their ids and (unit) dense vectors by position."""

    points: list[StoredPoint]
    ids: list[str]
    vectors: np.ndarray

    def id_of(self, call_id: str, turn: int = 0) -> str:
        for p in self.points:
            if p.payload["call_id"] == call_id and p.payload["turn"] == turn:
                return p.id
        raise KeyError(call_id)


@dataclass
class Backend:
    """Opens stores of one backend; every open in a test sees the same storage."""

    kind: str
    opener: Callable[..., VectorStore]

    def open(self, **overrides: Any) -> VectorStore:
        args: dict[str, Any] = {
            "name": "calls",
            "model_id": MODEL,
            "dim": DIM,
            "sparse_model": ENCODER.model_id,
        }
        args.update(overrides)
        return self.opener(**args)


ENCODER = Bm25Encoder()


@pytest.fixture(scope="session")
def encoder() -> Bm25Encoder:
    return ENCODER


def unit_vectors(n: int, seed: int = 7) -> np.ndarray:
    """Seeded random unit vectors (cosine collections store vectors normalised)."""
    vecs = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    vecs = unit_vectors(len(DOCS))
    sparse = ENCODER.encode_documents([d[2] for d in DOCS])
    points = []
    for (call_id, idx, text, labels, split, day), vec, sv in zip(DOCS, vecs, sparse, strict=True):
        payload = {
            "call_id": call_id,
            "turn": idx,
            "text": text,
            "labels": labels,
            "split": split,
            "date": day,
        }
        points.append(
            StoredPoint(
                id=point_id(call_id, idx, hashlib.sha1(text.encode()).hexdigest()[:12]),
                dense=vec,
                sparse=sv,
                payload=payload,
            )
        )
    return Corpus(points=points, ids=[p.id for p in points], vectors=vecs)


@pytest.fixture(params=["edge", "server"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "edge":
        root = tmp_path / "collections"

        def open_edge(name: str, **kw: Any) -> VectorStore:
            return EdgeStore.open(root / name, name=name, **kw)

        yield Backend("edge", open_edge)
    else:
        # qdrant-client's local mode stands in for the server API.
        client = QdrantClient(location=":memory:")

        def open_server(**kw: Any) -> VectorStore:
            return ServerStore.open(client, **kw)

        yield Backend("server", open_server)
        client.close()


@pytest.fixture
def store(backend: Backend) -> Iterator[VectorStore]:
    with backend.open() as s:
        yield s


@pytest.fixture
def filled(store: VectorStore, corpus: Corpus) -> VectorStore:
    store.upsert(corpus.points)
    return store
