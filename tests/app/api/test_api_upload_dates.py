"""A call uploaded through ``POST /api/calls`` without a date is dated by its upload time and
says so (issue 23: it used to get no date and was left out of Insights without a word)."""

from __future__ import annotations

from datetime import date, datetime

from fastapi.testclient import TestClient

from tests.app.conftest import AUTH


def test_an_upload_without_a_date_is_counted_as_dated_by_upload_time(client: TestClient) -> None:
    text = b"Agent: Hello, how can I help?\nCustomer: My parcel is a week late.\n"
    r = client.post(
        "/api/calls",
        params={"wait": "true"},
        files=[("files", ("late-parcel.txt", text, "text/plain"))],
        headers=AUTH,
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "indexed"
    today = date.today().isoformat()
    body = client.get(
        "/api/insights", params={"date_from": today, "date_to": today}, headers=AUTH
    ).json()
    assert body["calls"]["value"] == 1 and body["undated"]["value"] == 0
    assert body["dated_by"]["upload"]["value"] == 1
    found = client.post(
        "/api/insights/calls", json={"filter": body["dated_by"]["upload"]["filter"]}, headers=AUTH
    ).json()
    assert [c["call_id"] for c in found["calls"]] == ["late-parcel"]
    assert datetime.fromisoformat(found["calls"][0]["date"]).date().isoformat() == today
