"""``/api/rules``: quality-inspection rules saved, applied as a job (or in the request),
previewed without a trace, undone, and a call's evidence; clear 4xx for bad rules and missing
names."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.app.conftest import AUTH

RULES = """
rules:
  - name: no_greeting
    title: 坐席未问候
    severity: low
    when:
      not: {said: {speaker: agent, within: {first_turns: 1}, any: [hello, good morning, 您好]}}
  - name: apology
    severity: info
    when: {said: {speaker: agent, any: [sorry]}}
"""


def _job(client: TestClient, job_id: str) -> dict:
    for _ in range(300):
        job = client.get(f"/api/jobs/{job_id}", headers=AUTH).json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_rules_are_saved_applied_and_listed(client: TestClient) -> None:
    starter = client.get("/api/rules/starter", headers=AUTH)
    assert starter.status_code == 200 and "no_greeting" in starter.text and "您好" in starter.text
    saved = client.post("/api/rules", json={"text": RULES, "by": "lead"}, headers=AUTH)
    assert saved.status_code == 202, saved.text
    body = saved.json()
    assert body["rules"] == {"no_greeting": "added", "apology": "added"}
    job = _job(client, body["job"]["id"])
    assert job["state"] == "done" and job["kind"] == "rules_apply"
    assert job["result"]["matched"] == {"no_greeting": 2, "apology": 1}
    listed = {r["name"]: r for r in client.get("/api/rules", headers=AUTH).json()}
    assert (listed["no_greeting"]["matched"], listed["no_greeting"]["checked"]) == (2, 3)
    assert listed["no_greeting"]["title"] == "坐席未问候"
    assert listed["apology"]["rule"]["when"] == {"said": {"speaker": "agent", "any": ["sorry"]}}
    # The matched rules filter calls like labels.
    found = client.get("/api/search?q=parcel&category=apology", headers=AUTH)
    assert found.status_code == 200, found.text
    assert {h["call_id"] for h in found.json()["hits"]} == {"c-courier"}


def test_json_rules_preview_and_a_call_s_evidence(client: TestClient) -> None:
    rules = {"rules": [{"name": "refund_words", "when": {"said": {"any": ["refund", "money"]}}}]}
    preview = client.post(
        "/api/rules/preview", json={"rules": rules, "call_ids": ["c-refund", "c-password"]},
        headers=AUTH,
    )  # fmt: skip
    assert preview.status_code == 200, preview.text
    assert [(p["call_id"], p["matched"]) for p in preview.json()] == [
        ("c-refund", True), ("c-password", False),
    ]  # fmt: skip
    evidence = preview.json()[0]["evidence"]
    assert [(e["turn"], e["speaker"]) for e in evidence] == [(1, "customer"), (2, "agent")]
    assert client.get("/api/rules", headers=AUTH).json() == []  # nothing saved
    saved = client.post("/api/rules?wait=true", json={"rules": rules}, headers=AUTH)
    assert saved.status_code == 200 and saved.json()["applied"]["matched"] == {"refund_words": 1}
    found = client.get("/api/calls/c-refund/inspection", headers=AUTH).json()
    assert found[0]["rule"] == "refund_words" and found[0]["matched"]
    assert found[0]["evidence"][0]["why"] == "said “money”"
    missing = client.get("/api/calls/nope/inspection", headers=AUTH)
    assert missing.status_code == 404


def test_delete_and_restore_and_history(client: TestClient) -> None:
    client.post("/api/rules?wait=true", json={"text": RULES}, headers=AUTH)
    assert client.delete("/api/rules/apology?by=lead", headers=AUTH).status_code == 200
    assert [r["name"] for r in client.get("/api/rules", headers=AUTH).json()] == ["no_greeting"]
    history = client.get("/api/rules/apology/history", headers=AUTH).json()
    assert [(h["version"], h["action"]) for h in history] == [(1, "added"), (2, "deleted")]
    restored = client.post("/api/rules/apology/restore", json={"version": 1}, headers=AUTH)
    assert restored.status_code == 200 and restored.json()["applied"]["matched"] == {"apology": 1}
    assert client.get("/api/rules/nope/history", headers=AUTH).status_code == 404
    assert client.delete("/api/rules/nope", headers=AUTH).status_code == 404
    bad = client.post("/api/rules/apology/restore", json={"version": 2}, headers=AUTH)
    assert bad.status_code == 404


def test_bad_rules_are_a_clear_400_and_nothing_is_saved(client: TestClient) -> None:
    bad = {"text": "rules: [{name: x, when: {said: {regex: '(unclosed'}}}]"}
    answer = client.post("/api/rules", json=bad, headers=AUTH)
    assert answer.status_code == 400 and "when.said.regex" in answer.text
    both = client.post("/api/rules", json={"text": RULES, "rules": []}, headers=AUTH)
    assert both.status_code == 400 and "one of them" in both.text
    assert client.get("/api/rules", headers=AUTH).json() == []
    assert client.post("/api/rules", json={"text": RULES}).status_code == 401


def test_scorecards_over_http(client: TestClient) -> None:
    client.post("/api/rules?wait=true", json={"text": RULES}, headers=AUTH)
    card = """
