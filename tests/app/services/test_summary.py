"""``services.summary.summarize_call``: a stored call (real pipeline, real ledger) summarized
through the runtime's one LLM client against the local OpenAI-compatible test server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from app.core.config import Settings
from app.core.errors import LLMError
from app.runtime import Runtime
from app.services.summary import NO_LLM, NoSuchCall, summarize_call, summary_dict
from retrieval.llm import pii
from tests.llm_fixtures import fast_llm_settings, llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply
from tests.textcalls import text_sources

PHONE = "138-0013-8000"
CALLS = {
    "c-courier": (
        ["delivery_delay"],
        "2026-10-02",
        [
            ("agent", "Thanks for calling, how can I help?"),
            ("customer", f"The courier left my parcel at the wrong house. Call me on {PHONE}."),
            ("agent", "I'm sorry. I will call you back tomorrow before noon with an update."),
        ],
    ),
}
ANSWER = {
    "reason": {"text": "The parcel was left at the wrong house.", "turns": [2]},
    "outcome": {"text": "The agent is looking into it.", "turns": [3, 12]},
    "follow_ups": [
        {"text": "Call the customer back", "by": "agent", "due": "tomorrow", "turns": [3]}
    ],
}


@pytest.fixture
def runtime(make_settings: Callable[..., Settings], embedder) -> Iterator[Runtime]:
    with Runtime(make_settings(), embedder=embedder) as rt:
        assert {r.status for r in rt.pipeline().run(text_sources(CALLS))} == {"indexed"}
        yield rt


def test_summary_cites_turn_time_and_speaker_and_is_cached(
    runtime: Runtime, llm_server: FakeLLMServer, embedder
) -> None:
    runtime.settings.llm = fast_llm_settings(llm_server)
    llm_server.enqueue(Reply.json(ANSWER))
    result = summarize_call(runtime, "c-courier")

    assert result.skipped is None and result.model == llm_server.model
    data = summary_dict(result)
    assert data["status"] == "summarized" and data["reason"]["citations"] == [
        {
            "turn": 2,
            "start": 10.0,
            "end": 18.0,
            "speaker": "customer",
            "text": CALLS["c-courier"][2][1][1],
        }
    ]
    # The call has three turns: T12 is dropped as evidence and reported.
    assert [c["turn"] for c in data["outcome"]["citations"]] == [3]
    assert data["outcome"]["invalid_citations"] == ["12"] and data["flags"] == ["invalid_citations"]
    assert data["follow_ups"][0] | {"citations": []} == {
        "text": "Call the customer back",
        "by": "agent",
        "due": "tomorrow",
        "citations": [],
        "invalid_citations": [],
    }
    assert data["cached"] is False and data["omitted_turns"] is None and data["note"] is None
    [request] = llm_server.requests
    user = request.messages[1]["content"]
    assert "[T3 00:20 agent] I'm sorry. I will call you back tomorrow" in user
    assert "c-courier" not in json.dumps(request.body)  # nothing but the turns is sent
    assert PHONE in user  # a local endpoint: nothing is redacted

    # Asked again (and again after a restart): the response cache answers, the server is idle.
    assert summarize_call(runtime, "c-courier").summary.cached  # type: ignore[union-attr]
    with Runtime(runtime.settings, embedder=embedder) as restarted:
        assert summary_dict(summarize_call(restarted, "c-courier"))["cached"] is True
    assert len(llm_server.requests) == 1


def test_an_external_endpoint_gets_the_call_redacted(
    runtime: Runtime, llm_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.settings.llm = fast_llm_settings(llm_server)
    # The test server is on 127.0.0.1; treat it as an external endpoint.
    monkeypatch.setattr(pii, "is_external", lambda url: True)
    llm_server.enqueue(Reply.json(ANSWER))
    first, again = (summarize_call(runtime, "c-courier") for _ in range(2))

    [request] = llm_server.requests
    assert PHONE not in json.dumps(request.body, ensure_ascii=False)
    assert "Call me on [PHONE]." in request.messages[1]["content"]
    assert [summary_dict(r)["redactions"] for r in (first, again)] == [{"phone": 1}] * 2
    # The reader's citations quote the ledger's transcript, not what was sent.
    assert PHONE in first.summary.reason.citations[0].text  # type: ignore[union-attr]


def test_without_an_llm_the_summary_is_skipped_with_the_reason(runtime: Runtime) -> None:
    assert runtime.llm is None
    result = summarize_call(runtime, "c-courier")
    assert (result.summary, result.skipped) == (None, NO_LLM)
    data = summary_dict(result)
    assert data["status"] == "skipped" and data["skipped_reason"] == NO_LLM
    assert data["reason"] is None and data["follow_ups"] == []


def test_a_call_without_words_is_skipped_and_an_unknown_call_is_not_found(
    runtime: Runtime, llm_server: FakeLLMServer
) -> None:
    runtime.settings.llm = fast_llm_settings(llm_server)
    runtime.ledger.upsert(
        "c-broken",
        collection=runtime.turns.info.name,
        kind="audio",
        origin="broken.mp3",
        content_hash="h",
        state="failed",
        error="not a decodable audio file",
    )
    skipped = summarize_call(runtime, "c-broken")
    assert skipped.skipped == "call 'c-broken' has no words to summarize (state: failed)"
    with pytest.raises(NoSuchCall, match="no call 'nope'"):
        summarize_call(runtime, "nope")
    assert llm_server.requests == []


def test_an_endpoint_that_keeps_failing_is_an_llm_error(
    runtime: Runtime, llm_server: FakeLLMServer
) -> None:
    runtime.settings.llm = fast_llm_settings(llm_server, max_retries=1)
    llm_server.default = Reply.error(503)
    with pytest.raises(LLMError, match="503"):
        summarize_call(runtime, "c-courier")
    assert len(llm_server.requests) == 2  # the request and its one retry
