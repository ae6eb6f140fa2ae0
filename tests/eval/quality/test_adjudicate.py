"""The LLM review of label-run suspects: the verdict follows from the label the model names
after its reason (so the two cannot disagree), and a Chinese call is reviewed in Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.quality.adjudicate import adjudicate, review_schema
from eval.quality.issue import LabelIssue
from retrieval.llm.client import LLMClient
from tests.llm_fixtures import fast_llm_settings, llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply

LABELS = ["refund", "delivery_delay", "card_arrival"]
EXAMPLES = {label: [f"Customer: an example of {label}."] for label in LABELS}


@pytest.fixture
def client(llm_server: FakeLLMServer, tmp_path: Path) -> Iterator[LLMClient]:
    settings = fast_llm_settings(llm_server, response_mode="json_schema")
    with LLMClient(settings, cache_path=None, sleep=lambda _: None) as c:
        yield c


def suspect(call_id: str, text: str, given: list[str], suggested: str) -> LabelIssue:
    return LabelIssue(
        row=0,
        call_id=call_id,
        given_label=given[0],
        suggested_label=suggested,
        score=0.9,
        flagged=True,
        text=text,
        given_labels=given,
        add=[suggested],
        remove=[given[0]],
    )


def test_the_verdict_follows_from_the_label_named(
    client: LLMClient, llm_server: FakeLLMServer
) -> None:
    kept = suspect("a", "Customer: I want my money back.", ["refund"], "delivery_delay")
    moved = suspect("b", "Customer: where is my parcel?", ["refund"], "delivery_delay")
    third = suspect("c", "Customer: my card never came.", ["refund"], "delivery_delay")
    llm_server.enqueue(
        Reply.json({"reason": "asks for the money back", "label": "refund"}),
        Reply.json({"reason": "the parcel is late", "label": "delivery_delay"}),
        Reply.json({"reason": "the card has not arrived", "label": "card_arrival"}),
    )
    summary = adjudicate(client, [kept, moved, third], EXAMPLES, LABELS, top=3, concurrency=1)
    assert summary["done"] == 3 and summary["keep"] == 1 and summary["relabel"] == 2
    assert (kept.llm_verdict, kept.llm_label) == ("keep", "refund")
    assert (moved.llm_verdict, moved.llm_label) == ("relabel", "delivery_delay")
    assert (third.llm_verdict, third.llm_label) == ("relabel", "card_arrival")
    assert moved.llm_reason == "the parcel is late"
    # The reason is asked for before the label (a constrained decoder keeps this order).
    schema = llm_server.requests[0].response_format["json_schema"]["schema"]
    assert list(schema["properties"]) == ["reason", "label"] == schema["required"]
    assert schema == review_schema(LABELS)


def test_a_multi_label_call_is_kept_when_the_label_named_is_one_it_has(
    client: LLMClient, llm_server: FakeLLMServer
) -> None:
    both = suspect("m", "Customer: late and I want a refund.", ["refund", "delivery_delay"], "x")
    llm_server.enqueue(Reply.json({"reason": "late parcel", "label": "delivery_delay"}))
    adjudicate(client, [both], EXAMPLES, LABELS, top=1, concurrency=1)
    assert (both.llm_verdict, both.llm_label) == ("keep", "delivery_delay")
    prompt = llm_server.requests[0].messages[1]["content"]
    assert "Given labels (the call has all of them): refund, delivery_delay" in prompt


def test_an_answer_without_a_known_label_is_a_failure_not_a_verdict(
    client: LLMClient, llm_server: FakeLLMServer
) -> None:
    issue = suspect("u", "Customer: hello?", ["refund"], "delivery_delay")
    llm_server.enqueue(Reply.json({"reason": "unclear", "label": "weather"}))
    summary = adjudicate(client, [issue], EXAMPLES, LABELS, top=1, concurrency=1)
    assert summary["done"] == 0 and issue.llm_verdict is None
    assert summary["failed"] == ["u: the answer did not name a known label"]


def test_a_chinese_call_is_reviewed_in_chinese(
    client: LLMClient, llm_server: FakeLLMServer
) -> None:
    issue = suspect("z", "客户：我的快递三天了还没到。", ["refund"], "delivery_delay")
    llm_server.enqueue(Reply.json({"reason": "快递延误", "label": "delivery_delay"}))
    adjudicate(client, [issue], EXAMPLES, LABELS, top=1, concurrency=1)
    system, user = (m["content"] for m in llm_server.requests[0].messages)
    assert system.startswith("你负责复核") and "现有标签: refund" in user
    assert "待复核的通话" in user and "Given label" not in user
    assert (issue.llm_verdict, issue.llm_reason) == ("relabel", "快递延误")
