"""LLMClient against a real HTTP server speaking the OpenAI chat API, through the openai client."""

from __future__ import annotations

import email.utils
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.core.config import LLMSettings, PIISettings
from app.core.errors import ConfigError, LLMError
from retrieval.llm.client import LLMClient, LLMOutputError, parse_json_object
from retrieval.llm.pii import redactor_for
from retrieval.llm.prompts import count_prompt_tokens, count_text_tokens
from tests.llm_fixtures import fast_llm_settings, llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply

MESSAGES = [
    {"role": "system", "content": "Answer in JSON."},
    {"role": "user", "content": "Is the sky blue?"},
]
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}


def make_client(
    server: FakeLLMServer, sleeps: list[float] | None = None, cache: Path | None = None, **kw
) -> LLMClient:
    sink = sleeps if sleeps is not None else []
    return LLMClient(fast_llm_settings(server, **kw), cache_path=cache, sleep=sink.append)


def ask(client: LLMClient, messages: list[dict] = MESSAGES):
    return client.complete_json(messages, schema=SCHEMA, schema_name="answer")


def test_valid_answer_uses_strict_json_schema(llm_server: FakeLLMServer) -> None:
    llm_server.enqueue(Reply.json({"answer": "yes"}, usage=(120, 7)))
    with make_client(llm_server) as client:
        reply = ask(client)
        usage = client.usage()

    assert reply.data == {"answer": "yes"}
    assert (reply.cached, reply.usage, reply.mode) == (False, (120, 7), "json_schema")
    assert len(reply.prompt_hash) == 64
    body = llm_server.requests[0].body
    assert body["model"] == "fake-model"
    assert body["messages"] == MESSAGES
    assert body["temperature"] == 0.0
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True},
    }
    assert (usage.requests, usage.failed_requests, usage.cache_hits) == (1, 0, 0)
    assert (usage.prompt_tokens, usage.completion_tokens) == (120, 7)


def test_missing_api_key_sends_placeholder(llm_server: FakeLLMServer) -> None:
    llm_server.enqueue(Reply.json({"answer": "yes"}))
    with make_client(llm_server) as client:
        ask(client)
    assert llm_server.requests[0].headers["authorization"] == "Bearer not-needed"


def test_json_schema_rejected_falls_back_to_json_object_and_remembers(
    llm_server: FakeLLMServer,
) -> None:
    llm_server.reject_json_schema = True
    llm_server.enqueue(Reply.json({"answer": "a"}), Reply.json({"answer": "b"}))
    with make_client(llm_server) as client:
        first = ask(client)
        second = ask(client, [*MESSAGES, {"role": "user", "content": "And the sea?"}])
        usage = client.usage()

    assert (first.data, first.mode) == ({"answer": "a"}, "json_object_schema")
    assert (second.data, second.mode) == ({"answer": "b"}, "json_object_schema")
    kinds = [r.response_format["type"] for r in llm_server.requests]
    # One probe that was refused, then json_object only: the second call does not re-probe.
    assert kinds == ["json_schema", "json_object", "json_object"]
    assert client.mode == "json_object_schema"
    assert (usage.requests, usage.failed_requests) == (3, 1)


def test_llama_cpp_refusing_json_schema_with_a_500_gets_the_schema_inside_json_object_at_once(
    llm_server: FakeLLMServer, tmp_path: Path
) -> None:
    """llama.cpp's server answers json_schema with HTTP 500: no retries (they took ~27 s), the
    schema goes inside json_object (where it becomes a grammar), and a new client of the same
    endpoint (a new process) starts with that form."""
    llm_server.like_llama_cpp = True
    llm_server.enqueue(Reply.json({"answer": "a"}), Reply.json({"answer": "b"}))
    sleeps: list[float] = []
    cache = tmp_path / "cache.sqlite"
    with make_client(llm_server, sleeps, cache=cache) as client:
        first = ask(client)
    with make_client(llm_server, sleeps, cache=cache) as again:
        second = ask(again, [*MESSAGES, {"role": "user", "content": "And the sea?"}])

    assert (first.data, first.mode) == ({"answer": "a"}, "json_object_schema")
    assert (second.data, second.mode) == ({"answer": "b"}, "json_object_schema")
    assert sleeps == []
    formats = [r.response_format for r in llm_server.requests]
    assert [f["type"] for f in formats] == ["json_schema", "json_object", "json_object"]
    assert formats[1] == {"type": "json_object", "schema": SCHEMA} == formats[2]


