"""Regression tests for what a hostile or careless client found (issue 13): every one of these
once answered 500 or leaked something."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.runtime import Runtime
from tests.app.conftest import AUTH


@pytest.mark.parametrize(
    "params",
    [
        {"label": ""},
        {"call_id": ""},
        {"speaker": ""},
        {"label": ["refund", ""]},
        {"meta": ""},
    ],
    ids=["label", "call_id", "speaker", "label-list", "meta"],
)
def test_empty_filter_values_are_a_clear_400(client: TestClient, params: dict) -> None:
    r = client.get("/api/search", params={"q": "refund", **params}, headers=AUTH)
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert "empty" in message or "field=value" in message


def test_empty_filter_values_in_ask_are_a_clear_400(client: TestClient) -> None:
    r = client.post(
        "/api/ask", json={"question": "what happened?", "filters": {"label": [""]}}, headers=AUTH
    )
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("path", ["/api/jobs", "/api/calls"])
@pytest.mark.parametrize("offset", ["13767183968923472101376", "-1"])
def test_huge_or_negative_offsets_are_422(client: TestClient, path: str, offset: str) -> None:
    r = client.get(path, params={"offset": offset}, headers=AUTH)
    assert r.status_code == 422, r.text


def _paths_in(value: object) -> list[str]:
    if isinstance(value, dict):
        return [p for v in value.values() for p in _paths_in(v)]
    if isinstance(value, list):
        return [p for v in value for p in _paths_in(v)]
    return [value] if isinstance(value, str) and value.startswith("/") and len(value) > 1 else []


def test_job_and_label_run_responses_carry_no_server_paths(client: TestClient) -> None:
    state = str(client.app.state.runtime.settings.paths.state_dir)
    text = b"Customer: my parcel is late.\nAgent: I will chase it.\n"
    accepted = client.post(
        "/api/classify/batch", files={"files": ("late.txt", text, "text/plain")}, headers=AUTH
    )
    assert accepted.status_code == 202
    job = accepted.json()["job"]
    assert job["params"]["files"][0]["name"] == "late.txt"
    client.app.state.jobs.wait(job["id"], timeout=300)
    for body in (
        accepted.json(),
        client.get("/api/jobs", headers=AUTH).json(),
        client.get(f"/api/jobs/{job['id']}", headers=AUTH).json(),
    ):
        assert not _paths_in(body) and state not in str(body), body
    run = client.post("/api/label-runs?wait=true", json={}, headers=AUTH)
    assert run.status_code == 200, run.text
    listed = client.get("/api/label-runs", headers=AUTH).json()
    assert not _paths_in(run.json()) and not _paths_in(listed) and state not in str(listed)
    # The files stay downloadable through the API.
    assert (
        client.get(f"/api/label-runs/{run.json()['run_id']}/csv", headers=AUTH).status_code == 200
    )


def test_upload_names_become_safe_unique_ids(client: TestClient) -> None:
    same = b"Customer: my card was charged twice.\nAgent: I will refund one charge.\n"
    other = b"Customer: my parcel is late.\nAgent: I will chase the courier.\n"
    files = [
        ("files", ("dup.txt", same, "text/plain")),
        ("files", ("dup.txt", same, "text/plain")),  # the same bytes: one stored copy
        ("files", ("dup.txt", other, "text/plain")),
        ("files", ("in\u202egnp.txt", other, "text/plain")),
        ("files", ("<script>alert(1)</script>.txt", other, "text/plain")),
    ]
    r = client.post("/api/calls?wait=true", files=files, headers=AUTH)
    assert r.status_code == 200, r.text
    ids = [f["call_id"] for f in r.json()["results"]]
    assert sorted(ids) == sorted(["dup", "dup-2", "dup-3", "ingnp", "script"])
    assert all(f["status"] == "indexed" for f in r.json()["results"])
    # Deleting one of two calls made from identical files keeps the other's recording.
    runtime = client.app.state.runtime
    first, second = (runtime.ledger.get(i) for i in ("dup", "dup-2"))
    assert first.origin == second.origin
    assert client.delete("/api/calls/dup", headers=AUTH).status_code == 200
    assert Path(second.origin).is_file()
    assert client.get("/api/calls/dup-2", headers=AUTH).status_code == 200


def test_an_upload_named_like_a_labeled_call_keeps_its_labels_and_date(
    client: TestClient,
) -> None:
    runtime = client.app.state.runtime
    before = runtime.ledger.get("c-refund")
    assert before.labels == ["refund"]
    text = b"Customer: I want my money back for the blender.\nAgent: Refund issued.\n"
    r = client.post(
        "/api/calls?wait=true",
        files={"files": ("c-refund.txt", text, "text/plain")},
        headers=AUTH,
    )
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "indexed"
    after = runtime.ledger.get("c-refund")
    assert after.labels == ["refund"] and "money back" in after.transcript.turns[0].text
    [point] = runtime.calls.scroll({"call_id": "c-refund"})
    assert point.payload["labels"] == ["refund"] and point.payload["date"].startswith("2026-10-20")
    history = client.get("/api/calls/c-refund", headers=AUTH).json()["label_history"]
    assert history[-1]["source"] == "content replaced (upload)"
    # The same upload again changes nothing and records nothing.
    again = client.post(
        "/api/calls?wait=true",
        files={"files": ("c-refund.txt", text, "text/plain")},
        headers=AUTH,
    )
    assert again.json()["results"][0]["status"] == "unchanged"
    assert len(client.get("/api/calls/c-refund", headers=AUTH).json()["label_history"]) == len(
        history
    )


def _limited(runtime: Runtime, failures: int = 3) -> TestClient:
    settings = runtime.settings.with_changes(
        api={"max_auth_failures": failures, "auth_failure_window_s": 60.0}
    )
    return TestClient(create_app(settings, runtime=runtime), raise_server_exceptions=False)


def test_repeated_wrong_api_keys_get_429_until_the_window_passes(runtime: Runtime) -> None:
    with _limited(runtime) as client:
        for _ in range(3):
            r = client.get("/api/calls", headers={"X-API-Key": "guess"})
            assert r.status_code == 401
        blocked = client.get("/api/calls", headers=AUTH)  # even the right key, for now
        assert blocked.status_code == 429
        assert blocked.json()["error"]["code"] == "too_many_failures"
        assert 0 < int(blocked.headers["retry-after"]) <= 60
        assert client.get("/health").status_code == 200  # not an auth route


def test_repeated_failed_ui_logins_get_429(runtime: Runtime) -> None:
    with _limited(runtime) as client:
        for _ in range(3):
            r = client.post("/ui/login", data={"username": "x", "password": "guess"})
            assert r.status_code == 400
        again = client.post("/ui/login", data={"username": "x", "password": "guess"})
        assert again.status_code == 429


def test_openapi_declares_the_error_statuses_routes_give(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"401", "422", "429", "503"} <= paths["/api/search"]["get"]["responses"].keys()
    assert {"413", "415"} <= paths["/api/calls"]["post"]["responses"].keys()
    assert "404" in paths["/api/calls/{call_id}"]["get"]["responses"]
    assert "409" in paths["/api/jobs/{job_id}"]["delete"]["responses"]
    error = paths["/api/search"]["get"]["responses"]["401"]["content"]["application/json"]
    assert error["schema"]["$ref"].endswith("/ErrorBody")


@pytest.mark.parametrize(
    "url",
    [
        "/api/label-runs/compare?a=19535280473108805555585024&b=1",
        "/api/label-runs/19535280473108805555585024",
        "/api/label-runs/0/csv",
    ],
)
def test_huge_run_ids_are_422(client: TestClient, url: str) -> None:
    assert client.get(url, headers=AUTH).status_code == 422
