"""The use cases over a small real index (MiniLM + Qdrant Edge): listing calls with the one
filter object, status, classification history recorded by the service, deleting a call."""

from __future__ import annotations

from datetime import date

from app.runtime import Runtime
from app.services import calls, classify, status
from retrieval.index.filters import CallFilter


def test_list_calls_filters_in_the_engine(runtime: Runtime) -> None:
    everything = calls.list_calls(runtime)
    assert [c.call_id for c in everything] == ["c-courier", "c-password", "c-refund"]
    courier = everything[0]
    assert courier.labels == ["delivery_delay"] and courier.date.startswith("2026-10-02")
    assert courier.speakers == ["agent", "customer"]
    assert courier.opening.startswith("Thanks for calling")
    assert [c.call_id for c in calls.list_calls(runtime, CallFilter(labels=("refund",)))] == [
        "c-refund"
    ]
    october = CallFilter(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))
    assert {c.call_id for c in calls.list_calls(runtime, october)} == {"c-courier", "c-refund"}
    assert calls.list_calls(runtime, CallFilter(speakers=("nobody",))) == []


def test_status_counts_what_is_there(runtime: Runtime) -> None:
    report = status.status(runtime)
    assert report.ledger["indexed"] == 3
    assert report.collection is not None and report.collection.calls == 3
    assert report.collection.points >= 3
    assert report.llm is None and report.failures == []


def test_classifying_a_stored_call_records_its_history(runtime: Runtime) -> None:
    c = classify.classify_stored(runtime, "c-refund", source="test")
    assert c.label in {"refund", "delivery_delay", "account"}
    [entry] = runtime.ledger.classifications("c-refund")
    assert entry["source"] == "test" and entry["label"] == c.label
    # A transcript that names no stored call is classified but joins no history.
    classify.classify_text(runtime, "Customer: where is my refund?", call_id="not-stored")
    assert runtime.ledger.classifications("not-stored") == []


def test_delete_call_removes_points_and_row(runtime: Runtime) -> None:
    before = runtime.store.count()
    points = calls.delete_call(runtime, "c-password")
    assert points and runtime.store.count() == before - (points - 1)  # one call-level point
    assert runtime.ledger.get("c-password") is None
    assert calls.delete_call(runtime, "c-password") is None