def test_a_remembered_form_refused_later_is_probed_again(
    llm_server: FakeLLMServer, tmp_path: Path
) -> None:
    """Another server behind the same address: the remembered form is tried first, then the
    others; a form set in the settings is the only one ever sent."""
    cache = tmp_path / "cache.sqlite"
    llm_server.reject_json_schema = True
    llm_server.enqueue(Reply.json({"answer": "a"}))
    with make_client(llm_server, cache=cache) as client:
        assert ask(client).mode == "json_object_schema"
    llm_server.reject_json_schema, llm_server.reject_json_object = False, True
    llm_server.enqueue(Reply.json({"answer": "b"}))
    with make_client(llm_server, cache=cache) as client:
        assert ask(client, [*MESSAGES, {"role": "user", "content": "b"}]).mode == "json_schema"
    kinds = [r.response_format["type"] for r in llm_server.requests]
    assert kinds == ["json_schema", "json_object", "json_object", "json_schema"]

    llm_server.requests.clear()
    with make_client(llm_server, response_mode="json_object") as fixed:
        with pytest.raises(LLMError, match="HTTP 400"):
            ask(fixed, [*MESSAGES, {"role": "user", "content": "c"}])
    assert len(llm_server.requests) == 1


def test_no_structured_output_falls_back_to_text_and_parses_fenced_json(
    llm_server: FakeLLMServer,
) -> None:
    llm_server.reject_json_schema = llm_server.reject_json_object = True
    llm_server.enqueue(Reply.answer('Sure!\n```json\n{"answer": "fenced"}\n```\nAnything else?'))
    with make_client(llm_server) as client:
        reply = ask(client)

    assert (reply.data, reply.mode) == ({"answer": "fenced"}, "text")
    formats = [r.response_format for r in llm_server.requests]
    assert [f and f["type"] for f in formats] == ["json_schema", "json_object", "json_object", None]


def test_malformed_json_raises_output_error_and_is_not_cached(
    llm_server: FakeLLMServer, tmp_path: Path
) -> None:
    llm_server.enqueue(Reply.answer('{"answer": "yes"'), Reply.json({"answer": "yes"}))
    with make_client(llm_server, cache=tmp_path / "cache.sqlite") as client:
        with pytest.raises(LLMOutputError) as info:
            ask(client)
        assert info.value.raw == '{"answer": "yes"'
        assert info.value.prompt_hash == client.prompt_hash(
            MESSAGES, schema=SCHEMA, schema_name="answer"
        )
        # A garbled answer is asked again, not served from the cache.
        assert ask(client).data == {"answer": "yes"}
    assert len(llm_server.requests) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ('The answer is {"a": {"b": [1, 2]}} as asked.', {"a": {"b": [1, 2]}}),
        ('<think>maybe {"a": 0}?</think>\n{"a": 2}', {"a": 2}),
        ("[1, 2]", None),
        ('{"a": 1', None),
        ("no json here", None),
    ],
)
def test_parse_json_object(text: str, expected: dict | None) -> None:
    assert parse_json_object(text) == expected


def test_429_retry_after_is_honoured(llm_server: FakeLLMServer) -> None:
    llm_server.enqueue(Reply.error(429, retry_after=3), Reply.json({"answer": "yes"}))
    sleeps: list[float] = []
    with make_client(llm_server, sleeps) as client:
        assert ask(client).data == {"answer": "yes"}
        usage = client.usage()
    assert sleeps == [3.0]
    assert (usage.requests, usage.failed_requests) == (2, 1)


def test_retry_after_is_capped_and_503_honoured(llm_server: FakeLLMServer) -> None:
    llm_server.enqueue(
        Reply.error(503, retry_after=7200),
        Reply.error(503, retry_after="0.5"),
        Reply.json({"answer": "yes"}),
    )
    sleeps: list[float] = []
    with make_client(llm_server, sleeps, retry_after_max=45.0) as client:
        assert ask(client).data == {"answer": "yes"}
    assert sleeps == [45.0, 0.5]


