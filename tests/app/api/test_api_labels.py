"""The labels API over a real run (real MiniLM, Qdrant Edge): a run's issues with every label
and the suggested change, accepting exactly that change, relabeling with confirmation of new
labels, and undo, with clear errors (404 / 409 / 400 / 422)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.core.config import load_settings
from app.runtime import Runtime
from tests.app.conftest import AUTH, KEY
from tests.labelcalls import BOTH, MULTI, ONLY_DELIVERY, calls
from tests.textcalls import text_sources


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder
) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("api-labels")
    settings = load_settings(
        paths={"state_dir": root / "state", "models_dir": models_dir},
        api={"api_keys": [KEY], "ui": False},
    )
    with Runtime(settings, embedder=embedder) as runtime:
        assert {r.status for r in runtime.pipeline().run(text_sources(calls()))} == {"indexed"}
        with TestClient(create_app(runtime=runtime)) as c:
            yield c


@pytest.fixture(scope="module")
def run_id(client: TestClient) -> int:
    answer = client.post("/api/label-runs?wait=true", json={"adjudicate": 0}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["run_id"])


def _labels(client: TestClient, call_id: str) -> list[str]:
    answer = client.get(f"/api/calls/{call_id}/labels", headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()["labels"]


def test_a_runs_issues_carry_every_label_and_the_change(client: TestClient, run_id: int) -> None:
    issues = client.get(f"/api/label-runs/{run_id}/issues?flagged=true", headers=AUTH).json()
    only = next(i for i in issues if i["call_id"] == ONLY_DELIVERY)
    assert only["given_labels"] == MULTI and only["change"] == "remove refund"
    assert (only["add"], only["remove"], only["suggested_labels"]) == (
        [],
        ["refund"],
        ["delivery_delay"],
    )
    assert all(i["flagged"] for i in issues) and BOTH not in {i["call_id"] for i in issues}
    every = client.get(f"/api/label-runs/{run_id}/issues", headers=AUTH).json()
    assert len(every) == 18
    assert client.get("/api/label-runs/999/issues", headers=AUTH).status_code == 404


def test_accept_applies_the_runs_change_and_undo_restores(client: TestClient, run_id: int) -> None:
    url = f"/api/label-runs/{run_id}/accept"
    preview = client.post(url, json={"call_id": ONLY_DELIVERY, "dry_run": True}, headers=AUTH)
    assert preview.status_code == 200, preview.text
    assert preview.json() | {"entry": None} == {
        "call_id": ONLY_DELIVERY,
        "old": MULTI,
        "new": ["delivery_delay"],
        "added": [],
        "removed": ["refund"],
        "change": "remove refund",
        "entry": None,
        "dry_run": True,
        "created_labels": [],
    }
    assert _labels(client, ONLY_DELIVERY) == MULTI
    done = client.post(url, json={"call_id": ONLY_DELIVERY}, headers=AUTH).json()
    assert done["new"] == ["delivery_delay"] and done["entry"] >= 1
    again = client.post(url, json={"call_id": ONLY_DELIVERY}, headers=AUTH)
    assert again.status_code == 409 and again.json()["error"]["code"] == "labels_changed"
    assert client.post(url, json={"call_id": "ghost"}, headers=AUTH).status_code == 400

    undo = f"/api/calls/{ONLY_DELIVERY}/labels/undo"
    restored = client.post(undo, json={"entry": done["entry"]}, headers=AUTH)
    assert restored.status_code == 200 and restored.json()["new"] == MULTI
    assert _labels(client, ONLY_DELIVERY) == MULTI
    twice = client.post(undo, json={"entry": done["entry"]}, headers=AUTH)
    assert twice.status_code == 409 and "changed since entry" in twice.json()["error"]["message"]
    history = client.get(f"/api/calls/{ONLY_DELIVERY}/labels", headers=AUTH).json()["history"]
    assert [h["source"] for h in history][-2:] == [
        f"label run {run_id} (api)",
        f"undo #{done['entry']} (api)",
    ]


def test_a_new_label_needs_create_labels(client: TestClient) -> None:
    url = f"/api/calls/{BOTH}/labels"
    refused = client.post(url, json={"add": ["warranty"]}, headers=AUTH)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "new_label"
    assert "create_labels" in refused.json()["error"]["message"]
    preview = client.post(url, json={"add": ["warranty"], "dry_run": True}, headers=AUTH).json()
    assert preview["created_labels"] == ["warranty"] and preview["change"] == "add warranty"
    made = client.post(url, json={"add": ["warranty"], "create_labels": True}, headers=AUTH)
    assert made.status_code == 200 and made.json()["new"] == [*MULTI, "warranty"]
    assert "warranty" in client.get("/api/labels", headers=AUTH).json()["labels"]
    undo = client.post(f"{url}/undo", json={"entry": made.json()["entry"]}, headers=AUTH)
    assert undo.status_code == 200 and _labels(client, BOTH) == MULTI
    assert "warranty" not in client.get("/api/labels", headers=AUTH).json()["labels"]


def test_bad_requests_get_clear_errors(client: TestClient) -> None:
    url = f"/api/calls/{BOTH}/labels"
    stale = client.post(url, json={"labels": ["refund"], "expect": ["refund"]}, headers=AUTH)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "labels_changed"
    for body, status in (
        ({"add": ["a;b"], "create_labels": True}, 400),
        ({"labels": []}, 400),
        ({}, 400),
        ({"add": ["x"], "labels": ["y"]}, 400),
        ({"add": ["x"], "colour": "red"}, 422),
    ):
        answer = client.post(url, json=body, headers=AUTH)
        assert answer.status_code == status, (body, answer.text)
        assert set(answer.json()["error"]) == {"code", "message"}
    assert (
        client.post("/api/calls/ghost/labels", json={"add": ["refund"]}, headers=AUTH).status_code
        == 404
    )
    assert client.get("/api/calls/ghost/labels", headers=AUTH).status_code == 404
    undo = client.post(f"{url}/undo", json={"entry": 0}, headers=AUTH)
    assert undo.status_code == 422
    assert client.post(f"{url}/undo", json={"entry": 99999}, headers=AUTH).status_code == 400
    assert _labels(client, BOTH) == MULTI
