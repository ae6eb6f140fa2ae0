"""The use cases over a small real index (MiniLM + Qdrant Edge): listing calls with the one
filter object, status, classification history recorded by the service, deleting a call."""

from __future__ import annotations

from datetime import date

from app.core.filters import CallFilter
from app.runtime import Runtime
from app.services import call_views, calls, classify, status


def test_list_calls_filters_in_the_engine(runtime: Runtime) -> None:
    everything = call_views.list_calls(runtime)
    assert everything.total == 3
    # Newest call date first.
    assert [c.call_id for c in everything.calls] == ["c-password", "c-refund", "c-courier"]
    courier = everything.calls[-1]
    assert courier.labels == ["delivery_delay"] and courier.date.startswith("2026-10-02")
    assert courier.speakers == ["agent", "customer"]
    assert courier.opening.startswith("Thanks for calling")
    refund = call_views.list_calls(runtime, CallFilter(labels=("refund",)))
    assert refund.total == 1 and [c.call_id for c in refund.calls] == ["c-refund"]
    october = CallFilter(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))
    assert {c.call_id for c in call_views.list_calls(runtime, october).calls} == {
        "c-courier",
        "c-refund",
    }
    nobody = call_views.list_calls(runtime, CallFilter(speakers=("nobody",)))
    assert nobody.total == 0 and nobody.calls == []
    page = call_views.list_calls(runtime, limit=1, offset=1)
    assert page.total == 3 and [c.call_id for c in page.calls] == ["c-refund"]


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
    before = runtime.turns.count()
    points = calls.delete_call(runtime, "c-password")
    assert points and runtime.turns.count() == before - (points - 1)  # one call-level point
    assert runtime.ledger.get("c-password") is None
    assert calls.delete_call(runtime, "c-password") is None