def test_retry_after_ms_and_http_date(llm_server: FakeLLMServer) -> None:
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    llm_server.enqueue(
        Reply(status=429, headers={"retry-after-ms": "250"}),
        Reply(status=429, headers={"Retry-After": later}),
        Reply(status=429, headers={"Retry-After": "soon"}),  # unparseable: plain backoff
        Reply.json({"answer": "yes"}),
    )
    sleeps: list[float] = []
    with make_client(
        llm_server, sleeps, max_retries=3, backoff_initial=0.5, backoff_max=30.0
    ) as client:
        assert ask(client).data == {"answer": "yes"}
    assert sleeps[0] == 0.25
    assert 8.0 < sleeps[1] <= 10.0
    assert 2.0 <= sleeps[2] <= 2.5  # third attempt: 0.5 * 2**2, plus jitter


def test_500_is_retried_with_backoff_then_succeeds(llm_server: FakeLLMServer) -> None:
    llm_server.enqueue(Reply.error(500), Reply.error(502), Reply.json({"answer": "yes"}))
    sleeps: list[float] = []
    with make_client(llm_server, sleeps, backoff_initial=1.0, backoff_max=30.0) as client:
        assert ask(client).data == {"answer": "yes"}
    # Exponential: 1 s then 2 s, each plus up to backoff_initial of jitter.
    assert len(sleeps) == 2
    assert 1.0 <= sleeps[0] <= 2.0
    assert 2.0 <= sleeps[1] <= 3.0


def test_500_forever_gives_one_line_llm_error(llm_server: FakeLLMServer) -> None:
    llm_server.default = Reply.error(500, message="model crashed\nstack trace line")
    with make_client(llm_server, max_retries=3) as client:
        with pytest.raises(LLMError) as info:
            ask(client)
        usage = client.usage()
    message = str(info.value)
    assert "\n" not in message
    assert "HTTP 500" in message and "model crashed" in message and "4 attempts" in message
    assert not isinstance(info.value, LLMOutputError)
    # 500 is not a response_format rejection: no json_object probe.
    assert len(llm_server.requests) == 4
    assert (usage.requests, usage.failed_requests) == (4, 4)


def test_timeout_is_retried(llm_server: FakeLLMServer) -> None:
    llm_server.enqueue(Reply.slow(1.5, '{"answer": "late"}'), Reply.json({"answer": "yes"}))
    sleeps: list[float] = []
    with make_client(llm_server, sleeps, timeout=0.2) as client:
        assert ask(client).data == {"answer": "yes"}
        usage = client.usage()
    assert len(sleeps) == 1
    assert (usage.requests, usage.failed_requests) == (2, 1)


def test_timeout_forever_names_the_timeout(llm_server: FakeLLMServer) -> None:
    llm_server.default = Reply.slow(1.0)
    with make_client(llm_server, timeout=0.1, max_retries=1) as client:
        # The retry after a timeout is given twice the time: the message names what it had.
        with pytest.raises(LLMError, match=r"timed out after 0.2s \(after 2 attempts\)"):
            ask(client)


def test_a_slow_endpoint_is_waited_for_as_its_measured_pace_says(
    llm_server: FakeLLMServer,
) -> None:
    """A model slower than LLM__TIMEOUT: the retry after the timeout gets twice the time and
    its answer is measured; the next request, longer, is given what that pace predicts and is
    answered at the first try (one fixed timeout would fail every request)."""
    llm_server.default = Reply.slow(0.5, '{"answer": "yes"}')
    with make_client(llm_server, timeout=0.3, max_retries=1) as client:
        assert ask(client).data == {"answer": "yes"}  # 0.3 s: timed out; 0.6 s: answered
        assert len(llm_server.requests) == 2
        longer = [{"role": "user", "content": "Is this call resolved? " * 40}]
        assert ask(client, longer).data == {"answer": "yes"}
        assert len(llm_server.requests) == 3 and client.usage().failed_requests == 1


