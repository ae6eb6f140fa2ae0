"""Uploaded calls are dated (issue 23): a call uploaded without a date used to be indexed with
none and silently left out of Insights. Now it takes the time it was uploaded and says so
(``date_source`` ``upload``), and a call read from disk its file's time (``file``); a date given
with the upload or in the transcript is the call's own (``call``). A re-upload keeps the first
date, ``callscope reindex`` keeps where it came from, and Insights count these calls and say how
many were dated by upload time. Real pipeline (MiniLM, Qdrant Edge), the UI's and the API's
upload path (``store_files`` / ``ingest_stored``)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.core.filters import CallFilter
from app.runtime import Runtime
from app.services.calls import ingest_stored, store_files, upload_sources
from app.services.insights import InsightsQuery, insights
from app.services.reindex import reindex


def _payload(runtime: Runtime, call_id: str) -> dict[str, Any]:
    [point] = runtime.calls.scroll({"call_id": call_id})
    return point.payload


def test_uploads_are_dated_by_upload_time_and_say_so(
    make_settings: Callable[..., Settings], embedder: Any, tmp_path: Path
) -> None:
    plain = tmp_path / "late-parcel.txt"
    plain.write_text("Agent: Hello, how can I help?\nCustomer: My parcel is a week late.\n")
    own = tmp_path / "own-date.json"
    turns = [{"speaker": "customer", "text": "I want a refund for the kettle."}]
    own.write_text(json.dumps({"date": "2026-10-05", "turns": turns}))
    given = tmp_path / "given-date.txt"
    given.write_text("Customer: I cannot log in to the app.\n")
    settings = make_settings()
    with Runtime(settings, embedder=embedder) as runtime:
        before = datetime.now().replace(microsecond=0)
        stored = store_files(runtime, [plain, own])
        results = ingest_stored(runtime, stored)
        assert [r["status"] for r in results] == ["indexed", "indexed"]
        uploaded = _payload(runtime, "late-parcel")
        moment = datetime.fromisoformat(uploaded["date"])
        assert before <= moment <= datetime.now() and uploaded["date_source"] == "upload"
        assert _payload(runtime, "own-date")["date"] == "2026-10-05"
        assert _payload(runtime, "own-date")["date_source"] == "call"
        # A date given with the upload (the API's `date` field) is the call's own.
        ingest_stored(runtime, store_files(runtime, [given]), date="2026-10-07")
        assert _payload(runtime, "given-date")["date_source"] == "call"

        # Insights count the uploaded call and say it is dated by its upload time.
        today = moment.date()
        report = insights(
            runtime,
            InsightsQuery(filters=CallFilter(date_from=today - timedelta(days=6), date_to=today)),
        )
        assert report.calls.value == 1 and report.undated.value == 0
        assert set(report.dated_by) == {"upload"} and report.dated_by["upload"].value == 1
        assert runtime.calls.count(report.dated_by["upload"].filter) == 1
        october = insights(
            runtime,
            InsightsQuery(
                filters=CallFilter(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))
            ),
        )
        assert october.calls.value == 2 and october.dated_by == {}

        # The same file uploaded again an hour later is the same call, with its first date.
        later = moment.timestamp() + 3600
        for _, path in stored:
            os.utime(path, (later, later))
        again = ingest_stored(runtime, stored)
        assert [r["status"] for r in again] == ["unchanged", "unchanged"]
        assert _payload(runtime, "late-parcel")["date"] == uploaded["date"]
        [source], _ = upload_sources(stored[:1])
        assert source.date_source == "upload" and source.date != uploaded["date"]
    with Runtime(settings, embedder=embedder) as runtime:
        assert reindex(runtime).counts == {"indexed": 3}
        assert _payload(runtime, "late-parcel")["date_source"] == "upload"
        assert _payload(runtime, "own-date")["date_source"] == "call"


def test_calls_read_from_disk_are_dated_by_their_file_time_and_say_so(
    make_settings: Callable[..., Settings], embedder: Any, tmp_path: Path
) -> None:
    from app.services.calls import discover_inputs, ingest_sources

    folder = tmp_path / "week48"
    folder.mkdir()
    said = folder / "late-parcel.txt"
    said.write_text("Agent: Hello.\nCustomer: My parcel is late again.\n", encoding="utf-8")
    own = folder / "own-date.json"
    own.write_text(
        json.dumps({"date": "2026-10-01", "turns": [{"speaker": "customer", "text": "Hi"}]}),
        encoding="utf-8",
    )
    recorded = datetime(2026, 11, 24, 9, 30).timestamp()
    for path in (said, own):
        os.utime(path, (recorded, recorded))
    with Runtime(make_settings(), embedder=embedder) as runtime:
        sources, errors = discover_inputs([folder])
        assert errors == [] and {r.status for r in ingest_sources(runtime, sources)} == {"indexed"}
        parcel = _payload(runtime, "late-parcel")
        assert (parcel["date"], parcel["date_source"]) == ("2026-11-24T09:30:00", "file")
        assert _payload(runtime, "own-date")["date_source"] == "call"
        # Counted in its week, and said to be dated by its file's time.
        week = CallFilter(date_from=date(2026, 11, 23), date_to=date(2026, 11, 29))
        report = insights(runtime, InsightsQuery(filters=week))
        assert report.calls.value == 1 and set(report.dated_by) == {"file"}
        # A copied folder (new file times) is the same calls: nothing re-indexed, date kept.
        os.utime(said)
        again, _ = discover_inputs([folder])
        assert {r.status for r in ingest_sources(runtime, again)} == {"unchanged"}
        assert _payload(runtime, "late-parcel")["date"] == "2026-11-24T09:30:00"
