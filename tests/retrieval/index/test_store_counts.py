"""Counting in the engine, on both backends: facet counts, numeric ranges on the metric payload,
empty / except / $or / $and conditions, the value range of an ordered field, and the float
payload indexes of the conversation metrics. Every count is checked against a count in Python
over the planted payloads."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
import qdrant_edge

from app.core.errors import InputError
from app.core.filters import METRICS, CallFilter
from retrieval.index import EdgeStore, StoredPoint, VectorStore, point_id
from retrieval.index.filters import (
    FLOAT,
    INDEXED_FIELDS,
    AnyOf,
    IsEmpty,
    MatchExcept,
    NumberRange,
    normalize_filter,
)
from tests.retrieval.conftest import Backend, unit_vectors

LABELS = ("refund", "delivery", "account", "退款")
N = 60


def _payloads() -> list[dict[str, Any]]:
    """Call points as the calls collection holds them: some labeled, some only predicted,
    metrics on most (a few calls have none, as calls indexed before metrics existed)."""
    rng = random.Random(16)
    out = []
    for i in range(N):
        payload: dict[str, Any] = {
            "call_id": f"c{i:03d}",
            "labels": rng.sample(LABELS, rng.choice((0, 0, 1, 1, 1, 2))),
            "date": f"2026-{rng.choice((9, 10, 11)):02d}-{rng.randint(1, 28):02d}",
            "agent": rng.choice(("Li", "Wang", "Ann")),
        }
        if rng.random() < 0.7:
            payload["predicted"] = rng.choice((*LABELS, "unknown"))
            payload["confidence"] = round(rng.random(), 3)
        if i % 10:
            payload["metrics"] = {
                "duration": float(rng.randint(30, 900)),
                "longest_silence": round(rng.random() * 120, 1),
                "interruptions": rng.randint(0, 6),  # an int is a number too
            }
        out.append(payload)
    return out


PAYLOADS = _payloads()


@pytest.fixture
def calls(backend: Backend) -> VectorStore:
    store = backend.open(keyword_fields=("agent",))
    vectors = unit_vectors(N, seed=3)
    store.upsert(
        [
            StoredPoint(id=point_id(p["call_id"], 0, "call"), dense=v, payload=p)
            for p, v in zip(PAYLOADS, vectors, strict=True)
        ]
    )
    return store


def _metric(p: dict[str, Any], name: str) -> float | None:
    return (p.get("metrics") or {}).get(name)


def _hand(keep: Any) -> int:
    return sum(1 for p in PAYLOADS if keep(p))


def test_facet_counts_every_value_once_per_point(calls: VectorStore) -> None:
    expected = Counter(label for p in PAYLOADS for label in p["labels"])
    got = calls.facet("labels")
    assert got == dict(expected)
    assert list(got.values()) == sorted(got.values(), reverse=True)  # most frequent first
    # With a filter, and on a metadata field declared as a keyword field.
    october = {"date": {"gte": "2026-10-01", "lte": "2026-10-31"}}
    assert calls.facet("agent", october) == dict(
        Counter(p["agent"] for p in PAYLOADS if p["date"].startswith("2026-10"))
    )
    top = calls.facet("labels", limit=2)
    assert list(top.values()) == sorted(expected.values(), reverse=True)[:2]


def test_facet_of_predicted_on_unlabeled_calls(calls: VectorStore) -> None:
    """The label of an unlabeled call is its prediction: counted with an is_empty filter."""
    got = calls.facet("predicted", {"labels": {"is_empty": True}})
    expected = Counter(p["predicted"] for p in PAYLOADS if not p["labels"] and "predicted" in p)
    assert got == dict(expected) and sum(got.values()) > 0


@pytest.mark.parametrize(
    ("spec", "keep"),
    [
        (
            {"metrics.longest_silence": {"gte": 60}},
            lambda p: (_metric(p, "longest_silence") or -1) >= 60,
        ),
        (
            {"metrics.duration": {"gt": 120, "lte": 600}},
            lambda p: 120 < (_metric(p, "duration") or -1) <= 600,
        ),
        (
            {"metrics.interruptions": {"lt": 2}},
            lambda p: _metric(p, "interruptions") is not None and _metric(p, "interruptions") < 2,
        ),
        ({"confidence": {"lt": 0.5}}, lambda p: "confidence" in p and p["confidence"] < 0.5),
        ({"labels": {"is_empty": True}}, lambda p: not p["labels"]),
        ({"labels": {"is_empty": False}}, lambda p: bool(p["labels"])),
        ({"predicted": {"is_empty": True}}, lambda p: "predicted" not in p),
        ({"metrics.duration": {"is_empty": True}}, lambda p: "metrics" not in p),
        (
            {"predicted": {"except": ["unknown"]}},
            lambda p: p.get("predicted") not in (None, "unknown"),
        ),
        (
            {
                "$or": [
                    {"labels": "refund"},
                    {"labels": {"is_empty": True}, "predicted": "refund"},
                ]
            },
            lambda p: (
                "refund" in p["labels"] or (not p["labels"] and p.get("predicted") == "refund")
            ),
        ),
        (
            {"$and": [{"agent": ["Li", "Wang"]}, {"agent": "Li"}], "confidence": {"gte": 0.2}},
            lambda p: p["agent"] == "Li" and p.get("confidence", -1) >= 0.2,
        ),
        (
            {
                "date": {"gte": "2026-10-01", "lte": "2026-10-14"},
                "$or": [{"metrics.longest_silence": {"gte": 90}}, {"predicted": "unknown"}],
            },
            lambda p: (
                "2026-10-01" <= p["date"] <= "2026-10-14"
                and ((_metric(p, "longest_silence") or -1) >= 90 or p.get("predicted") == "unknown")
            ),
        ),
    ],
)
def test_counts_match_a_count_in_python(calls: VectorStore, spec: dict, keep: Any) -> None:
    expected = _hand(keep)
    assert calls.count(spec) == expected
    assert len(list(calls.scroll(spec))) == expected


def test_value_range_reads_the_ordered_index(calls: VectorStore) -> None:
    dates = sorted(p["date"] for p in PAYLOADS)
    assert calls.value_range("date") == (dates[0], dates[-1])
    li = sorted(p["date"] for p in PAYLOADS if p["agent"] == "Li")
    assert calls.value_range("date", {"agent": "Li"}) == (li[0], li[-1])
    durations = [_metric(p, "duration") for p in PAYLOADS if "metrics" in p]
    assert calls.value_range("metrics.duration") == (min(durations), max(durations))
    assert calls.value_range("date", {"agent": "nobody"}) is None


def test_bad_facet_and_range_requests_are_refused(calls: VectorStore) -> None:
    for key in ("text", "date", "metrics.duration", "", "nope"):
        with pytest.raises(InputError, match="keyword-indexed"):
            calls.facet(key)
    for limit in (0, -1, True, 10**9, 1.5):
        with pytest.raises(InputError, match="facet limit"):
            calls.facet("labels", limit=limit)  # type: ignore[arg-type]
    for key in ("labels", "agent", "metrics"):
        with pytest.raises(InputError, match="date- or number-indexed"):
            calls.value_range(key)


def test_annotations_do_not_count_as_writes(calls: VectorStore) -> None:
    """A prediction written on a call changes nothing the classifier derives from the store."""
    before = calls.writes
    calls.set_payload({"call_id": "c001"}, {"predicted": "refund"}, annotation=True)
    assert calls.writes == before
    assert calls.count({"call_id": "c001", "predicted": "refund"}) == 1
    calls.set_payload({"call_id": "c001"}, {"labels": ["refund"]})
    assert calls.writes == before + 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"metrics.duration": {"gte": "60"}}, "must be numbers"),
        ({"metrics.duration": {"gte": True}}, "must be numbers"),
        ({"metrics.duration": {"gte": float("nan")}}, "finite"),
        ({"metrics.duration": {"gte": float("inf")}}, "finite"),
        ({"metrics.duration": {"gte": 10**400}}, "too large"),
        ({"metrics.duration": {"gte": 60, "lt": 10}}, "lower bound"),
        ({"metrics.duration": {"gte": 1, "gt": 2}}, "same side"),
        ({"metrics.duration": {"above": 1}}, "gte/gt/lte/lt"),
        ({"metrics.duration": {}}, "gte/gt/lte/lt"),
        ({"labels": {"gte": 1}}, "ranges apply to date and number"),
        ({"labels": {"is_empty": "yes"}}, "true or false"),
        ({"predicted": {"except": "unknown"}}, "list"),
        ({"predicted": {"except": []}}, "empty list"),
        ({"$or": []}, "non-empty list"),
        ({"$or": {"labels": "a"}}, "non-empty list"),
        ({"$or": [{}]}, "empty filter"),
        ({"$not": [{"labels": "a"}]}, "unknown operator"),
        ({"$or": [{"$or": [{"$or": [{"$or": [{"labels": "a"}]}]}]}]}, "nested deeper"),
        ({"$or": [{"labels": "a"}] * 600}, "at most"),
        ({"date": {"lte": "9999-12-31"}}, "out of range"),
        ({"date": {"gte": "0001-01-01T00:00:00+05:00"}}, "out of range"),
    ],
)
def test_new_filter_shapes_refuse_bad_values(spec: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        normalize_filter(spec)


def test_new_filter_shapes_normalize() -> None:
    got = normalize_filter(
        {
            "metrics.longest_silence": {"gte": 60, "lt": 120.5},
            "labels": {"is_empty": True},
            "predicted": {"except": ["unknown"]},
            "$or": [{"agent": "Li"}, {"team": ["a", "b"], "confidence": {"lt": 0.5}}],
        }
    )
    assert got[:3] == [
        NumberRange("metrics.longest_silence", gte=60.0, lt=120.5),
        IsEmpty("labels", True),
        MatchExcept("predicted", ("unknown",)),
    ]
    assert isinstance(got[3], AnyOf) and len(got[3].branches) == 2


def test_every_metric_and_the_confidence_have_a_float_index(tmp_path) -> None:
    """On the engine (Qdrant Edge): the indexes exist after open, and a store made before them
    gets them on its next open."""
    assert all(INDEXED_FIELDS[f"metrics.{m}"] == FLOAT for m in METRICS)
    args = {"name": "calls", "model_id": "m", "dim": 8, "sparse_model": "s"}
    with EdgeStore.open(tmp_path / "calls", **args) as store:
        schema = store._shard.info().payload_schema
        floats = {k for k, v in schema.items() if "Float" in str(v.data_type)}
        assert {f"metrics.{m}" for m in METRICS} | {"confidence"} <= floats
        store._shard.update(qdrant_edge.UpdateOperation.delete_field_index("metrics.agent_wpm"))
    with EdgeStore.open(tmp_path / "calls", **args) as store:
        assert "metrics.agent_wpm" in store._shard.info().payload_schema


def test_the_call_filter_takes_metric_bounds() -> None:
    """``-f longest_silence>=60`` (or ``metrics.…``) on the command line, as everywhere else."""
    f = CallFilter.parse(
        ["longest_silence>=60", "metrics.duration<300", "duration>=30", "agent=Li"], ["agent"]
    )
    assert f.metrics == (
        ("longest_silence", "gte", 60.0),
        ("duration", "lt", 300.0),
        ("duration", "gte", 30.0),
    )
    assert f.spec() == {
        "agent": "Li",
        "metrics.longest_silence": {"gte": 60.0},
        "metrics.duration": {"lt": 300.0, "gte": 30.0},
    }
    normalize_filter(f.spec())
    assert CallFilter.parse(["date>=2026-10-01"]).metrics == ()  # dates are still dates
    for item, message in (
        ("metrics.loudness>=3", "unknown metric"),
        ("loudness>=3", "only date and the metrics"),
        ("label>=3", "only date and the metrics"),
        ("duration>=x", "name>=number"),
        ("duration>=1e9", "name>=number"),
        ("speaker<=2026-01-01", "only date and the metrics"),
    ):
        with pytest.raises(InputError, match=message):
            CallFilter.parse([item])
    with pytest.raises(InputError, match="two gte"):
        CallFilter.parse(["duration>=1", "duration>=2"]).spec()
    with pytest.raises(InputError, match="finite"):
        CallFilter(metrics=(("duration", "gte", float("inf")),))


def test_metric_bounds_count_in_the_engine(calls: VectorStore) -> None:
    f = CallFilter.parse(["longest_silence>=30", "metrics.longest_silence<90"])
    expected = _hand(lambda p: 30 <= (_metric(p, "longest_silence") or -1) < 90)
    assert calls.count(f.spec()) == expected > 0