@pytest.mark.parametrize("status", [401, 404])
def test_other_4xx_are_not_retried(llm_server: FakeLLMServer, status: int) -> None:
    llm_server.enqueue(Reply.error(status, message="nope"))
    sleeps: list[float] = []
    with make_client(llm_server, sleeps, response_mode="text") as client:
        with pytest.raises(LLMError, match=f"HTTP {status}: nope"):
            ask(client)
    assert sleeps == []
    assert len(llm_server.requests) == 1


def test_exhausted_quota_429_is_not_retried(llm_server: FakeLLMServer) -> None:
    llm_server.enqueue(Reply.error(429, message="quota exceeded", code="insufficient_quota"))
    sleeps: list[float] = []
    with make_client(llm_server, sleeps, response_mode="text") as client:
        with pytest.raises(LLMError, match="HTTP 429: quota exceeded"):
            ask(client)
    assert sleeps == []
    assert len(llm_server.requests) == 1


def test_unreachable_endpoint_is_an_llm_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = LLMSettings(
        base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=1, backoff_initial=0.0
    )
    sleeps: list[float] = []
    with LLMClient(settings, cache_path=None, sleep=sleeps.append) as client:
        with pytest.raises(LLMError, match="cannot reach LLM endpoint"):
            ask(client)
    assert len(sleeps) == 1


def test_injected_httpx_client_carries_requests_and_stays_open(llm_server: FakeLLMServer) -> None:
    seen: list[httpx.Request] = []
    http = httpx.Client(event_hooks={"request": [seen.append]})
    llm_server.enqueue(Reply.json({"answer": "yes"}))
    with LLMClient(fast_llm_settings(llm_server), cache_path=None, http_client=http) as client:
        assert ask(client).data == {"answer": "yes"}
    assert [str(r.url) for r in seen] == [f"{llm_server.base_url}/chat/completions"]
    assert not http.is_closed  # the caller's client is the caller's to close
    http.close()


def test_cache_hit_on_rerun_sends_nothing(llm_server: FakeLLMServer, tmp_path: Path) -> None:
    cache = tmp_path / "state" / "llm_cache.sqlite"
    llm_server.enqueue(Reply.json({"answer": "yes"}, usage=(100, 5)))
    with make_client(llm_server, cache=cache) as client:
        first = ask(client)
        before = client.usage()
        again = ask(client)
        after = client.usage()
    assert (again.data, again.cached, again.usage) == (first.data, True, (0, 0))
    assert again.prompt_hash == first.prompt_hash
    assert after.cache_hits == before.cache_hits + 1
    assert (after.requests, after.prompt_tokens, after.completion_tokens, after.cost) == (
        before.requests,
        before.prompt_tokens,
        before.completion_tokens,
        before.cost,
    )

    # A new client (a re-run of the batch) reads the same file.
    with make_client(llm_server, cache=cache) as rerun:
        reply = ask(rerun)
        usage = rerun.usage()
    assert (reply.data, reply.cached, reply.mode) == ({"answer": "yes"}, True, "json_schema")
    assert (usage.requests, usage.cache_hits, usage.prompt_tokens) == (0, 1, 0)
    assert len(llm_server.requests) == 1


def test_cache_key_covers_model_messages_and_schema(llm_server: FakeLLMServer) -> None:
    with make_client(llm_server) as client, make_client(llm_server, model="other") as other:
        base = client.prompt_hash(MESSAGES, schema=SCHEMA, schema_name="answer")
        assert base == client.prompt_hash(
            json.loads(json.dumps(MESSAGES)), schema=SCHEMA, schema_name="answer"
        )
        assert base != other.prompt_hash(MESSAGES, schema=SCHEMA, schema_name="answer")
        assert base != client.prompt_hash(MESSAGES[:1], schema=SCHEMA, schema_name="answer")
        assert base != client.prompt_hash(MESSAGES, schema={"type": "object"}, schema_name="answer")


