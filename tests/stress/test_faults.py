"""Faults at scale (``make stress``): ``kill -9`` at random points of a 1,000-call import, then the
same command again until it finishes; every call is indexed once, with one set of points, and
``callscope doctor`` finds nothing to repair. Real CLI subprocesses, real MiniLM and Qdrant Edge.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.config import Settings
from app.runtime import Runtime
from app.services.doctor import doctor

pytestmark = pytest.mark.stress

DATA = Path(__file__).parents[1] / "data"


def _table(path: Path, n: int) -> Path:
    rows = list(csv.DictReader((DATA / "banking77_small.csv").open(encoding="utf-8")))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", "category"])
        for i in range(n):
            row = rows[i % len(rows)]
            # Two turns per call, so a call has several turn points to duplicate or orphan.
            text = f"Customer: {row['text']} (call {i})\nAgent: Let me check that for you."
            writer.writerow([f"call-{i:03d}", text, row["category"]])
    return path


def _import(settings: Settings, table: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PATHS__STATE_DIR": str(settings.paths.state_dir),
        "PATHS__MODELS_DIR": str(settings.paths.models),
        "HF_HUB_OFFLINE": "1",
    }
    cli = Path(sys.executable).with_name("callscope")
    return subprocess.Popen(
        [str(cli), "import-labels", str(table)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


N = 1000


def test_kill_9_during_an_import_loses_and_doubles_nothing(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    table = _table(tmp_path / "calls.csv", N)
    rng = random.Random(0)
    kills = 0
    for _ in range(4):  # kill at four random moments (model loading, mid-batch, ...)
        proc = _import(settings, table)
        time.sleep(rng.uniform(3.0, 12.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
    assert _import(settings, table).wait(timeout=900) == 0
    assert kills >= 2, "the import finished before it could be interrupted: raise the sizes"

    with Runtime(settings) as rt:
        assert rt.ledger.counts()["indexed"] == N
        assert rt.calls.count() == N
        # Exactly two turn points per call: nothing doubled, nothing left half-written.
        assert rt.turns.count() == 2 * N
        per_call = {p.payload["call_id"] for p in rt.turns.scroll()}
        assert len(per_call) == N
    report = doctor(settings, repair=False)
    assert report.problems == [] and report.orphan_points == 0
