"""``callscope serve`` really serves, and its jobs outlive it: a server subprocess on a free port
answers /health, /ready and keyed requests, takes an import job, is killed with ``kill -9``
mid-job, and the next server resumes the job without losing or duplicating a call."""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.core.config import Settings

DATA = Path(__file__).parents[2] / "data"
KEY = {"X-API-Key": "test-key"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PATHS__STATE_DIR": str(settings.paths.state_dir),
        "PATHS__MODELS_DIR": str(settings.paths.models),
        "API__API_KEYS": "test-key",
        "HF_HUB_OFFLINE": "1",
    }
    cli = Path(sys.executable).with_name("callscope")
    # --no-ui: the UI has its own browser tests; importing gradio would only slow the restarts.
    return subprocess.Popen(
        [str(cli), "serve", "--port", str(port), "--no-ui"],
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def _wait_up(base: str) -> None:
    for _ in range(600):  # the lifespan loads the embedder before the port opens
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.25)
    raise AssertionError("the server did not come up")


def _poll_job(
    base: str, job_id: str, stop: Callable[[dict], bool], tries: int, pause: float
) -> dict:
    """The job as ``GET /api/jobs/{id}`` shows it, once ``stop(job)`` holds (or after
    ``tries`` polls ``pause`` seconds apart)."""
    job: dict = {}
    for _ in range(tries):
        try:
            job = httpx.get(f"{base}/api/jobs/{job_id}", headers=KEY, timeout=10).json()
        except httpx.TimeoutException:  # a server busy transcribing on a loaded machine
            continue  # answers the next poll; what is tested is the job, not the wait
        if stop(job):
            break
        time.sleep(pause)
    return job


def _running(job: dict) -> bool:
    return job["state"] in ("queued", "running")


def _table(copies: int) -> tuple[bytes, int]:
    rows = list(csv.DictReader((DATA / "banking77_small.csv").open(encoding="utf-8")))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "text", "category"])
    for copy in range(copies):
        for row in rows:
            writer.writerow([f"{row['id']}-{copy}", f"{row['text']} ({copy})", row["category"]])
    return out.getvalue().encode(), copies * len(rows)


# In `make stress`, not `make test`: two servers and a kill -9: ~42 s.
@pytest.mark.stress
def test_serve_then_kill_9_mid_job_and_the_next_server_resumes_it(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    table, n = _table(3)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"

    first = _serve(settings, port, log)
    try:
        _wait_up(base)
        ready = httpx.get(f"{base}/ready", timeout=30)
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert httpx.get(f"{base}/api/search", params={"q": "x"}).status_code == 401
        keyed = httpx.get(f"{base}/api/search", params={"q": "refund"}, headers=KEY)
        assert keyed.status_code == 200 and keyed.json()["hits"] == []

        r = httpx.post(
            f"{base}/api/imports",
            files={"table": ("big.csv", table, "text/csv")},
            headers=KEY,
            timeout=60,
        )
        assert r.status_code == 202
        job_id = r.json()["job"]["id"]
        # until some calls are indexed, not all
        job = _poll_job(base, job_id, lambda j: j["done"] > 0 or not _running(j), 3000, 0.02)
        assert job["state"] == "running" and 0 < job["done"] < n, job
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)

    second = _serve(settings, port, log)
    try:
        _wait_up(base)
        job = _poll_job(base, job_id, lambda j: not _running(j), 1200, 0.25)
        calls = httpx.get(f"{base}/api/calls", params={"limit": 1}, headers=KEY).json()
        ready = httpx.get(f"{base}/ready", timeout=30).json()
    finally:
        second.terminate()
        second.wait(30)
    assert job["state"] == "done" and job["attempts"] == 2, job
    assert job["done"] == job["total"] == n
    # Every row exactly once: one call point and one ledger row per call.
    assert calls["total"] == n and ready["calls"] == n
    # The second attempt found the calls the first had indexed and skipped them.
    counts = job["result"]["counts"]
    assert counts.get("unchanged", 0) > 0 and counts.get("indexed", 0) + counts["unchanged"] == n
    assert f"http://127.0.0.1:{port}" in log.read_text()
