"""``callscope serve`` bounds its connections: clients that open a connection and never finish
their request (slowloris) cannot hold the server; beyond ``API__MAX_CONNECTIONS`` a client gets
503 at once, and the server answers again as soon as they go."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from app.core.config import Settings
from tests.app.cli.test_serve import _free_port, _wait_up


def test_half_open_connections_beyond_the_limit_get_503_not_a_hang(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PATHS__STATE_DIR": str(settings.paths.state_dir),
        "PATHS__MODELS_DIR": str(settings.paths.models),
        "API__API_KEYS": "test-key",
        "API__MAX_CONNECTIONS": "3",
        "HF_HUB_OFFLINE": "1",
    }
    cli = Path(sys.executable).with_name("callscope")
    server = subprocess.Popen(
        [str(cli), "serve", "--port", str(port), "--no-ui"],
        env=env,
        stdout=(tmp_path / "serve.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    held: list[socket.socket] = []
    try:
        _wait_up(base)
        for _ in range(4):  # more half-open requests than the limit
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            held.append(s)
        time.sleep(0.5)
        started = time.perf_counter()
        busy = httpx.get(f"{base}/health", timeout=10)
        assert busy.status_code == 503 and time.perf_counter() - started < 5
        for s in held:
            s.close()
        held.clear()
        time.sleep(0.5)
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    finally:
        for s in held:
            s.close()
        server.terminate()
        server.wait(30)
