"""One contract for every VectorStore backend (Edge on disk, qdrant-client local mode)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

import retrieval.index.store
from app.core.errors import CollectionMismatchError, ConfigError, InputError, StoreError
from retrieval.index import Bm25Encoder, EdgeStore, ServerStore, StoredPoint, VectorStore, point_id
from retrieval.index.store import DateRange, MatchAny, MatchValue, normalize_filter
from tests.retrieval.conftest import DIM, MODEL, Backend, Corpus, unit_vectors

ROOT = Path(__file__).resolve().parents[3]


# ----------------------------------------------------------------- basics


def test_create_and_count(store: VectorStore, corpus: Corpus) -> None:
    assert store.count() == 0
    assert (store.info.name, store.info.model_id, store.info.dim) == ("calls", MODEL, DIM)
    store.upsert(corpus.points)
    assert store.count() == len(corpus.points)


def test_upsert_same_id_overwrites(filled: VectorStore, corpus: Corpus) -> None:
    first = corpus.points[0]
    changed = replace(first, payload={**first.payload, "labels": ["changed"]})
    filled.upsert([changed])
    filled.upsert([changed])
    assert filled.count() == len(corpus.points)
    assert filled.count({"labels": "changed"}) == 1
    assert filled.count({"call_id": "c1", "labels": "refund"}) == 1


def test_point_id_is_deterministic() -> None:
    a = point_id("c1", 0, "abc")
    assert a == point_id("c1", 0, "abc")
    assert str(uuid.UUID(a)) == a
    assert (
        len({a, point_id("c1", 1, "abc"), point_id("c1", 0, "abd"), point_id("c2", 0, "abc")}) == 4
    )
    with pytest.raises(InputError):
        point_id("", 0, "abc")
    with pytest.raises(InputError):
        point_id("c1", -1, "abc")


def test_ids_are_returned_as_str(filled: VectorStore, corpus: Corpus) -> None:
    hits = filled.query(dense=corpus.vectors[0], limit=3)
    assert all(type(h.id) is str for h in hits)
    assert all(type(p.id) is str for p in filled.scroll())


# ----------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"call_id": "c1"}, 2),
        ({"labels": ["refund", "billing"]}, 4),
        ({"labels": "urgent"}, 1),  # a value matches one element of an array field
        ({"split": "test"}, 3),
        # a bare upper date includes the whole day: c4 is at 2026-10-31T15:30Z
        ({"date": {"gte": "2026-10-01", "lte": "2026-10-31"}}, 5),
        ({"date": {"gte": "2026-10-01T00:00:00Z", "lt": "2026-10-31T12:00:00+00:00"}}, 4),
        ({"date": {"gt": "2026-10-31"}}, 1),
        ({"split": "test", "labels": ["refund"]}, 1),
        ({"call_id": "nope"}, 0),
    ],
)
def test_filters_on_count(filled: VectorStore, spec: dict, expected: int) -> None:
    assert filled.count(spec) == expected


def test_filters_on_query(filled: VectorStore, corpus: Corpus, encoder: Bm25Encoder) -> None:
    # Nearest to c2's vector, but only c1 chunks may come back.
    hits = filled.query(dense=corpus.vectors[2], filter={"call_id": "c1"}, limit=10)
    assert {h.payload["call_id"] for h in hits} == {"c1"} and len(hits) == 2
    october = {"date": {"gte": "2026-10-01", "lte": "2026-10-31"}, "split": "train"}
    for kwargs in (
        {"dense": corpus.vectors[3]},
        {"sparse": encoder.encode_query("refund 退款")},
        {"dense": corpus.vectors[3], "sparse": encoder.encode_query("password")},
    ):
        hits = filled.query(filter=october, limit=10, **kwargs)
        assert hits, kwargs
        assert all(
            h.payload["split"] == "train" and h.payload["date"].startswith("2026-10") for h in hits
        )


@pytest.mark.parametrize(
    "spec",
    [
        "call_id=c1",
        {"x": 1.5},
        {"x": None},
        {"x": []},
        {"x": [1, "a"]},
        {"split": {"gte": "2026-01-01"}},  # ranges only on date fields
        {"date": {"from": "2026-01-01"}},
        {"date": {}},
        {"date": {"gte": "last tuesday"}},
        {"date": {"gte": "2026-10-05", "lte": "2026-10-01"}},
        {"date": {"gte": "2026-10-01", "gt": "2026-10-02"}},
        {"": "x"},
    ],
)
def test_normalize_filter_refuses_unknown_shapes(spec: object) -> None:
    with pytest.raises(InputError):
        normalize_filter(spec)  # type: ignore[arg-type]


def test_normalize_filter_shapes() -> None:
    assert normalize_filter(None) == [] and normalize_filter({}) == []
    got = normalize_filter(
        {"call_id": "c1", "labels": ["a", "b"], "date": {"gte": "2026-10-01", "lte": "2026-10-31"}}
    )
    assert got == [
        MatchValue("call_id", "c1"),
        MatchAny("labels", ("a", "b")),
        DateRange("date", gte="2026-10-01T00:00:00Z", lt="2026-11-01T00:00:00Z"),
    ]


# ----------------------------------------------------------------- writes


def test_delete_by_filter(filled: VectorStore, corpus: Corpus) -> None:
    filled.delete({"call_id": "c1"})
    assert filled.count({"call_id": "c1"}) == 0
    assert filled.count() == len(corpus.points) - 2
    for empty in ({}, None):
        with pytest.raises(InputError):
            filled.delete(empty)  # type: ignore[arg-type]
    assert filled.count() == len(corpus.points) - 2


def test_set_payload_updates_labels(filled: VectorStore) -> None:
    filled.set_payload({"call_id": "c2"}, {"labels": ["delivery", "escalated"]})
    assert filled.count({"labels": "escalated"}) == 1
    (point,) = list(filled.scroll({"call_id": "c2"}))
    assert point.payload["labels"] == ["delivery", "escalated"]
    assert point.payload["text"].startswith("My parcel")  # other keys are kept
    with pytest.raises(InputError):
        filled.set_payload({}, {"labels": []})


def test_bad_vectors_are_refused(store: VectorStore) -> None:
    good = StoredPoint(id=point_id("c", 0, "h"), dense=unit_vectors(1)[0])
    for bad in (
        replace(good, dense=np.ones(DIM + 1)),
        replace(good, dense=np.full(DIM, np.nan)),
        replace(good, id="not-a-uuid"),
    ):
        with pytest.raises(InputError):
            store.upsert([bad])
    with pytest.raises(InputError):
        store.query()
    with pytest.raises(InputError):
        store.query(dense=np.ones(3))
    assert store.count() == 0


# ----------------------------------------------------------------- queries


def test_dense_query_ranks_the_exact_vector_first(filled: VectorStore, corpus: Corpus) -> None:
    for i, vec in enumerate(corpus.vectors):
        hits = filled.query(dense=vec, limit=3)
        assert hits[0].id == corpus.ids[i]
        assert hits[0].score == pytest.approx(1.0, abs=1e-4)
        assert hits[0].payload == corpus.points[i].payload


@pytest.mark.parametrize(
    ("query", "call_id"),
    [
        ("refund", "c1"),
        ("password", "c3"),
        ("退款", "c4"),
        ("快递", "c5"),
        ("密码", "c6"),
        ("费用", "c7"),
    ],
)
def test_sparse_query_finds_the_right_doc(
    filled: VectorStore, encoder: Bm25Encoder, query: str, call_id: str
) -> None:
    hits = filled.query(sparse=encoder.encode_query(query), limit=3)
    assert hits and hits[0].payload["call_id"] == call_id


def test_sparse_query_with_no_terms_returns_nothing(
    filled: VectorStore, encoder: Bm25Encoder
) -> None:
    assert filled.query(sparse=encoder.encode_query("   ")) == []


def test_hybrid_rrf_returns_both_sides(
    filled: VectorStore, corpus: Corpus, encoder: Bm25Encoder
) -> None:
    dense_side, sparse_side = corpus.id_of("c3"), corpus.id_of("c4")
    hits = filled.query(dense=corpus.vectors[3], sparse=encoder.encode_query("退款"), limit=4)
    assert {dense_side, sparse_side} <= {h.id for h in hits}
    # c3 is found by the dense side only: its RRF score is 1/k for rank 0.
    assert next(h.score for h in hits if h.id == dense_side) == pytest.approx(1 / 60, rel=1e-3)


def test_hybrid_with_an_empty_sparse_side_keeps_rrf_scores(
    filled: VectorStore, corpus: Corpus, encoder: Bm25Encoder
) -> None:
    hits = filled.query(dense=corpus.vectors[2], sparse=encoder.encode_query("the"), limit=3)
    assert hits[0].id == corpus.ids[2]
    assert hits[0].score == pytest.approx(1 / 60, rel=1e-3)  # RRF scale, not cosine 1.0


def test_hybrid_honours_rrf_k(filled: VectorStore, corpus: Corpus, encoder: Bm25Encoder) -> None:
    # c4 is first on both sides, so its score is 2/k; this fails if k is ignored.
    for k in (10, 60):
        hits = filled.query(
            dense=corpus.vectors[4], sparse=encoder.encode_query("退款"), limit=3, rrf_k=k
        )
        assert hits[0].id == corpus.id_of("c4")
        assert hits[0].score == pytest.approx(2 / k, rel=1e-3)


# ----------------------------------------------------------------- scroll


def test_scroll_yields_every_point_with_payload(
    filled: VectorStore, corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny pages so paging is exercised on 8 points.
    monkeypatch.setattr(retrieval.index.store, "SCROLL_PAGE", 3)
    got = {p.id: p for p in filled.scroll()}
    assert set(got) == set(corpus.ids)
    for p in corpus.points:
        assert got[p.id].payload == p.payload and got[p.id].dense is None
    assert len(list(filled.scroll(limit=5))) == 5
    assert {p.payload["call_id"] for p in filled.scroll({"labels": "delivery"})} == {"c2", "c5"}

    with_vec = {p.id: p for p in filled.scroll(with_vectors=True)}
    for i, p in enumerate(corpus.points):
        np.testing.assert_allclose(with_vec[p.id].dense, corpus.vectors[i], atol=1e-5)
        assert with_vec[p.id].sparse is not None
        assert with_vec[p.id].sparse.indices == p.sparse.indices


# ----------------------------------------------------------------- lifecycle


def test_reopen_keeps_the_data(backend: Backend, corpus: Corpus) -> None:
    with backend.open() as s:
        s.upsert(corpus.points)
    with backend.open() as s:
        assert s.count() == len(corpus.points)
        assert s.query(dense=corpus.vectors[5], limit=1)[0].id == corpus.ids[5]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"dim": 16}, "16-d"),
        ({"model_id": "other-model"}, "other-model"),
        ({"sparse_model": "bm25-x"}, "bm25-x"),
    ],
)
def test_open_with_another_model_is_refused(
    backend: Backend, corpus: Corpus, change: dict, named: str
) -> None:
    with backend.open() as s:
        s.upsert(corpus.points[:2])
    with pytest.raises(CollectionMismatchError) as err:
        backend.open(**change)
    message = str(err.value)
    assert "\n" not in message and named in message and "callscope reindex" in message
    if "model_id" in change:
        assert MODEL in message
    with backend.open() as s:  # the collection itself is untouched
        assert s.count() == 2


def test_closed_store_raises(backend: Backend) -> None:
    s = backend.open()
    s.close()
    s.close()  # idempotent
    with pytest.raises(StoreError):
        s.count()


def test_bad_settings_are_config_errors(backend: Backend) -> None:
    with pytest.raises(ConfigError):
        backend.open(dim=0)


def test_edge_refuses_a_second_open_and_drops(tmp_path: Path, encoder: Bm25Encoder) -> None:
    path = tmp_path / "c"
    args = {"name": "c", "model_id": MODEL, "dim": DIM, "sparse_model": encoder.model_id}
    store = EdgeStore.open(path, **args)
    with pytest.raises(StoreError, match="already open"):
        EdgeStore.open(path, **args)
    store.drop()
    assert not path.exists() and not (tmp_path / "c.meta.json").exists()
    with EdgeStore.open(path, **{**args, "dim": 4}) as fresh:  # gone: any model may start over
        assert fresh.count() == 0


def test_server_unreachable_is_a_store_error() -> None:
    client = QdrantClient(url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(StoreError, match="unreachable"):
        ServerStore.open(client, name="c", model_id=MODEL, dim=DIM, sparse_model="s")


# ----------------------------------------------------------------- BM25 encoder


def test_bm25_encoder_behaviour(encoder: Bm25Encoder) -> None:
    assert encoder.model_id == "bm25-multilingual-english+zh-stopwords"
    assert encoder.encode_query("").is_empty and encoder.encode_documents(["", " "])[0].is_empty
    # English is stemmed, Chinese is segmented into words, Chinese function words dropped.
    assert encoder.encode_query("refunded").indices == encoder.encode_query("refund").indices
    assert encoder.encode_query("我").is_empty
    assert (
        encoder.encode_query("退款").indices[0]
        in encoder.encode_query("我要退款，耳机坏了").indices
    )
    assert Bm25Encoder("chinese").model_id == "bm25-multilingual-chinese"
    with pytest.raises(ConfigError):
        Bm25Encoder("klingon")


# ----------------------------------------------------------------- durability (Edge)

_WRITER = """
import sys, uuid
from pathlib import Path
import numpy as np
sys.path.insert(0, sys.argv[3])
from retrieval.index import EdgeStore, StoredPoint
store = EdgeStore.open(Path(sys.argv[1]), name="dur", model_id="m", dim=8, sparse_model="s")
batch = int(sys.argv[2])
rng = np.random.default_rng(0)
done = 0
while True:
    vecs = rng.standard_normal((batch, 8)) + 0.01
    store.upsert([StoredPoint(id=str(uuid.uuid4()), dense=v, payload={"n": done}) for v in vecs])
    done += batch
    print(done, flush=True)  # acknowledged: upsert() has returned
