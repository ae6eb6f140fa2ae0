"""The LLM decides a classification only where it was measured to help on the labeled calls:
an LLM that is worse than kNN is measured once, then not asked at all, and every answer says
why; the measurement is kept until the labels change. The band rule itself on hand-made
answers (the real models are measured in tests/llm_real and docs/benchmarks.md)."""

from __future__ import annotations

import json
import time

import pytest

from app.core.config import LLMSettings
from app.core.errors import LLMError
from app.runtime import Runtime
from app.services import llm_trust as trust_service
from app.services.classify import classify_text
from app.services.labels import relabel_call
from app.services.llm_trust import (
    NOT_MEASURED,
    llm_trust,
    measure_in_background,
    measuring,
    stored_trust,
    trust_state,
)
from retrieval.classify.answer import Classification
from retrieval.classify.refine import LLMRefiner
from retrieval.classify.trust import BandResult, LLMTrust, band_of, choose_sample, compare
from tests.llm_fixtures import fast_llm_settings, llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply
from tests.textcalls import text_sources

SAYINGS = {
    "refund": [
        "I returned the kettle and want my money back on the card.",
        "The refund for my order never reached my bank account.",
        "Please refund the charge, I cancelled the subscription.",
        "我退货了，想把钱退回到银行卡。",
    ],
    "delivery_delay": [
        "My parcel is a week late and the tracking has not moved.",
        "The courier never came, where is my package?",
        "The delivery was promised for Monday and nothing arrived.",
        "我的快递一周了还没到，物流也不更新。",
    ],
    "password_reset": [
        "I forgot my password and cannot log in to the app.",
        "The reset link for my account password does not work.",
        "I am locked out of my account after too many attempts.",
        "我忘记密码了，登录不了账户。",
    ],
}


def _calls() -> dict:
    calls = {}
    for label, lines in SAYINGS.items():
        for i, line in enumerate(lines):
            turns = [("agent", "Hello, how can I help?"), ("customer", line)]
            calls[f"{label}-{i}"] = ([label], "2026-10-01", turns)
    return calls


@pytest.fixture
def labeled(make_settings, embedder):
    with Runtime(make_settings(), embedder=embedder) as rt:
        assert {r.status for r in rt.pipeline().run(text_sources(_calls()))} == {"indexed"}
        yield rt


def _wrong(label: str = "password_reset") -> Reply:
    return Reply.json(
        {"label": label, "secondary_labels": [], "confidence": 0.99, "reason": "sure"}
    )


def test_an_llm_worse_than_knn_is_measured_once_then_never_asked(
    labeled: Runtime, llm_server: FakeLLMServer
) -> None:
    labeled.settings.llm = fast_llm_settings(llm_server, trust="measure", trust_sample=12)
    llm_server.default = _wrong()  # an LLM that always says password_reset

    found = classify_text(labeled, "Customer: the parcel never arrived, the courier lost it")
    measured = len(llm_server.requests)
    trust = stored_trust(labeled)
    assert trust is not None and trust.calls == 12 and measured == 12
    assert trust.llm_right == 4 < trust.knn_right  # right only on the password calls
    assert trust.with_rule_right >= trust.knn_right  # never worse than kNN on the sample
    # Not asked about the new call: kNN's answer, with the measured reason.
    assert found.decided_by == "knn" and found.label == "delivery_delay"
    assert "kNN decides" in found.provenance["llm_trust"]
    assert "kNN + LLM" in found.provenance["llm_trust"]

    again = classify_text(labeled, "Customer: I want my money back for the broken kettle")
    assert len(llm_server.requests) == measured  # kept: neither measured again nor asked
    assert again.label == "refund" and "llm_trust" in again.provenance

    # A label changes: measured again (the labeled calls are not what it was measured on).
    relabel_call(labeled, "refund-0", labels=["delivery_delay"], source="test")
    classify_text(labeled, "Customer: where is my parcel?")
    # (Prompts asked before come from the response cache: only the changed ones are sent.)
    assert len(llm_server.requests) > measured
    assert stored_trust(labeled).labels_fingerprint != trust.labels_fingerprint


