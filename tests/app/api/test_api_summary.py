"""``GET /api/calls/{id}/summary`` through the real app over the indexed test calls, without an
LLM and with the local OpenAI-compatible test server."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.api.app import create_app
from app.runtime import Runtime
from app.services.summary import NO_LLM
from tests.app.conftest import AUTH
from tests.llm_fixtures import fast_llm_settings, llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply

ANSWER = {
    "reason": {"text": "The courier left the parcel at the wrong house.", "turns": [2]},
    "outcome": {"text": "The agent will look into it.", "turns": [3]},
    "follow_ups": [{"text": "Call back", "by": "agent", "due": "tomorrow noon", "turns": [3]}],
}


def test_without_llm_the_summary_is_skipped_and_unknown_calls_are_404(
    client: TestClient,
) -> None:
    r = client.get("/api/calls/c-courier/summary", headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "skipped" and body["skipped_reason"] == NO_LLM
    assert body["reason"] is None and body["follow_ups"] == []

    missing = client.get("/api/calls/no-such-call/summary", headers=AUTH)
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "no call 'no-such-call'"}}
    assert client.get("/api/calls/c-courier/summary").status_code == 401


def test_summary_with_llm_cites_turns_and_is_cached(
    runtime: Runtime, llm_server: FakeLLMServer
) -> None:
    runtime.settings.llm = fast_llm_settings(llm_server)
    llm_server.enqueue(Reply.json(ANSWER))
    with TestClient(create_app(runtime=runtime)) as c:
        first = c.get("/api/calls/c-courier/summary", headers=AUTH)
        second = c.get("/api/calls/c-courier/summary", headers=AUTH)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "summarized" and body["model"] == llm_server.model
    [cited] = body["follow_ups"][0]["citations"]
    assert cited == {
        "turn": 3,
        "start": 20.0,
        "end": 28.0,
        "speaker": "agent",
        "text": "I'm sorry. I will call you back tomorrow before noon with an update.",
    }
    assert body["follow_ups"][0]["due"] == "tomorrow noon" and body["flags"] == []
    assert (body["cached"], second.json()["cached"]) == (False, True)
    assert {k: v for k, v in second.json().items() if k != "cached"} == {
        k: v for k, v in body.items() if k != "cached"
    }
    assert len(llm_server.requests) == 1


def test_a_failing_llm_is_a_502_in_the_error_shape(
    runtime: Runtime, llm_server: FakeLLMServer
) -> None:
    runtime.settings.llm = fast_llm_settings(llm_server, max_retries=0)
    llm_server.default = Reply.error(500)
    with TestClient(create_app(runtime=runtime)) as c:
        r = c.get("/api/calls/c-refund/summary", headers=AUTH)
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "llm_error"