scorecards:
  - name: basic
    title: 基本评分表
    sections:
      - title: 开场
        questions:
          - {id: greeted, text: 坐席是否问候？, weight: 1, fails_on: no_greeting}
          - id: sorry
            text: Did the agent apologise?
            passes_when: {said: {any: [sorry]}}
"""
    saved = client.post("/api/scorecards", json={"text": card}, headers=AUTH)
    assert saved.status_code == 200, saved.text
    assert saved.status_code == 200 and saved.json() == {"scorecards": {"basic": "added"}}
    done = client.post("/api/scorecards/basic/score", json={}, headers=AUTH).json()
    assert done["scored"] == 3
    [found] = client.get("/api/calls/c-courier/scorecards", headers=AUTH).json()
    assert found["score"] == 50.0 and found["title"] == "基本评分表"  # apologised, no greeting
    listed = client.get("/api/scorecards", headers=AUTH).json()
    assert listed[0]["name"] == "basic" and listed[0]["scored"] == 3
    report = client.get("/api/scorecards/basic/report?by=agent", headers=AUTH).json()
    assert report["rows"][0]["agent"] == "" and report["rows"][0]["calls"] == 3
    assert client.get("/api/scorecards/nope/report", headers=AUTH).status_code == 404
    # A reviewer overturns an answer: the reviewed score beside the automatic one.
    queue = client.get("/api/scorecards/basic/queue", headers=AUTH).json()
    assert {q["call_id"] for q in queue} == {"c-courier", "c-refund", "c-password"}
    reviewed = client.post(
        "/api/calls/c-courier/scorecards/basic/review",
        json={"question": "greeted", "answer": "yes", "comment": "thanked the caller", "by": "qa"},
        headers=AUTH,
    )  # fmt: skip
    assert reviewed.status_code == 200, reviewed.text
    assert (reviewed.json()["score"], reviewed.json()["reviewed_score"]) == (50.0, 100.0)
    agreed = client.get("/api/scorecards/basic/agreement", headers=AUTH).json()
    assert agreed["reviewed"] == 1 and agreed["agreement"] == 0.0
    bad = client.post("/api/calls/c-courier/scorecards/basic/review",
                      json={"question": "x", "answer": "yes"}, headers=AUTH)  # fmt: skip
    assert bad.status_code == 400 and "no question 'x'" in bad.text
    missing = client.post("/api/calls/nope/scorecards/basic/review",
                          json={"question": "greeted", "answer": "yes"}, headers=AUTH)  # fmt: skip
    assert missing.status_code == 404
    assert client.post("/api/scorecards/nope/score", json={}, headers=AUTH).status_code == 404
    # A deletion is undone by restoring the version before it; scores and reviews were kept.
    assert client.delete("/api/scorecards/basic?by=lead", headers=AUTH).json() == {
        "deleted": "basic"
    }
    assert client.get("/api/scorecards", headers=AUTH).json() == []
    history = client.get("/api/scorecards/basic/history", headers=AUTH).json()
    assert [(h["version"], h["action"]) for h in history] == [(1, "added"), (2, "deleted")]
    restored = client.post("/api/scorecards/basic/restore", json={"version": 1}, headers=AUTH)
    assert restored.json() == {"restored": "basic", "version": 1}
    [back] = client.get("/api/scorecards", headers=AUTH).json()
    assert back["version"] == 3 and back["scored"] == done["scored"]
    for missing in (client.delete("/api/scorecards/nope", headers=AUTH),
                    client.get("/api/scorecards/nope/history", headers=AUTH),
                    client.post("/api/scorecards/basic/restore", json={"version": 2},
                                headers=AUTH)):  # fmt: skip
        assert missing.status_code == 404