def _measured(runtime: Runtime) -> None:
    """Wait for the background measurement to end."""
    deadline = time.monotonic() + 60
    while measuring(runtime) is not None:
        assert time.monotonic() < deadline, measuring(runtime)
        time.sleep(0.05)


def test_a_server_never_waits_for_the_measurement(
    labeled: Runtime, llm_server: FakeLLMServer
) -> None:
    labeled.settings.llm = fast_llm_settings(llm_server, trust="measure", trust_sample=6)
    llm_server.default = _wrong()
    labeled.long_lived = True  # as the API's lifespan sets it
    first = classify_text(labeled, "Customer: the parcel never arrived, the courier lost it")
    # Answered at once by kNN, saying why; the measurement runs in the background.
    assert first.decided_by == "knn" and first.provenance["llm_trust"] == NOT_MEASURED
    _measured(labeled)
    trust = stored_trust(labeled)
    assert trust is not None and trust.calls == 6 and len(llm_server.requests) == 6
    assert not trust_state(labeled).stale
    second = classify_text(labeled, "Customer: I want my money back for the broken kettle")
    assert second.provenance["llm_trust"] not in (None, NOT_MEASURED)
    assert len(llm_server.requests) == 6  # kept: not measured again, not asked

    # The labels change: the earlier measurement of this model serves until the new one is made.
    relabel_call(labeled, "refund-0", labels=["delivery_delay"], source="test")
    assert trust_state(labeled).stale
    third = classify_text(labeled, "Customer: where is my parcel?")
    assert third.provenance["llm_trust"] != NOT_MEASURED
    _measured(labeled)
    state = trust_state(labeled)
    assert not state.stale and state.measured.labels_fingerprint != trust.labels_fingerprint


