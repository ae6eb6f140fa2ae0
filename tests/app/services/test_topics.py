"""Topic discovery end to end over the real components (MiniLM, Qdrant Edge, the ledger): the
planted group of near-identical calls comes back as one topic, named by its words; labeling it
makes its calls labeled examples with history; the pool follows the scope and the calls'
predictions; with an LLM the topics get a name through the one client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest

from app.core.config import Settings
from app.core.errors import InputError
from app.runtime import Runtime
from app.services import topics
from retrieval.topics import TopicOptions
from tests.llm_fixtures import fast_llm_settings, llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply
from tests.topiccalls import PLANTED, sources


@pytest.fixture
def runtime(make_settings: Callable[..., Settings], embedder) -> Iterator[Runtime]:
    with Runtime(make_settings(), embedder=embedder) as rt:
        assert {r.status for r in rt.pipeline().run(sources())} == {"indexed"}
        yield rt


def _planted_topic(run: dict) -> dict:
    [topic] = [t for t in run["topics"] if set(PLANTED) & {c["call_id"] for c in t["calls"]}]
    return topic


def test_discovery_finds_a_planted_group_of_near_identical_calls(runtime: Runtime) -> None:
    for method in ("agglomerative", "hdbscan"):
        run = topics.discover(runtime, TopicOptions(method=method))
        # The pool: the 14 unlabeled calls, never the labeled ones.
        assert run["pool"] == 14 and run["scope"] == "all" and run["method"] == method
        topic = _planted_topic(run)
        assert sorted(c["call_id"] for c in topic["calls"]) == PLANTED, method
        # The tightest topic, named by what its calls say and the others do not.
        assert topic["cohesion"] == max(t["cohesion"] for t in run["topics"])
        terms = [x["term"] for x in topic["terms"]]
        assert {"thermostat", "firmware"} <= set(terms[:3])
        assert topic["suggested_label"] in ("thermostat_firmware", "firmware_thermostat")
        assert set(topic["representatives"]) <= set(PLANTED) and len(topic["representatives"]) == 5
        assert "thermostat" in topic["calls"][0]["excerpt"]
        assert not topic["calls"][0]["excerpt"].startswith("Thanks for calling")  # the customer
        # No LLM configured: terms only, and the run says so.
        assert run["llm"] is None and topic["name"] is None and "terms only" in run["note"]


def test_a_topic_becomes_a_label_with_history(runtime: Runtime) -> None:
    run = topics.discover(runtime)
    assert topics.load_run(runtime.settings) == run
    assert [r["run_id"] for r in topics.list_runs(runtime.settings)] == [run["run_id"]]
    number = _planted_topic(run)["id"]
    shown = topics.show(runtime, number)
    assert shown["run_id"] == run["run_id"] and all(c["labels_now"] == [] for c in shown["calls"])

    dry = topics.label_topic(runtime, number, "smart_home", exclude=["t5"], dry_run=True)
    assert len(dry["changed"]) == 5 and runtime.ledger.get("t0").labels == []

    done = topics.label_topic(runtime, number, " smart_home ", exclude=["t5"])
    assert done["label"] == "smart_home" and not done["existing_label"]
    assert sorted(c["call_id"] for c in done["changed"]) == PLANTED[:5]
    assert done["excluded"] == ["t5"] and runtime.ledger.get("t5").labels == []
    # Labeled examples now: in the ledger, on every point, with history in both.
    assert runtime.ledger.get("t0").labels == ["smart_home"]
    [history] = runtime.ledger.history("t0")
    assert history["source"] == f"topics {run['run_id']} #{number} (cli)"
    assert history["old_labels"] == [] and history["new_labels"] == ["smart_home"]
    for store in (runtime.turns, runtime.calls):
        for point in store.scroll({"call_id": "t0"}):
            assert point.payload["labels"] == ["smart_home"]
            assert point.payload["label_history"][-1]["to"] == ["smart_home"]
    assert "smart_home" in runtime.labels()
    promoted = topics.load_run(runtime.settings)
    assert _planted_topic(promoted)["promotions"][0]["label"] == "smart_home"
    assert topics.show(runtime, number)["calls"][0]["labels_now"] in (["smart_home"], [])

    # Again: the labeled calls changed since the run and are left alone; t5 joins the label.
    again = topics.label_topic(runtime, number, "smart_home")
    assert [c["call_id"] for c in again["changed"]] == ["t5"] and again["existing_label"]
    assert {s["call_id"] for s in again["skipped"]} == set(PLANTED[:5])
    assert "labels changed since the run (smart_home)" in again["skipped"][0]["reason"]
    # A new run no longer sees them: they are labeled.
    assert topics.discover(runtime)["pool"] == 8


def test_bad_requests_are_clear_errors(runtime: Runtime) -> None:
    with pytest.raises(topics.NoSuchTopic, match="callscope topics"):
        topics.load_run(runtime.settings)
    run = topics.discover(runtime)
    number = _planted_topic(run)["id"]
    with pytest.raises(InputError, match="classifier's answer"):
        topics.label_topic(runtime, number, "Unknown")
    for bad in ("", "a;b", "x" * 81, "line\x00"):
        with pytest.raises(InputError):
            topics.label_topic(runtime, number, bad)
    with pytest.raises(InputError, match="not calls of topic"):
        topics.label_topic(runtime, number, "x", exclude=["o1"])
    with pytest.raises(topics.NoSuchTopic, match="no topic 99"):
        topics.show(runtime, 99)
    with pytest.raises(InputError, match="run ids look like"):
        topics.load_run(runtime.settings, "../../etc/passwd")
    with pytest.raises(topics.NoSuchTopic):
        topics.load_run(runtime.settings, "20200101-000000-000000")
    with pytest.raises(InputError, match="unknown scope"):
        topics.discover(runtime, scope="labeled")
    assert runtime.ledger.get("t0").labels == []  # nothing was written


def test_the_pool_follows_the_scope_and_the_calls_predictions(runtime: Runtime) -> None:
    unknown = SimpleNamespace(
        label="unknown", labels=[], confidence=0.2, decided_by="abstain", flags=["low_confidence"]
    )
    refund = SimpleNamespace(
        label="refund", labels=["refund"], confidence=0.9, decided_by="knn", flags=[]
    )
    # A labeled call the classifier answered unknown (ledger), one whose point says so (the
    # ``predicted`` payload wins over the ledger), and an unlabeled call classified refund.
    runtime.ledger.add_classification("d0", unknown, "test")
    runtime.ledger.add_classification("r0", unknown, "test")
    runtime.calls.set_payload({"call_id": "r0"}, {"predicted": "refund"})
    runtime.calls.set_payload({"call_id": "a0"}, {"predicted": "unknown"})
    runtime.ledger.add_classification("o0", refund, "test")

    pool = topics.read_pool(runtime, "unknown")
    assert sorted(c.call_id for c in pool.calls) == ["a0", "d0"]
    assert pool.predicted == {"a0": "unknown", "d0": "unknown"}
    assert pool.labels["d0"] == ["delivery_delay"]
    everything = {c.call_id for c in topics.read_pool(runtime, "all").calls}
    assert everything == {"a0", "d0", *PLANTED, *(f"o{i}" for i in range(8))}
    unlabeled = topics.read_pool(runtime, "unlabeled")
    assert (
        "d0" not in {c.call_id for c in unlabeled.calls} and unlabeled.predicted["o0"] == "refund"
    )
    # The labeled calls outside the pool are the terms' background.
    assert len(pool.background) == 14 and pool.total == 2
    # Too many calls: the newest are kept (the planted group is dated 1-6 Nov, the others 10+).
    newest = topics.read_pool(runtime, "unlabeled", max_calls=8)
    assert newest.total == 14 and {c.call_id for c in newest.calls} == {f"o{i}" for i in range(8)}


def test_with_an_llm_topics_get_a_name_and_a_description(
    make_settings: Callable[..., Settings], embedder, llm_server: FakeLLMServer
) -> None:
    settings = make_settings(llm=fast_llm_settings(llm_server).model_dump())
    with Runtime(settings, embedder=embedder) as runtime:
        runtime.pipeline().run(sources())
        # The LLM failing costs the names, never the run (failures are not cached).
        llm_server.default = Reply.error(500)
        failed = topics.discover(runtime)
        assert all(t["name"] is None for t in failed["topics"])
        assert len(failed["llm"]["failed"]) == len(failed["topics"]) > 0
        assert _planted_topic(failed)["suggested_label"].startswith(("thermostat", "firmware"))

        llm_server.default = Reply.json(
            {"name": "Thermostat offline after update", "description": "Wifi lost after firmware."}
        )
        before = len(llm_server.requests)
        run = topics.discover(runtime)
        topic = _planted_topic(run)
        assert topic["name"] == "Thermostat offline after update"
        assert topic["description"] == "Wifi lost after firmware."
        assert topic["suggested_label"] == "thermostat_offline_after_update"
        assert run["llm"] == {"model": "fake-model", "named": len(run["topics"]), "failed": []}
        assert run["note"] is None
        # One request per topic; the planted topic's prompt has its terms and representatives.
        prompts = [r.messages[-1]["content"] for r in llm_server.requests[before:]]
        assert len(prompts) == len(run["topics"])
        mine = next(p for p in prompts if "thermostat" in p.split("\n")[0])
        assert mine.count("<call>") == 4 and "firmware" in mine

        # Turned off for one run: no request at all.
        before = len(llm_server.requests)
        assert topics.discover(runtime, use_llm=False)["llm"] is None
        assert len(llm_server.requests) == before
