"""``/api/topics`` through the real app over the topic corpus (real MiniLM, Qdrant Edge):
discover, read the run and a topic, label it; errors in the one error shape."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.runtime import Runtime
from tests.app.conftest import AUTH, KEY
from tests.topiccalls import PLANTED, sources


@pytest.fixture
def runtime(make_settings: Callable[..., Settings], embedder) -> Iterator[Runtime]:
    with Runtime(make_settings(api={"api_keys": [KEY]}), embedder=embedder) as rt:
        assert {r.status for r in rt.pipeline().run(sources())} == {"indexed"}
        yield rt


def test_discover_read_and_label_over_http(client: TestClient, runtime: Runtime) -> None:
    missing = client.get("/api/topics", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

    r = client.post("/api/topics", json={"method": "hdbscan", "scope": "unlabeled"}, headers=AUTH)
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["method"] == "hdbscan" and run["pool"] == 14 and run["llm"] is None
    [topic] = [t for t in run["topics"] if t["calls"][0]["call_id"] in PLANTED]
    assert sorted(c["call_id"] for c in topic["calls"]) == PLANTED

    assert client.get("/api/topics", headers=AUTH).json() == run
    assert client.get("/api/topics", params={"run": run["run_id"]}, headers=AUTH).json() == run
    listed = client.get("/api/topics/runs", headers=AUTH).json()
    assert [x["run_id"] for x in listed] == [run["run_id"]] and listed[0]["topics"] >= 1

    shown = client.get(f"/api/topics/{topic['id']}", headers=AUTH).json()
    assert shown["suggested_label"] == topic["suggested_label"]
    assert all(c["labels_now"] == [] for c in shown["calls"])

    body = {"name": "smart_home", "exclude": ["t0"], "run": run["run_id"]}
    labeled = client.post(f"/api/topics/{topic['id']}/label", json=body, headers=AUTH)
    assert labeled.status_code == 200, labeled.text
    assert len(labeled.json()["changed"]) == 5 and runtime.ledger.get("t1").labels == ["smart_home"]
    assert runtime.ledger.history("t1")[0]["source"].endswith("(api)")
    # Two calls make no topic: such a run is listed only when asked for.
    empty = client.post("/api/topics", json={"max_calls": 2}, headers=AUTH).json()
    assert empty["topics"] == []
    listed = client.get("/api/topics/runs", headers=AUTH).json()
    assert [x["run_id"] for x in listed] == [run["run_id"]]
    every = client.get("/api/topics/runs", params={"include_empty": True}, headers=AUTH).json()
    assert [x["run_id"] for x in every] == [empty["run_id"], run["run_id"]]
    assert client.get("/api/topics", headers=AUTH).json()["run_id"] == empty["run_id"]


def test_bad_requests_get_the_error_shape(client: TestClient) -> None:
    assert client.post("/api/topics", json={}).status_code == 401
    bad = client.post("/api/topics", json={"method": "kmeans"}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    extra = client.post("/api/topics", json={"k": 3}, headers=AUTH)
    assert extra.status_code == 422
    assert client.get("/api/topics", params={"run": "../x"}, headers=AUTH).status_code == 422
    assert client.post("/api/topics", json={}, headers=AUTH).status_code == 200
    gone = client.get("/api/topics/99", headers=AUTH)
    assert gone.status_code == 404 and "no topic 99" in gone.json()["error"]["message"]
    other = client.get("/api/topics", params={"run": "20200101-000000-000000"}, headers=AUTH)
    assert other.status_code == 404
    reserved = client.post("/api/topics/1/label", json={"name": "unknown"}, headers=AUTH)
    assert reserved.status_code == 400 and reserved.json()["error"]["code"] == "invalid_input"
    stranger = client.post(
        "/api/topics/1/label", json={"name": "x", "exclude": ["nope"]}, headers=AUTH
    )
    assert stranger.status_code == 400 and "not calls of topic 1" in stranger.text
