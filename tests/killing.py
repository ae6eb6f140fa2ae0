"""Interrupting a command the hard way: start it, watch for a sign it is mid-way, ``kill -9``."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).parents[1]


def kill_9_when(
    command: Sequence[str],
    env: Mapping[str, str],
    progress: Callable[[], int],
    at_least: int,
    *,
    timeout: float = 300,
) -> int:
    """Run ``command`` from the project root; once ``progress()`` reaches ``at_least``, kill it
    with SIGKILL. Returns the progress seen at the kill; fails if the command ended first."""
    proc = subprocess.Popen(
        list(command), cwd=ROOT, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    seen = 0
    try:
        while proc.poll() is None:
            time.sleep(0.05)
            seen = progress()
            if seen >= at_least:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=timeout)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be interrupted"
    return seen
