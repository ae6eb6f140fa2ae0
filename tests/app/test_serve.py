"""``callscope serve`` really serves: a subprocess on a free port answers /health and /ready."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from app.config import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_health_and_ready(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    port = _free_port()
    env = {
        **os.environ,
        "PATHS__STATE_DIR": str(settings.paths.state_dir),
        "PATHS__MODELS_DIR": str(settings.paths.models),
        "API__API_KEYS": "test-key",
        "HF_HUB_OFFLINE": "1",
    }
    cli = Path(sys.executable).with_name("callscope")
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(240):  # the lifespan loads the embedder before the port opens
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.25)
        ready = httpx.get(f"{base}/ready", timeout=30)
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert httpx.get(f"{base}/api/search", params={"q": "x"}).status_code == 401
        keyed = httpx.get(
            f"{base}/api/search", params={"q": "refund"}, headers={"X-API-Key": "test-key"}
        )
        assert keyed.status_code == 200 and keyed.json()["hits"] == []
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}" in out
