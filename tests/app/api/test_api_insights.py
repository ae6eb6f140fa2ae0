"""``/api/insights`` through the real app (real MiniLM, Qdrant Edge) over the three calls of
``tests/app/conftest.py``, with agents, a classified unlabeled call and metrics planted on the
call points: every number's filter gives back that number and its calls; counting questions;
the workbook; bad and hostile input answered 400/422 in the error shape."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.core.config import load_settings
from app.runtime import Runtime
from app.services.classify import classify_text
from tests.app.conftest import AUTH, CALLS, KEY
from tests.textcalls import text_sources

PERIOD = {"date_from": "2026-09-28", "date_to": "2026-11-08"}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder: Any) -> Any:
    """One runtime for the module (the tests only read): the three calls of the API tests."""
    settings = load_settings(
        paths={"state_dir": tmp_path_factory.mktemp("api-insights"), "models_dir": models_dir},
        api={"api_keys": [KEY]},
    )
    with Runtime(settings, embedder=embedder) as rt:
        assert {r.status for r in rt.pipeline().run(text_sources(CALLS))} == {"indexed"}
        yield rt


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=runtime)) as c:
        yield c


@pytest.fixture(scope="module")
def planted(runtime: Runtime) -> Runtime:
    """Agents and metrics on the three labeled calls, and one unlabeled call classified."""
    extra = text_sources(
        {
            "c-new": (
                [],
                "2026-10-21",
                [("customer", "I returned the blender and want my money back, a refund please.")],
            )
        }
    )
    runtime.pipeline().run(extra)
    classify_text(runtime, "Customer: I want a refund for the blender", call_id="c-new")
    for call_id, agent, silence in (
        ("c-courier", "Li", 75.0),
        ("c-refund", "Li", 12.0),
        ("c-password", "Wang", 3.0),
        ("c-new", "Wang", 64.0),
    ):
        runtime.calls.set_payload(
            {"call_id": call_id},
            {"agent": agent, "metrics": {"longest_silence": silence, "duration": 200.0}},
        )
    return runtime


def _counts(node: Any) -> Iterator[dict[str, Any]]:
    """Every ``{"value", "filter"}`` in an answer."""
    if isinstance(node, dict):
        if set(node) == {"value", "filter"}:
            yield node
        else:
            for child in node.values():
                yield from _counts(child)
    elif isinstance(node, list):
        for child in node:
            yield from _counts(child)


def test_insights_numbers_lead_back_to_their_calls(client: TestClient, planted: Runtime) -> None:
    r = client.get("/api/insights", params={**PERIOD, "top": 2}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["calls"]["value"] == 4 and body["classified"]["value"] == 1
    labels = {c["label"]: c["current"]["value"] for c in body["labels"]}
    assert labels == {"refund": 2, "delivery_delay": 1, "account": 1}  # c-new: predicted refund
    weeks = {w["start"]: w["calls"]["value"] for w in body["weeks"]}
    assert weeks == {
        "2026-09-28": 1,
        "2026-10-05": 0,
        "2026-10-12": 0,
        "2026-10-19": 2,
        "2026-10-26": 1,
        "2026-11-02": 0,
    }
    assert {r["value"]: r["calls"]["value"] for r in body["groups"]["agent"]} == {
        "Li": 2,
        "Wang": 2,
    }
    silence = {b["low"]: b["calls"]["value"] for b in body["metrics"]["longest_silence"]}
    assert silence[60] == 2 and silence[10] == 1 and silence[0] == 1
    # Nothing before 28 September: every label is new, none "rising". What the numbers leave
    # out is named: the calls with timings (here all four), fields no call has.
    assert body["previous_calls"]["value"] == 0 and body["rising"] == []
    assert [c["label"] for c in body["new"]] == ["refund", "account"]  # top 2
    assert all(c["new"] for c in body["labels"])
    assert body["timed"]["value"] == 4 and body["dated_by"] == {}
    assert body["missing_metadata"] == ["team", "queue", "direction", "tags"]
    counts = list(_counts(body))
    assert len(counts) > 100
    seen = 0
    for count in counts:
        if count["value"] or seen < 20:  # every non-zero number, and some zeros
            got = client.post("/api/insights/calls", json={"filter": count["filter"]}, headers=AUTH)
            assert got.status_code == 200, got.text
            assert got.json()["count"] == count["value"] == len(got.json()["calls"])
            seen += 1
    refund = next(c for c in body["labels"] if c["label"] == "refund")["current"]
    calls = client.post("/api/insights/calls", json={"filter": refund["filter"]}, headers=AUTH)
    rows = {c["call_id"]: c for c in calls.json()["calls"]}
    assert set(rows) == {"c-refund", "c-new"}
    assert rows["c-new"]["predicted"] == "refund" and rows["c-new"]["labels"] == []
    assert rows["c-refund"]["opening"].startswith("Billing department")


def test_filters_narrow_the_insights(client: TestClient, planted: Runtime) -> None:
    params = {**PERIOD, "meta": ["agent=Wang"], "metric": ["longest_silence>=60"]}
    body = client.get("/api/insights", params=params, headers=AUTH).json()
    assert body["calls"]["value"] == 1
    assert [c["label"] for c in body["labels"] if c["current"]["value"]] == ["refund"]
    only_labels = client.get(
        "/api/insights", params={**PERIOD, "source": "labels"}, headers=AUTH
    ).json()
    assert only_labels["unassigned"]["value"] == 1


def test_counting_questions(client: TestClient, planted: Runtime) -> None:
    r = client.get(
        "/api/insights/count", params={"q": "how many refund calls in October 2026?"}, headers=AUTH
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["labels"] == ["refund"] and body["count"]["value"] == 2
    assert (body["date_from"], body["date_to"], body["words"]) == (
        "2026-10-01",
        "2026-10-31",
        "October 2026",
    )
    r = client.get(
        "/api/insights/count",
        params={"label": ["refund", "account"], "meta": "agent=Li", "source": "labels"},
        headers=AUTH,
    )
    assert r.json()["count"]["value"] == 1  # Li: c-courier (delivery), c-refund (refund)
    assert {k: v["value"] for k, v in r.json()["per_label"].items()} == {"refund": 1, "account": 0}


def test_the_workbook_downloads(client: TestClient, planted: Runtime) -> None:
    r = client.get("/api/insights/xlsx", params=PERIOD, headers=AUTH)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "insights-2026-09-28-2026-11-08.xlsx" in r.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    labels = {row[0].value: row[1].value for row in book["labels"].iter_rows(min_row=2)}
    assert labels == {"refund": 2, "delivery_delay": 1, "account": 1}
    # In Chinese for a Chinese client (Accept-Language) or when asked; the numbers the same.
    for ask in (
        {"headers": {**AUTH, "Accept-Language": "zh-CN,zh;q=0.9"}, "params": PERIOD},
        {"headers": AUTH, "params": {**PERIOD, "lang": "zh-CN"}},
    ):
        got = client.get("/api/insights/xlsx", **ask)
        assert got.status_code == 200, got.text
        zh = openpyxl.load_workbook(io.BytesIO(got.content))
        assert zh.sheetnames[:3] == ["概览", "标签", "每周"]
        assert [c.value for c in zh["标签"][1]][:3] == ["标签", "通话数", "上一周期"]
        rows = {row[0].value: row[1].value for row in zh["标签"].iter_rows(min_row=2)}
        assert rows == labels
    bad = client.get("/api/insights/xlsx", params={**PERIOD, "lang": "fr"}, headers=AUTH)
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"source": "guess"}, 422, "source"),
        ({"low_confidence": "2"}, 422, "low_confidence"),
        ({"top": "0"}, 422, "top"),
        ({"date_from": "2026-13-01"}, 422, "date_from"),
        ({"date_from": "2026-10-09", "date_to": "2026-10-01"}, 400, "after date to"),
        ({"date_from": "2020-01-01", "date_to": "2026-01-01"}, 400, "at most"),
        ({"date_to": "9999-12-31"}, 400, "out of range"),
        ({"meta": "region=eu"}, 400, "meta 'region=eu'"),
        ({"metric": "loudness>=3"}, 400, "unknown metric"),
        ({"metric": "duration>=x"}, 400, "name>=number"),
        ({"speaker_source": ""}, 422, "speaker_source"),
    ],
)
def test_bad_parameters_get_a_clear_error(
    client: TestClient, params: dict, status: int, message: str
) -> None:
    paths = ["/api/insights", "/api/insights/xlsx", "/api/insights/count"]
    if message == "at most":
        paths.pop()  # one count over years is one count: only the weekly report is bounded
    for path in paths:
        r = client.get(path, params=params, headers=AUTH)
        assert r.status_code == status, (path, r.text)
        assert message in r.json()["error"]["message"], (path, r.text)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"filter": {"text": "refund"}}, 400, "not a field of calls"),
        ({"filter": {"labels": {"$where": "sleep(1)"}}}, 400, "ranges apply"),
        ({"filter": {"$or": [{"origin": "/etc/passwd"}]}}, 400, "not a field of calls"),
        ({"filter": {"confidence": {"lt": float("nan")}}}, 400, "finite"),
        ({"filter": {"metrics.duration": {"gte": 10**400}}}, 400, "too large"),
        ({"filter": {"labels": []}}, 400, "empty list"),
        ({"filter": {"$or": []}}, 400, "non-empty list"),
        ({"filter": "labels=refund"}, 422, "filter"),
        ({"filter": {}, "limit": 0}, 422, "limit"),
        ({"filter": {}, "other": 1}, 422, "other"),
    ],
)
def test_hostile_filters_are_refused(
    client: TestClient, planted: Runtime, body: dict, status: int, message: str
) -> None:
    raw = json.dumps(body, allow_nan=True).encode()
    r = client.post(
        "/api/insights/calls", content=raw, headers={**AUTH, "content-type": "application/json"}
    )
    assert r.status_code == status, r.text
    assert message in r.json()["error"]["message"]


def test_a_deeply_nested_filter_is_refused_not_a_crash(client: TestClient) -> None:
    for depth in (10, 5000):
        raw = '{"filter": ' + '{"$or": [' * depth + '{"labels": "refund"}' + "]}" * depth + "}"
        r = client.post(
            "/api/insights/calls", content=raw, headers={**AUTH, "content-type": "application/json"}
        )
        assert r.status_code in (400, 422), r.text
        assert set(r.json()) == {"error"}


def test_insights_need_the_api_key(client: TestClient) -> None:
    assert client.get("/api/insights").status_code == 401
    assert client.post("/api/insights/calls", json={"filter": {}}).status_code == 401
