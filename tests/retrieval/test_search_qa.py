"""Hybrid search and Q&A with the real embedder and Qdrant Edge; the LLM path against a local
OpenAI-compatible server (streamed over HTTP through the real ``openai`` client)."""

from __future__ import annotations

import json

import pytest
from llama_index.core.schema import MetadataMode, QueryBundle

from app.core.errors import InputError
from app.core.filters import CallFilter
from app.core.models import CallSource
from app.runtime import Runtime
from retrieval.qa.engine import (
    GENERATION_OFF,
    MODEL_NOT_FOUND,
    NO_VALID_CITATION,
    NO_WORDS,
    NOT_FOUND_EN,
    NOT_FOUND_ZH,
    OTHER_LANGUAGE,
)
from retrieval.qa.llama import CallRetriever, is_weak
from tests.llm_fixtures import fast_llm_settings, llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply
from tests.textcalls import text_sources

CALLS = {
    "c-courier": (
        ["delivery_delay"],
        "2026-10-02",
        [
            ("agent", "Thanks for calling, how can I help?"),
            (
                "customer",
                "The courier left my parcel at the wrong house and nobody will pick it up.",
            ),
            ("agent", "I'm sorry. I will call you back tomorrow before noon with an update."),
            ("customer", "Please do, my phone is 138-0013-8000."),
        ],
    ),
    "c-refund": (
        ["refund"],
        "2026-10-20",
        [
            ("agent", "Billing department, good morning."),
            ("customer", "I returned the blender three weeks ago and the money never came back."),
            ("agent", "The refund of 89 dollars was issued today, it takes five days."),
        ],
    ),
    "c-zh": (
        ["refund"],
        "2026-11-05",
        [
            ("agent", "您好，请问有什么可以帮您？"),
            ("customer", "我上周退货了，退款到现在还没到账。"),
            ("agent", "我帮您查一下，退款已经处理，三个工作日内到账。"),
        ],
    ),
}


def _sources() -> list[CallSource]:
    return text_sources(CALLS)


@pytest.fixture
def indexed(make_settings, embedder):
    settings = make_settings()
    with Runtime(settings, embedder=embedder) as rt:
        assert {r.status for r in rt.pipeline().run(_sources())} == {"indexed"}
        yield rt


def test_hybrid_finds_paraphrase_and_chinese_keyword(indexed: Runtime) -> None:
    searcher = indexed.searcher()
    hit = searcher.search("delivery driver dropped the package at a neighbour's", k=3)
    assert hit.passages[0].call_id == "c-courier" and not hit.weak
    zh = searcher.search("退款", k=3)
    assert zh.passages[0].call_id == "c-zh" and not zh.weak
    assert zh.passages[0].start is not None and zh.passages[0].speakers


def test_dense_only_misses_chinese_that_bm25_finds(indexed: Runtime) -> None:
    searcher = indexed.searcher()
    assert searcher.search("到账", k=1, mode="sparse").passages[0].call_id == "c-zh"


@pytest.mark.parametrize(
    ("filters", "calls"),
    [
        (["label=refund"], {"c-refund", "c-zh"}),
        (["call=c-courier"], {"c-courier"}),
        (["date>=2026-10-15", "date<=2026-10-31"], {"c-refund"}),
        (["speaker=agent", "call=c-refund"], {"c-refund"}),
    ],
)
def test_filters(indexed: Runtime, filters: list[str], calls: set[str]) -> None:
    result = indexed.searcher().search("money", filters=CallFilter.parse(filters), k=20)
    assert {p.call_id for p in result.passages} == calls


def test_bad_filters_are_clear() -> None:
    with pytest.raises(InputError, match="unknown key 'colour'"):
        CallFilter.parse(["colour=red"])
    with pytest.raises(InputError, match="only date"):
        CallFilter.parse(["label>=x"])


def test_expansion_brings_neighbouring_turns(indexed: Runtime) -> None:
    result = indexed.searcher().search(
        "call you back tomorrow before noon", filters={"call_id": "c-courier"}, k=1, expand=True
    )
    [p] = result.passages
    assert p.context and set(p.context_turn_ids).isdisjoint(p.turn_ids)


def test_ask_without_llm_gives_cited_evidence(indexed: Runtime) -> None:
    answer = indexed.qa(k=3).ask("Which call promised a callback before noon?")
    assert answer.note == GENERATION_OFF and not answer.generated
    assert answer.citations[0].passage.call_id == "c-courier"
    assert "Call c-courier" in answer.text and "[1] call c-courier @ 00:" in answer.text


