"""Stored topic discovery runs: one JSON file per run under ``<state>/topics/``, written
atomically, so ``show`` and ``label`` refer to a stable topic number and a run can be read again
(``app.services.topics`` makes them)."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.core.errors import InputError

_RUN_ID = re.compile(r"^\d{8}-\d{6}-\d{6}$")
# Run files are rewritten when a topic is labeled; API threads may do it at the same moment.
write_lock = threading.Lock()


class NoSuchTopic(InputError):
    """No stored run, or no topic of that number in it (the API answers 404)."""


def runs_dir(settings: Settings) -> Path:
    return settings.paths.state_dir / "topics"


def _of_this_index(run: dict[str, Any], settings: Settings) -> bool:
    # Runs made before collections were named after the index name the turn collection.
    q = settings.qdrant
    return run.get("index", None) == q.index or run.get("collection") == q.legacy_collections[0]


def list_runs(
    settings: Settings, limit: int = 50, *, include_empty: bool = True
) -> list[dict[str, Any]]:
    """The newest ``limit`` stored runs of this index, newest first, with their headline
    numbers; ``include_empty=False`` leaves out the runs that found no topic."""
    out: list[dict[str, Any]] = []
    for path in sorted(runs_dir(settings).glob("*.json"), reverse=True):
        if len(out) >= limit:
            break
        run = _read(path)
        if run is None or not _of_this_index(run, settings):
            continue
        if not include_empty and not run.get("topics"):
            continue
        out.append(
            {
                k: run.get(k)
                for k in ("run_id", "created_at", "scope", "method", "pool", "clustered")
            }
            | {"topics": len(run.get("topics") or []), "named_by_llm": bool(run.get("llm"))}
        )
    return out


def load_run(settings: Settings, run_id: str | None = None) -> dict[str, Any]:
    """A stored run (the newest of this index without ``run_id``)."""
    if run_id is None:
        runs = list_runs(settings)
        if not runs:
            raise NoSuchTopic("no topic discovery run yet: run `callscope topics` first")
        run_id = str(runs[0]["run_id"])
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise InputError(f"run ids look like 20261201-093000-123456, got {run_id!r}")
    run = _read(runs_dir(settings) / f"{run_id}.json")
    if run is None or not _of_this_index(run, settings):
        raise NoSuchTopic(f"no topic discovery run {run_id!r} for this index")
    return run


def topic_of(run: dict[str, Any], topic_id: int) -> dict[str, Any]:
    """Topic ``topic_id`` of a run (``NoSuchTopic`` naming the topics it has)."""
    for topic in run["topics"]:
        if topic["id"] == topic_id:
            return topic
    have = f"1-{len(run['topics'])}" if run["topics"] else "none"
    raise NoSuchTopic(f"run {run['run_id']} has no topic {topic_id} (topics: {have})")


def new_run_id(settings: Settings) -> str:
    while True:
        now = datetime.now()
        run_id = now.strftime("%Y%m%d-%H%M%S-%f")
        if not (runs_dir(settings) / f"{run_id}.json").exists():
            return run_id
        time.sleep(1e-6)


def write_run(settings: Settings, run: dict[str, Any]) -> None:
    """Write the run atomically: a reader never sees half a file."""
    folder = runs_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run['run_id']}.json"
    tmp = path.with_suffix(f".tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("topics"), list) else None
