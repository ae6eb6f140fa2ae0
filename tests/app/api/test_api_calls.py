"""``/api/calls`` through the real app: real MiniLM, whisper, Qdrant Edge and SQLite ledger."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.core.config import Settings
from app.runtime import Runtime
from tests.app.conftest import AUTH, KEY

DATA = Path(__file__).parents[2] / "data"

REFUND = (
    "Agent: Billing department, good morning.\n"
    "Customer: I returned the blender three weeks ago and the money never came back.\n"
    "Agent: The refund of 89 dollars was issued today, it takes five days.\n"
)


@pytest.fixture
def runtime(make_settings: Callable[..., Settings], embedder) -> Iterator[Runtime]:
    settings = make_settings(api={"api_keys": [KEY], "max_upload_mb": 2})
    with Runtime(settings, embedder=embedder) as rt:
        yield rt


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=runtime)) as c:
        yield c


def _uploads(runtime: Runtime) -> list[Path]:
    folder = runtime.settings.paths.state_dir / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def _nothing_written(runtime: Runtime) -> None:
    assert list(runtime.ledger.rows()) == []
    assert runtime.turns.count() == 0
    assert _uploads(runtime) == []
    leftovers = [p for p in runtime.settings.paths.state_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_upload_list_get_delete_transcript(client: TestClient, runtime: Runtime) -> None:
    r = client.post(
        "/api/calls?wait=true",
        files={"files": ("refund-42.txt", REFUND.encode(), "text/plain")},
        data={"labels": "refund, billing", "date": "2026-10-20"},
        headers=AUTH,
    )
    assert r.status_code == 200
    [result] = r.json()["results"]
    assert result["call_id"] == "refund-42" and result["status"] == "indexed"
    assert result["turn_points"] >= 1 and result["error"] is None
    assert runtime.turns.count({"call_id": "refund-42"}) == result["turn_points"]

    listed = client.get("/api/calls", params={"label": "refund"}, headers=AUTH).json()
    assert listed["total"] == 1
    call = listed["calls"][0]
    assert call["labels"] == ["refund", "billing"] and call["state"] == "indexed"
    assert call["kind"] == "transcript" and call["turn_points"] == result["turn_points"]
    assert call["origin"].endswith("-refund-42.txt") and "/" not in call["origin"]
    assert client.get("/api/calls", params={"label": "other"}, headers=AUTH).json()["total"] == 0
    assert client.get("/api/calls", params={"state": "failed"}, headers=AUTH).json()["total"] == 0

    detail = client.get("/api/calls/refund-42", headers=AUTH).json()
    assert [t["speaker"] for t in detail["turns"]] == ["agent", "customer", "agent"]
    assert "blender" in detail["turns"][1]["text"]
    assert detail["label_history"] == [] and detail["error"] is None
    assert detail["speakers"] == "transcript" and detail["metrics"] == {}  # no timings
    assert (detail["date"], detail["date_source"]) == ("2026-10-20", "call")  # its own date

    r = client.delete("/api/calls/refund-42", headers=AUTH)
    assert r.json() == {"deleted": "refund-42", "points": result["turn_points"] + 1}
    assert runtime.turns.count() == 0 and runtime.calls.count() == 0
    assert _uploads(runtime) == []
    for r in (
        client.get("/api/calls/refund-42", headers=AUTH),
        client.delete("/api/calls/refund-42", headers=AUTH),
    ):
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_upload_recording_and_a_corrupt_one_in_a_job(client: TestClient, runtime: Runtime) -> None:
    files = [
        ("files", ("jfk.flac", (DATA / "jfk.flac").read_bytes(), "audio/flac")),
        ("files", ("x.mp3", os.urandom(4000), "audio/mpeg")),
    ]
    r = client.post("/api/calls", files=files, headers=AUTH)
    assert r.status_code == 202
    job = r.json()["job"]
    assert job["kind"] == "ingest" and r.headers["location"] == f"/api/jobs/{job['id']}"
    job = client.app.state.jobs.wait(job["id"], timeout=300).as_dict()
    polled = client.get(f"/api/jobs/{job['id']}", headers=AUTH).json()
    assert polled["state"] == "done" and polled["done"] == polled["total"] == 2
    assert polled["result"]["counts"] == {"indexed": 1, "failed": 1}
    results = {x["call_id"]: x for x in polled["result"]["results"]}
    assert results["jfk"]["status"] == "indexed" and results["jfk"]["turn_points"] >= 1
    assert results["x"]["status"] == "failed" and results["x"]["error"]
    assert str(runtime.settings.paths.state_dir) not in str(results)

    detail = client.get("/api/calls/jfk", headers=AUTH).json()
    assert "country" in " ".join(t["text"] for t in detail["turns"]).lower()
    assert detail["duration"] == pytest.approx(11, abs=0.5)
    # One voice in a mono recording: not split by guess.
    assert detail["speakers"] == "uncertain"
    assert detail["metrics"]["duration"] == pytest.approx(11, abs=0.5)
    assert 0 < detail["metrics"]["silence_share"] < 0.5 and detail["metrics"]["turns"] >= 1
    assert client.get("/api/calls/x", headers=AUTH).json()["state"] == "failed"

    cache = runtime.settings.paths.transcripts
    assert len(list(cache.glob("*.json"))) == 1
    r = client.delete("/api/calls/jfk", headers=AUTH)
    assert r.status_code == 200 and r.json()["points"] >= 2
    assert list(cache.glob("*.json")) == []
    assert runtime.turns.count({"call_id": "jfk"}) == 0
    assert [p.name.endswith("-x.mp3") for p in _uploads(runtime)] == [True]


def test_too_large_is_413_and_writes_nothing(client: TestClient, runtime: Runtime) -> None:
    files = [
        ("files", ("ok.txt", REFUND.encode(), "text/plain")),
        ("files", ("big.wav", b"\0" * (2 * 2**20 + 1), "audio/wav")),
    ]
    r = client.post("/api/calls", files=files, headers=AUTH)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert "big.wav" in r.json()["error"]["message"]
    _nothing_written(runtime)


def test_unsupported_type_is_415_and_writes_nothing(client: TestClient, runtime: Runtime) -> None:
    files = [
        ("files", ("ok.txt", REFUND.encode(), "text/plain")),
        ("files", ("setup.exe", b"MZ\x90\x00", "application/octet-stream")),
    ]
    r = client.post("/api/calls", files=files, headers=AUTH)
    assert r.status_code == 415
    error = r.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert ".wav" in error["message"] and ".txt" in error["message"]
    r = client.post(
        "/api/calls", files={"files": ("a.wav", b"MZ", "application/x-msdownload")}, headers=AUTH
    )
    assert r.status_code == 415
    _nothing_written(runtime)


def test_empty_file_is_refused(client: TestClient, runtime: Runtime) -> None:
    r = client.post("/api/calls", files={"files": ("a.txt", b"", "text/plain")}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "empty_file"
    _nothing_written(runtime)


def test_traversal_filename_is_stored_inside_uploads(client: TestClient, runtime: Runtime) -> None:
    r = client.post(
        "/api/calls?wait=true",
        files={"files": ("../../etc/passwd.wav", os.urandom(2000), "audio/wav")},
        headers=AUTH,
    )
    assert r.status_code == 200
    [result] = r.json()["results"]
    assert result["call_id"] == "passwd" and result["status"] == "failed"
    [stored] = _uploads(runtime)
    assert stored.name.endswith("-passwd.wav") and ".." not in stored.name
    assert stored.resolve().parent == (runtime.settings.paths.state_dir / "uploads").resolve()
    assert not (runtime.settings.paths.state_dir.parent / "etc").exists()


def test_bad_transcript_is_a_failed_item(client: TestClient, runtime: Runtime) -> None:
    files = [
        ("files", ("bad.json", b"{not json", "application/json")),
        ("files", ("good.txt", REFUND.encode(), "text/plain")),
    ]
    r = client.post("/api/calls?wait=true", files=files, headers=AUTH)
    results = {x["call_id"]: x for x in r.json()["results"]}
    assert results["good"]["status"] == "indexed"
    assert results["bad"]["status"] == "failed" and "invalid JSON" in results["bad"]["error"]
    assert "uploads" not in results["bad"]["error"]


def test_calls_need_the_key(client: TestClient, runtime: Runtime) -> None:
    for r in (
        client.post("/api/calls", files={"files": ("a.txt", REFUND.encode(), "text/plain")}),
        client.get("/api/calls"),
        client.get("/api/calls/x"),
        client.delete("/api/calls/x", headers={"X-API-Key": "wrong"}),
    ):
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    _nothing_written(runtime)


def _upload(client: TestClient, name: str, day: str) -> None:
    r = client.post(
        "/api/calls?wait=true",
        files={"files": (name, REFUND.encode(), "text/plain")},
        data={"date": day},
        headers=AUTH,
    )
    assert r.json()["results"][0]["status"] == "indexed", r.text


def test_calls_are_listed_newest_call_first_with_their_date_and_the_total(
    client: TestClient,
) -> None:
    """The list the UI shows (``services.call_views.list_calls``): newest call date first
    (not the order they were stored in), a page and the total."""
    _upload(client, "november.txt", "2026-11-03")
    _upload(client, "september.txt", "2026-09-20")
    _upload(client, "october.txt", "2026-10-01")
    listed = client.get("/api/calls", headers=AUTH).json()
    assert listed["total"] == 3
    assert [c["call_id"] for c in listed["calls"]] == ["november", "october", "september"]
    assert listed["calls"][0]["date"].startswith("2026-11-03")
    page = client.get("/api/calls", params={"limit": 1, "offset": 1}, headers=AUTH).json()
    assert page["total"] == 3 and [c["call_id"] for c in page["calls"]] == ["october"]
    detail = client.get("/api/calls/october", headers=AUTH).json()
    assert detail["date"].startswith("2026-10-01") and detail["labels"] == []


def test_the_root_address_leads_to_the_ui_and_docs_work_offline(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/ui/"
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert assets and all(a.startswith("/") for a in assets), assets  # nothing from a CDN
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200 and len(served.content) > 1000, asset
    assert "/openapi.json" in page.text


def test_without_the_ui_the_root_address_leads_to_the_docs(
    make_settings: Callable[..., Settings], embedder
) -> None:
    settings = make_settings(api={"api_keys": [KEY], "ui": False})
    with Runtime(settings, embedder=embedder) as rt, TestClient(create_app(runtime=rt)) as c:
        r = c.get("/", follow_redirects=False)
        assert r.headers["location"] == "/docs"
        assert c.get("/docs").status_code == 200


def test_an_upload_is_listened_for_its_hot_words(client: TestClient, runtime: Runtime) -> None:
    """``hotwords`` of an upload reach whisper (two invented names, spelled wrong without)."""
    call = ("files", ("hot.flac", (DATA / "hotwords_call.flac").read_bytes(), "audio/flac"))
    too_long = client.post("/api/calls", files=[call], data={"hotwords": "x" * 41}, headers=AUTH)
    assert too_long.status_code in (400, 422), too_long.text
    assert "hot word" in too_long.text
    _nothing_written(runtime)
    r = client.post(
        "/api/calls?wait=true",
        files=[call],
        data={"hotwords": "Zentavo Plus，Quorvia"},
        headers=AUTH,
    )
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "indexed", r.text
    said = " ".join(t["text"] for t in client.get("/api/calls/hot", headers=AUTH).json()["turns"])
    assert "Zentavo Plus" in said and "Quorvia" in said, said