def test_cost_and_concurrent_counters(llm_server: FakeLLMServer, tmp_path: Path) -> None:
    llm_server.default = Reply.json({"answer": "yes"}, usage=(1000, 200))
    with make_client(
        llm_server,
        cache=tmp_path / "c.sqlite",
        price_per_1k_input=0.5,
        price_per_1k_output=2.0,
    ) as client:
        prompts = [[{"role": "user", "content": f"question {i} in JSON"}] for i in range(16)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(lambda m: ask(client, m), prompts))
        with ThreadPoolExecutor(max_workers=8) as pool:
            again = list(pool.map(lambda m: ask(client, m), prompts))
        usage = client.usage()
    assert all(r.data == {"answer": "yes"} for r in replies)
    assert all(r.cached for r in again)
    assert (usage.requests, usage.cache_hits) == (16, 16)
    assert (usage.prompt_tokens, usage.completion_tokens) == (16_000, 3_200)
    assert usage.cost == pytest.approx(16 * (0.5 + 0.4))


def test_unconfigured_llm_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="LLM__BASE_URL"):
        LLMClient(LLMSettings(), cache_path=None)


# -- streamed text answers (Q&A) -------------------------------------------------------------

QUESTION = [
    {"role": "system", "content": "Answer from the evidence, citing [n]."},
    {"role": "user", "content": "When will the agent call back? My number is 138-0013-8000."},
]
ANSWER = "The agent promised to call back tomorrow before noon [1]."


def test_stream_text_streams_and_counts_the_servers_usage(llm_server: FakeLLMServer) -> None:
    llm_server.enqueue(Reply.answer(ANSWER, usage=(321, 12)))
    with make_client(llm_server, price_per_1k_input=1.0) as client:
        stream = client.stream_text(QUESTION, max_tokens=800)
        chunks = list(stream)
        usage = client.usage()
    assert len(chunks) > 3 and "".join(chunks) == ANSWER == stream.text
    assert (stream.usage, stream.cached, stream.complete) == ((321, 12), False, True)
    assert (usage.requests, usage.failed_requests, usage.cache_hits) == (1, 0, 0)
    assert (usage.prompt_tokens, usage.completion_tokens) == (321, 12)
    assert usage.cost == pytest.approx(0.321)
    body = llm_server.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 800 and body["messages"] == QUESTION
    assert "response_format" not in body


def test_stream_text_without_server_usage_counts_with_tiktoken(llm_server: FakeLLMServer) -> None:
    llm_server.enqueue(Reply.answer(ANSWER, stream_usage=False))
    with make_client(llm_server) as client:
        stream = client.stream_text(QUESTION)
        assert "".join(stream) == ANSWER
        usage = client.usage()
    expected = (count_prompt_tokens(QUESTION), count_text_tokens(ANSWER))
    assert stream.usage == expected
    assert (usage.prompt_tokens, usage.completion_tokens) == expected
    assert llm_server.requests[0].body["max_tokens"] == 400  # llm.max_output_tokens


def test_stream_options_refused_are_dropped_and_remembered(llm_server: FakeLLMServer) -> None:
    llm_server.reject_stream_options = True
    llm_server.enqueue(Reply.answer(ANSWER), Reply.answer("Noon [1]."))
    with make_client(llm_server) as client:
        assert "".join(client.stream_text(QUESTION)) == ANSWER
        assert "".join(client.stream_text(QUESTION[:1])) == "Noon [1]."
        usage = client.usage()
    asked = ["stream_options" in r.body for r in llm_server.requests]
    assert asked == [True, False, False]  # refused once, never asked again
    assert (usage.requests, usage.failed_requests) == (3, 1)
    assert usage.prompt_tokens > 0  # estimated, since the server cannot report it


def test_stream_text_is_answered_from_the_cache_the_second_time(
    llm_server: FakeLLMServer, tmp_path: Path
) -> None:
    cache = tmp_path / "llm_cache.sqlite"
    long_answer = ANSWER + " 客户的包裹被送错了地址，快递员明天会重新派送。" * 3
    llm_server.enqueue(Reply.answer(long_answer, usage=(200, 40)))
    with make_client(llm_server, cache=cache) as client:
        first = client.stream_text(QUESTION)
        assert "".join(first) == long_answer
        again = client.stream_text(QUESTION)
        replayed = list(again)
        usage = client.usage()
    assert len(llm_server.requests) == 1
    assert (again.cached, again.complete, again.usage) == (True, True, (0, 0))
    assert again.prompt_hash == first.prompt_hash and again.text == long_answer
    assert len(replayed) > 3 and "".join(replayed) == long_answer
    assert (usage.requests, usage.cache_hits, usage.prompt_tokens) == (1, 1, 200)

    # Another process on the same state dir (a restarted server) reads the same file; a JSON
    # request never collides with the text answer.
    llm_server.enqueue(Reply.json({"answer": "yes"}))
    with make_client(llm_server, cache=cache) as rerun:
        assert "".join(rerun.stream_text(QUESTION)) == long_answer
        assert ask(rerun, QUESTION).data == {"answer": "yes"}
    assert len(llm_server.requests) == 2