"""


def test_edge_keeps_every_acknowledged_batch_after_kill_9(tmp_path: Path) -> None:
    batch, path = 50, tmp_path / "dur"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(batch), str(ROOT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acked = 0
    try:
        while acked < 8 * batch:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line, f"writer died: {proc.stderr.read()}"  # type: ignore[union-attr]
            acked = int(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    # Acknowledgements printed before the kill but not read yet still count.
    for line in proc.stdout:  # type: ignore[union-attr]
        if line.endswith("\n"):
            acked = max(acked, int(line))
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]

    with EdgeStore.open(path, name="dur", model_id="m", dim=8, sparse_model="s") as store:
        count = store.count()
    # Every acknowledged batch survived; at most the one in flight was added, never half of it.
    assert acked <= count <= acked + batch
    assert count % batch == 0


def test_building_the_index_of_a_small_store_changes_nothing(filled: VectorStore) -> None:
    """Below the engine's indexing threshold nothing is built (Edge) and a server builds its
    own indexes: both say False and answer as before."""
    before = [h.id for h in filled.query(dense=[1.0] + [0.0] * 7, limit=3)]
    assert filled.build_index() is False
    assert [h.id for h in filled.query(dense=[1.0] + [0.0] * 7, limit=3)] == before


def test_many_payload_writes_in_one(filled: VectorStore) -> None:
    writes = filled.writes
    updates = [
        ({"call_id": "c1"}, {"categories": ["a"]}),
        ({"call_id": ["c2", "c3"]}, {"categories": ["b"]}),
    ]
    filled.set_payloads(updates, annotation=True)
    assert filled.count({"categories": "a"}) == filled.count({"call_id": "c1"})
    assert filled.count({"categories": "b"}) == filled.count({"call_id": ["c2", "c3"]})
    assert filled.writes == writes  # a note about the calls: nothing derived is stale
    filled.set_payloads([])
    with pytest.raises(InputError):
        filled.set_payloads([({"call_id": "c1"}, {"x": 1}), ({}, {"x": 2})])
    assert filled.count({"categories": "a"}) == filled.count({"call_id": "c1"})  # nothing of it


def test_scroll_reads_only_what_it_is_asked_for(filled: VectorStore, corpus: Corpus) -> None:
    got = {p.id: p for p in filled.scroll(with_vectors="dense", fields=["call_id"])}
    for i, p in enumerate(corpus.points):
        np.testing.assert_allclose(got[p.id].dense, corpus.vectors[i], atol=1e-5)
        assert got[p.id].sparse is None and got[p.id].payload == {"call_id": p.payload["call_id"]}
    for bad in ({"with_vectors": "sparse"}, {"fields": "call_id"}):
        with pytest.raises(InputError):
            list(filled.scroll(**bad))