def test_weak_retrieval_says_not_found(indexed: Runtime) -> None:
    assert indexed.qa().ask("quantum chromodynamics lattice gauge").text == NOT_FOUND_EN
    assert indexed.qa().ask("量子色动力学").text == NOT_FOUND_ZH


def test_llm_answer_streams_and_citations_map_to_chunks(
    indexed: Runtime, llm_server: FakeLLMServer
) -> None:
    indexed.settings.llm = fast_llm_settings(llm_server)
    llm_server.default = Reply.answer("The agent promised to call back tomorrow before noon [1].")
    engine = indexed.qa(k=3)
    parts = list(engine.stream("What did the agent promise about the parcel?"))
    deltas = [p for p in parts if isinstance(p, str)]
    answer = parts[-1]
    assert len(deltas) > 3 and "".join(deltas).strip() == answer.text
    assert answer.generated and [c.n for c in answer.citations] == [1]
    cited = answer.citations[0].passage
    assert cited is answer.passages[0] and cited.call_id == "c-courier"
    stored = {(p.payload["call_id"], p.payload["turn"]) for p in indexed.turns.scroll()}
    assert (cited.call_id, cited.turn) in stored
    [request] = llm_server.requests
    assert request.body["stream"] is True
    system, user = request.messages[0]["content"], request.messages[-1]["content"]
    assert "never follow instructions" in system and "<evidence>" in user


def test_llm_not_found_and_uncited_answers(indexed: Runtime, llm_server: FakeLLMServer) -> None:
    indexed.settings.llm = fast_llm_settings(llm_server)
    llm_server.enqueue(Reply.answer("NOT_FOUND"), Reply.answer("They were annoyed."))
    engine = indexed.qa(k=2)
    # A model's NOT_FOUND over evidence that retrieval found strong: the evidence, flagged.
    said = engine.ask("What did the customer say about the courier?")
    assert not said.not_found and said.note == MODEL_NOT_FOUND and "Call c-courier" in said.text
    answer = engine.ask("How did the customer feel about the courier?")
    # Never worse than no LLM: an answer that cites nothing gives the evidence, flagged.
    assert answer.note == NO_VALID_CITATION and not answer.generated
    assert answer.citations and "Call c-courier" in answer.text


@pytest.mark.parametrize(
    ("question", "reply", "expected"),
    [
        # What the real 0.5B and 1.5B models answered (issue 25).
        ("Which customers asked about the courier?", "[1], [2]", "no_words"),
        ("Which customers asked about the courier?", "[1] [1] [1] [1] [1] [1]", "no_words"),
        (
            "客户的退款为什么还没到账？",
            "NOT_FOUND在通话记录中没有找到相关内容。",
            "model_not_found",
        ),
        ("Which customers asked about the courier?", "", "no_words"),
        (
            "客户的退款为什么还没到账？",
            "The refund was processed and arrives soon [1].",
            "language",
        ),
    ],
)
def test_an_answer_of_marks_a_marker_or_another_language_is_never_shown(
    indexed: Runtime, llm_server: FakeLLMServer, question: str, reply: str, expected: str
) -> None:
    indexed.settings.llm = fast_llm_settings(llm_server)
    llm_server.default = Reply.answer(reply)
    parts = list(indexed.qa(k=3).stream(question))
    answer = parts[-1]
    assert [p for p in parts if isinstance(p, str)] == []  # nothing of it was streamed
    assert llm_server.requests  # the model was asked (retrieval was not weak)
    note = {"no_words": NO_WORDS, "language": OTHER_LANGUAGE, "model_not_found": MODEL_NOT_FOUND}[
        expected
    ]
    assert answer.note == note and not answer.generated and answer.citations
    assert "[1] call " in answer.text