def test_unfinished_streams_are_counted_but_not_cached(
    llm_server: FakeLLMServer, tmp_path: Path
) -> None:
    llm_server.enqueue(
        Reply(content=ANSWER, truncated=True),  # the connection dropped mid-answer
        Reply.answer(ANSWER, usage=(70, 15)),
        Reply.answer(ANSWER, usage=(70, 15)),
    )
    with make_client(llm_server, cache=tmp_path / "c.sqlite") as client:
        cut = client.stream_text(QUESTION)
        assert "".join(cut) == ANSWER and not cut.complete
        with client.stream_text(QUESTION) as stream:  # the reader stops after one chunk
            first = next(stream)
        assert "".join(client.stream_text(QUESTION)) == ANSWER
        usage = client.usage()
    assert len(llm_server.requests) == 3 and usage.cache_hits == 0
    # The first two never got to the server's usage chunk: their prompts are estimated.
    assert usage.prompt_tokens == 2 * count_prompt_tokens(QUESTION) + 70
    assert usage.completion_tokens == count_text_tokens(ANSWER) + count_text_tokens(first) + 15


@pytest.mark.parametrize(("status", "wait"), [(429, "3"), (503, "0.5")])
def test_stream_text_retries_a_transient_error_before_the_first_chunk(
    llm_server: FakeLLMServer, status: int, wait: str
) -> None:
    llm_server.enqueue(Reply.error(status, retry_after=wait), Reply.answer(ANSWER))
    sleeps: list[float] = []
    with make_client(llm_server, sleeps) as client:
        stream = client.stream_text(QUESTION)
        assert not llm_server.requests  # nothing is sent before the stream is read
        assert "".join(stream) == ANSWER
        usage = client.usage()
    assert sleeps == [float(wait)]
    assert (usage.requests, usage.failed_requests) == (2, 1)
    assert [r.body["stream"] for r in llm_server.requests] == [True, True]


def test_stream_text_failing_for_good_is_one_llm_error(llm_server: FakeLLMServer) -> None:
    llm_server.default = Reply.error(500, message="model crashed")
    with make_client(llm_server, max_retries=2) as client:
        with pytest.raises(LLMError, match=r"HTTP 500: model crashed \(after 3 attempts\)"):
            list(client.stream_text(QUESTION))
        usage = client.usage()
    assert (usage.requests, usage.failed_requests, usage.prompt_tokens) == (3, 3, 0)


def test_stream_text_redacts_for_an_external_endpoint_and_reports_it(
    llm_server: FakeLLMServer, tmp_path: Path
) -> None:
    # The server is on 127.0.0.1; the redactor is the one an external base URL gets.
    redactor = redactor_for(PIISettings(), "https://api.example.com/v1")
    assert redactor is not None
    settings = fast_llm_settings(llm_server)
    llm_server.enqueue(Reply.answer("They gave their number [1]."))
    with LLMClient(settings, cache_path=tmp_path / "c.sqlite", redactor=redactor) as client:
        stream = client.stream_text(QUESTION)
        assert stream.redactions == {"phone": 1}  # known before anything is sent
        "".join(stream)
        cached = client.stream_text(QUESTION)
        assert "".join(cached) == "They gave their number [1]." and cached.cached
    assert cached.redactions == {"phone": 1}
    sent = llm_server.requests[0].messages[-1]["content"]
    assert "138-0013-8000" not in sent and "[PHONE]" in sent
    assert len(llm_server.requests) == 1
