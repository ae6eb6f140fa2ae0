"""Faults at scale (``make stress``): ``kill -9`` of ``callscope serve`` in the middle of a
400-call batch classification job; the next server resumes the job, and its results hold every
call exactly once."""

from __future__ import annotations

import csv
import io
import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.core.config import Settings
from tests.app.cli.test_serve import (
    KEY,
    _free_port,
    _poll_job,
    _running,
    _serve,
    _table,
    _wait_up,
)

pytestmark = pytest.mark.stress

N = 400


def test_kill_9_mid_batch_job_resumes_without_loss_or_duplicates(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    table, n_train = _table(1)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    files = [
        ("files", (f"new-{i:03d}.txt", f"Customer: card payment problem number {i}\n".encode()))
        for i in range(N)
    ]

    first = _serve(settings, port, log)
    try:
        _wait_up(base)
        r = httpx.post(
            f"{base}/api/imports?wait=true",
            files={"table": ("train.csv", table, "text/csv")},
            headers=KEY,
            timeout=600,
        )
        assert r.status_code == 200, r.text
        r = httpx.post(f"{base}/api/classify/batch", files=files, headers=KEY, timeout=120)
        assert r.status_code == 202, r.text
        job_id = r.json()["job"]["id"]
        # until part of the batch is done
        job = _poll_job(base, job_id, lambda j: j["done"] >= 20 or not _running(j), 6000, 0.02)
        assert job["state"] == "running" and 0 < job["done"] < N, job
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)

    second = _serve(settings, port, log)
    try:
        _wait_up(base)
        job = _poll_job(base, job_id, lambda j: not _running(j), 2400, 0.25)
        assert job["state"] == "done" and job["attempts"] == 2, job
        got = httpx.get(
            f"{base}/api/jobs/{job_id}/results", params={"format": "csv"}, headers=KEY, timeout=60
        )
    finally:
        second.terminate()
        second.wait(30)
    rows = list(csv.DictReader(io.StringIO(got.text.lstrip("\ufeff"))))
    ids = [row["call_id"] for row in rows]
    assert len(ids) == N and len(set(ids)) == N  # every call once
    assert all(row["label"] and not row["error"] for row in rows)
    assert n_train > 0