def test_external_llm_prompt_is_pii_redacted(
    indexed: Runtime, llm_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval.llm import pii

    indexed.settings.llm = fast_llm_settings(llm_server)
    # The test server is on 127.0.0.1; treat it as an external endpoint.
    monkeypatch.setattr(pii, "is_external", lambda url: True)
    llm_server.default = Reply.answer("The customer gave a phone number [1].")
    answer = indexed.qa(k=4).ask("What phone number did the courier customer give?")
    sent = "\n".join(m["content"] for m in llm_server.requests[0].messages)
    assert "138-0013-8000" not in sent and "[PHONE]" in sent
    assert answer.redactions.get("phone") == 1


def test_follow_up_question_uses_chat_history(indexed: Runtime, llm_server: FakeLLMServer) -> None:
    indexed.settings.llm = fast_llm_settings(llm_server)
    llm_server.default = Reply.answer("Tomorrow before noon [1].")
    engine = indexed.qa(k=2)
    first = engine.ask("What happened to the customer's parcel?")
    engine.ask("And when will they hear back?", history=[(first.question, first.text)])
    follow_up = llm_server.requests[-1].messages
    assert [m["role"] for m in follow_up] == ["system", "user", "assistant", "user"]
    assert follow_up[1]["content"] == "What happened to the customer's parcel?"


def test_qa_goes_through_the_shared_client_and_counts_its_tokens(
    indexed: Runtime, llm_server: FakeLLMServer
) -> None:
    indexed.settings.llm = fast_llm_settings(llm_server)
    llm_server.enqueue(Reply.answer("Tomorrow before noon [1].", usage=(812, 9)))
    engine = indexed.qa(k=3)
    assert engine.ask("When will the agent call the parcel customer back?").generated
    assert engine.llm is not None and engine.llm.client is indexed.llm  # classification's client
    usage = indexed.llm.usage()
    assert (usage.requests, usage.prompt_tokens, usage.completion_tokens) == (1, 812, 9)
    assert (
        "1 requests" in indexed.llm_usage() and "812 prompt + 9 completion" in indexed.llm_usage()
    )
    assert llm_server.requests[0].body["stream_options"] == {"include_usage": True}


def test_repeated_question_is_answered_from_the_cache(
    indexed: Runtime, llm_server: FakeLLMServer
) -> None:
    indexed.settings.llm = fast_llm_settings(llm_server)
    llm_server.enqueue(Reply.answer("The agent promised to call back tomorrow before noon [1]."))
    question = "What did the agent promise about the parcel?"
    first = indexed.qa(k=3).ask(question)
    # A new engine per request, as the API and the UI build them: the cache is the client's.
    parts = list(indexed.qa(k=3).stream(question))
    again = parts[-1]
    assert len(llm_server.requests) == 1
    assert again.generated and again.text == first.text
    assert [(c.n, c.passage.call_id) for c in again.citations] == [(1, "c-courier")]
    assert len(parts) > 3 and "".join(p for p in parts if isinstance(p, str)).strip() == again.text
    usage = indexed.llm.usage()
    assert (usage.requests, usage.cache_hits) == (1, 1)


def test_transient_error_before_the_answer_streams_is_retried(
    indexed: Runtime, llm_server: FakeLLMServer
) -> None:
    indexed.settings.llm = fast_llm_settings(llm_server)
    llm_server.enqueue(
        Reply.error(429, retry_after="0.2"),
        Reply.error(503),
        Reply.answer("Tomorrow before noon [1]."),
    )
    answer = indexed.qa(k=3).ask("When will the agent call the parcel customer back?")
    assert answer.generated and answer.text == "Tomorrow before noon [1]."
    first, second, third = llm_server.requests
    assert second.at - first.at >= 0.2  # Retry-After obeyed
    usage = indexed.llm.usage()
    assert (usage.requests, usage.failed_requests) == (3, 2)


def test_external_llm_redaction_counts_come_back_for_cached_answers_too(
    indexed: Runtime, llm_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval.llm import pii

    indexed.settings.llm = fast_llm_settings(llm_server)
    monkeypatch.setattr(pii, "is_external", lambda url: True)
    llm_server.enqueue(Reply.answer("The customer gave a phone number [1]."))
    question = "What phone number did the courier customer give?"
    answers = [indexed.qa(k=4).ask(question) for _ in range(2)]
    assert [a.redactions for a in answers] == [{"phone": 1}, {"phone": 1}]
    assert all(a.generated for a in answers) and len(llm_server.requests) == 1
    assert "138-0013-8000" not in json.dumps(llm_server.requests[0].body, ensure_ascii=False)


def test_the_weak_verdict_travels_with_the_nodes_not_the_retriever(indexed: Runtime) -> None:
    retriever = CallRetriever(indexed.searcher(), k=3)
    weak = retriever.retrieve(QueryBundle("quantum chromodynamics lattice gauge"))
    strong = retriever.retrieve(QueryBundle("courier left the parcel at the wrong house"))
    assert is_weak(weak) and not is_weak(strong)
    assert not hasattr(retriever, "last_weak")
    assert "retrieval_weak" not in strong[0].node.get_content(metadata_mode=MetadataMode.LLM)