def test_a_failed_background_measurement_is_shown_and_tried_again(
    labeled: Runtime, llm_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    labeled.settings.llm = fast_llm_settings(llm_server, trust="measure", trust_sample=6)
    labeled.long_lived = True

    def fails(runtime: Runtime, **_: object) -> None:
        raise LLMError("the endpoint refused the connection")

    monkeypatch.setattr(trust_service, "llm_trust", fails)
    measure_in_background(labeled)
    deadline = time.monotonic() + 30
    while measuring(labeled).running:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert measuring(labeled).error == "the endpoint refused the connection"
    from app.services.status import status

    assert "the last measurement failed: the endpoint refused" in status(labeled).llm_trust
    monkeypatch.undo()
    llm_server.default = _wrong()
    measure_in_background(labeled)  # the next need starts it again
    _measured(labeled)
    assert stored_trust(labeled) is not None and measuring(labeled) is None


def test_trust_always_and_never(labeled: Runtime, llm_server: FakeLLMServer) -> None:
    llm_server.default = _wrong()
    labeled.settings.llm = fast_llm_settings(llm_server, trust="never")
    assert classify_text(labeled, "Customer: my parcel is late").decided_by == "knn"
    assert llm_server.requests == [] and llm_trust(labeled) is None
    labeled.settings.llm = fast_llm_settings(llm_server, trust="always")
    found = classify_text(labeled, "Customer: my parcel is late")
    # Asked without measuring (here the neighbours' guard still overrules its answer).
    assert len(llm_server.requests) == 1 and "llm_trust" not in found.provenance
    assert found.provenance["llm_model"] == llm_server.model


def test_the_measurement_file_is_kept_per_model_and_endpoint(
    labeled: Runtime, llm_server: FakeLLMServer
) -> None:
    labeled.settings.llm = fast_llm_settings(llm_server, trust="measure", trust_sample=6)
    llm_server.default = _wrong()
    first = llm_trust(labeled)
    assert first is not None and llm_trust(labeled) == first
    data = json.loads((labeled.settings.paths.state_dir / "llm_trust.json").read_text())
    assert data["model"] == llm_server.model and len(data["sample"]) == 6
    labeled.settings.llm = LLMSettings(
        **{**labeled.settings.llm.model_dump(), "model": "another-model"}
    )
    labeled.__dict__.pop("llm", None)  # the runtime builds its client for the new settings
    assert llm_trust(labeled).model == "another-model"


def _answer(label: str, confidence: float) -> Classification:
    return Classification(label, confidence, [label], {label: confidence}, [], "knn")


def test_the_llm_decides_only_in_bands_where_it_got_more_right() -> None:
    knn = [_answer("a", 0.3), _answer("b", 0.35), _answer("a", 0.9), _answer("a", 0.95)]
    llm = [_answer("b", 0.3), _answer("b", 0.35), _answer("b", 0.9), _answer("a", 0.95)]
    truth = [["b"], ["b"], ["a"], ["a"]]
    bands = compare(knn, llm, truth)
    assert bands == (
        BandResult("low", 2, 1, 2, llm_only=1, knn_only=0),
        BandResult("mid", 0, 0, 0),
        BandResult("high", 2, 2, 1, llm_only=0, knn_only=1),
    )
    # One more right answer out of two is no evidence: kNN keeps the low band too.
    trust = LLMTrust("m", "http://x/v1", "f", bands, 1.0)
    assert not trust.decides(0.2)[0] and not trust.decides(0.85)[0]
    assert not trust.decides(0.6)[0] and "not measured" in trust.decides(0.6)[1]
    assert (trust.with_rule_right, trust.knn_right, trust.llm_right) == (3, 3, 3)
    assert band_of(1.0) == "high" and band_of(0.5) == "mid" and band_of(0.0) == "low"
    assert LLMTrust.from_dict(trust.to_dict()) == trust


def test_a_margin_must_not_be_luck() -> None:
    # crosswoz with the 0.5B, high band: 16/16 against 15/16 (1 disagreement, won): luck 0.5.
    assert not BandResult("high", 16, 15, 16, llm_only=1, knn_only=0).trusted
    # Five disagreements, all won: 1/32 = 0.031 < 0.05.
    five = BandResult("low", 20, 10, 15, llm_only=5, knn_only=0)
    assert five.trusted and five.luck() == 1 / 32
    # 8 won, 2 lost: 56/1024 = 0.055: not yet.
    assert not BandResult("low", 30, 10, 16, llm_only=8, knn_only=2).trusted
    # A measurement kept before the disagreements were counted: the LLM decides nowhere.
    assert not BandResult("low", 10, 3, 9).trusted
    line = five.line()
    assert "LLM decides" in line and "only the LLM right on 5, only kNN on 0" in line


def test_the_refiner_asks_only_about_trusted_calls(llm_server: FakeLLMServer) -> None:
    from app.core.config import Settings
    from retrieval.llm.client import LLMClient

    bands = (BandResult("low", 8, 2, 7, llm_only=5), BandResult("high", 4, 4, 2, knn_only=2))
    trust = LLMTrust("m", "u", "f", bands, 1)
    llm_server.default = Reply.json(
        {"label": "b", "secondary_labels": [], "confidence": 0.9, "reason": "r"}
    )
    settings = fast_llm_settings(llm_server)
    with LLMClient(settings, cache_path=None) as client:
        refine = LLMRefiner(client, Settings(llm=settings), ["a", "b"], trust=trust)
        low, high = refine([_answer("a", 0.2), _answer("a", 0.9)], ["text one", "text two"])
    assert len(llm_server.requests) == 1
    assert (low.label, low.decided_by) == ("b", "llm") and "LLM decides" in low.provenance[
        "llm_trust"
    ]
    assert (high.label, high.decided_by) == ("a", "knn")
    assert "kNN decides (kNN 4/4, kNN + LLM 2/4" in high.provenance["llm_trust"]


def test_the_sample_takes_each_label_in_turn() -> None:
    labeled = [(f"a{i}", ["a"]) for i in range(10)] + [("b0", ["b"]), ("c0", ["c"])]
    sample = choose_sample(labeled, 5)
    assert len(sample) == 5 and {"b0", "c0"} <= set(sample)
    assert choose_sample(labeled, 5) == sample  # seeded
