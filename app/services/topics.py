"""Topic discovery, the use case: cluster the calls nobody has labeled (or the classifier answered
``unknown``), name each cluster, keep the run, and turn a cluster into a new label. The CLI
(``callscope topics``), the API (``/api/topics``) and the UI's Topics tab call these functions.

Vectors are read from the call collection as ingest stored them (nothing is embedded again).
Each run is kept as JSON under ``<state>/topics/`` so ``show`` and ``label`` refer to a stable
topic number; labeling goes through ``ingest.relabel.apply_corrections``, the path of
``callscope relabel``, so every call's change is in its label history (payload and ledger).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import unicodedata
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.config import Settings
from app.core.errors import InputError, LLMError
from app.runtime import Runtime
from ingest.relabel import Correction, apply_corrections
from retrieval.classify.unknown import UNKNOWN
from retrieval.topics import (
    Discovery,
    PoolCall,
    Topic,
    TopicName,
    TopicOptions,
    language_centres,
    name_topic,
    suggest_label,
)
from retrieval.topics import discover as discover_topics

if TYPE_CHECKING:
    from retrieval.llm.client import LLMClient

log = logging.getLogger(__name__)

#: Which calls a run looks at: unlabeled or answered ``unknown`` (all), or only one of the two.
SCOPES = ("all", "unlabeled", "unknown")
#: The most calls one run clusters (the distance matrix is n x n); the newest are kept.
MAX_CALLS = 4000
#: Labeled calls read as the background the terms are contrasted with.
BACKGROUND_CALLS = 2000
EXCERPT_CHARS = 240
NO_LLM = "no LLM configured: topics are named by their distinctive terms only"

_RUN_ID = re.compile(r"^\d{8}-\d{6}-\d{6}$")
_CUSTOMER = re.compile(r"^\s*customer\s*[:：]\s*", re.IGNORECASE)
# Run files are rewritten when a topic is labeled; API threads may do it at the same moment.
_write_lock = threading.Lock()


class NoSuchTopic(InputError):
    """No stored run, or no topic of that number in it (the API answers 404)."""


@dataclass
class Pool:
    """The calls a run clusters, and what it knows of them."""

    calls: list[PoolCall]
    #: Per call: its labels and latest predicted label (None when never classified).
    labels: dict[str, list[str]]
    predicted: dict[str, str | None]
    #: Texts of labeled calls (the terms' background).
    background: list[str]
    #: The language means of every call vector in the collection (``language_centres``).
    centres: dict[str, np.ndarray]
    #: Calls that matched the scope before ``max_calls`` kept the newest.
    total: int


def read_pool(runtime: Runtime, scope: str = "all", max_calls: int = MAX_CALLS) -> Pool:
    """The call points in ``scope`` with their vectors. A call's prediction is its point's
    ``predicted`` payload when present, else its latest classification in the ledger."""
    if scope not in SCOPES:
        raise InputError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    if not isinstance(max_calls, int) or max_calls < 2:
        raise InputError(f"max_calls must be an integer of at least 2, got {max_calls!r}")
    found: list[tuple[str, PoolCall]] = []
    labels: dict[str, list[str]] = {}
    predicted: dict[str, str | None] = {}
    background: list[str] = []
    every: list[tuple[str | None, np.ndarray]] = []
    for point in runtime.calls.scroll(with_vectors=True):
        payload = point.payload
        call_id = str(payload["call_id"])
        if point.dense is not None:
            every.append((payload.get("language"), np.asarray(point.dense, dtype=np.float32)))
        given = list(payload.get("labels") or [])
        guess = payload.get("predicted")
        if guess is None:
            history = runtime.ledger.classifications(call_id)
            guess = history[-1]["label"] if history else None
        unlabeled, unknown = not given, guess == UNKNOWN
        wanted = {"all": unlabeled or unknown, "unlabeled": unlabeled, "unknown": unknown}[scope]
        text = str(payload.get("text") or "")
        if not wanted:
            if given and len(background) < BACKGROUND_CALLS:
                background.append(text)
            continue
        if point.dense is None:
            continue
        labels[call_id], predicted[call_id] = given, guess
        call = PoolCall(
            call_id,
            np.asarray(point.dense, dtype=np.float32),
            point.sparse,
            text,
            payload.get("language"),
        )
        found.append((str(payload.get("date") or ""), call))
    # Newest first when the pool is too big (undated calls count as oldest); then by id.
    found.sort(key=lambda dc: (dc[0], dc[1].call_id), reverse=True)
    kept = sorted((c for _, c in found[:max_calls]), key=lambda c: c.call_id)
    return Pool(kept, labels, predicted, background, language_centres(every), len(found))


def discover(
    runtime: Runtime,
    options: TopicOptions = TopicOptions(),
    *,
    scope: str = "all",
    max_calls: int = MAX_CALLS,
    use_llm: bool = True,
) -> dict[str, Any]:
    """Cluster the calls in ``scope``, name the topics (terms; with an LLM also a name and a
    description), store the run and return it."""
    started = time.perf_counter()
    pool = read_pool(runtime, scope, max_calls)
    read_seconds = time.perf_counter() - started
    found = discover_topics(pool.calls, options, pool.background, pool.centres)
    texts = {c.call_id: c.text for c in pool.calls}
    llm = runtime.llm if use_llm else None
    names, llm_info = _names(
        llm, found, texts, options.representatives, runtime.settings.llm.concurrency
    )
    topics = []
    for topic in found.topics:
        terms = [t for t, _ in topic.terms]
        named = names.get(topic.id)
        topics.append(
            {
                "id": topic.id,
                "size": len(topic.members),
                "name": named.name if named else None,
                "description": named.description if named else None,
                "terms": [{"term": t, "score": s} for t, s in topic.terms],
                "suggested_label": suggest_label(named.name if named else None, terms),
                "cohesion": topic.cohesion,
                "calls": [
                    {
                        "call_id": m.call_id,
                        "similarity": m.similarity,
                        "labels": pool.labels[m.call_id],
                        "predicted": pool.predicted[m.call_id],
                        "excerpt": excerpt(texts[m.call_id]),
                    }
                    for m in topic.members
                ],
                "representatives": topic.call_ids[: options.representatives],
                "promotions": [],
            }
        )
    run = {
        "run_id": _new_run_id(runtime.settings),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "collection": runtime.settings.qdrant.collection,
        "scope": scope,
        "method": options.method,
        "min_size": found.min_size,
        "bm25_weight": options.bm25_weight,
        "pool": len(pool.calls),
        "pool_total": pool.total,
        "clustered": sum(t["size"] for t in topics),
        "unclustered": found.unclustered,
        "topics": topics,
        "llm": llm_info,
        "note": None if llm_info else NO_LLM,
        "seconds": {
            "read": round(read_seconds, 3),
            **{k: round(v, 3) for k, v in found.seconds.items()},
            "total": round(time.perf_counter() - started, 3),
        },
    }
    _write(runtime.settings, run)
    return run


def _names(
    llm: LLMClient | None, found: Discovery, texts: dict[str, str], k: int, concurrency: int
) -> tuple[dict[int, TopicName], dict[str, Any] | None]:
    """LLM names of the topics ({} and None without an LLM); a topic the LLM fails on keeps its
    terms only and is listed in ``failed``."""
    if llm is None:
        return {}, None
    names: dict[int, TopicName] = {}
    failed: list[str] = []

    def ask(topic: Topic) -> None:
        calls = [texts[c] for c in topic.call_ids[:k]]
        try:
            names[topic.id] = name_topic(llm, [t for t, _ in topic.terms], calls)
        except LLMError as exc:
            log.warning("LLM naming of topic %s failed: %s", topic.id, exc)
            failed.append(f"topic {topic.id}: {exc}")

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(ask, found.topics))
    return names, {"model": llm.model, "named": len(names), "failed": sorted(failed)}


def excerpt(text: str, chars: int = EXCERPT_CHARS) -> str:
    """What a call is about at a glance: the customer's lines when the text has them (the agent
    greets the same way in every call), on one line, cut to ``chars``."""
    lines = text.splitlines()
    customer = [_CUSTOMER.sub("", line) for line in lines if _CUSTOMER.match(line)]
    flat = " ".join(" ".join(customer or lines).split())
    return flat if len(flat) <= chars else flat[: chars - 1].rstrip() + "…"


# ---------------------------------------------------------------------------- stored runs


def runs_dir(settings: Settings) -> Path:
    return settings.paths.state_dir / "topics"


def list_runs(settings: Settings, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ``limit`` stored runs of this collection, newest first, with their headline
    numbers."""
    out: list[dict[str, Any]] = []
    for path in sorted(runs_dir(settings).glob("*.json"), reverse=True):
        if len(out) >= limit:
            break
        run = _read(path)
        if run is None or run.get("collection") != settings.qdrant.collection:
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
    """A stored run (the newest of this collection without ``run_id``)."""
    if run_id is None:
        runs = list_runs(settings)
        if not runs:
            raise NoSuchTopic("no topic discovery run yet: run `callscope topics` first")
        run_id = str(runs[0]["run_id"])
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise InputError(f"run ids look like 20261201-093000-123456, got {run_id!r}")
    run = _read(runs_dir(settings) / f"{run_id}.json")
    if run is None or run.get("collection") != settings.qdrant.collection:
        raise NoSuchTopic(f"no topic discovery run {run_id!r} for this collection")
    return run


def show(runtime: Runtime, topic_id: int, run_id: str | None = None) -> dict[str, Any]:
    """One topic of a run, its calls with their labels now (a call labeled since shows it)."""
    run = load_run(runtime.settings, run_id)
    topic = dict(_topic(run, topic_id))
    calls = []
    for call in topic["calls"]:
        row = runtime.ledger.get(call["call_id"])
        now = list(row.labels) if row is not None else None
        calls.append({**call, "labels_now": now})
    topic["calls"] = calls
    topic["run_id"] = run["run_id"]
    return topic


def label_topic(
    runtime: Runtime,
    topic_id: int,
    name: str,
    *,
    run_id: str | None = None,
    exclude: Iterable[str] = (),
    dry_run: bool = False,
    by: str = "cli",
) -> dict[str, Any]:
    """Give the topic's calls (minus ``exclude``) the label ``name``: each becomes a labeled
    example, its change recorded in the label history (``topics <run> #<n> (<by>)``). A call
    whose labels changed since the run is left alone and reported."""
    label = clean_label(name)
    run = load_run(runtime.settings, run_id)
    topic = _topic(run, topic_id)
    members = {c["call_id"]: c for c in topic["calls"]}
    leave_out = {str(c).strip() for c in exclude if str(c).strip()}
    strangers = sorted(leave_out - set(members))
    if strangers:
        raise InputError(f"not calls of topic {topic_id}: {', '.join(strangers)}")
    source = f"topics {run['run_id']} #{topic_id} ({by})"
    existing = label in runtime.labels()
    corrections, skipped = [], []
    for call_id, call in members.items():
        if call_id in leave_out:
            continue
        row = runtime.ledger.get(call_id)
        if row is not None and list(row.labels) != list(call["labels"]):
            now = ", ".join(row.labels) or "none"
            skipped.append({"call_id": call_id, "reason": f"labels changed since the run ({now})"})
            continue
        corrections.append(Correction(call_id, label, source))
    report = apply_corrections(runtime, corrections, source, dry_run=dry_run)
    skipped += [{"call_id": c, "reason": why} for c, why in report.skipped]
    result = {
        "run_id": run["run_id"],
        "topic": topic_id,
        "label": label,
        "existing_label": existing,
        "dry_run": dry_run,
        "changed": [{"call_id": c.call_id, "old": c.old, "new": c.new} for c in report.changed],
        "unchanged": report.unchanged,
        "excluded": sorted(leave_out),
        "skipped": skipped,
    }
    if not dry_run and report.changed:
        _record_promotion(runtime.settings, run["run_id"], topic_id, result)
    return result


def clean_label(name: str) -> str:
    """A label a person typed, checked: one line, no ``;`` (it separates labels in tables), at
    most 80 characters, and not ``unknown`` (the classifier's answer when no label fits)."""
    text = " ".join(unicodedata.normalize("NFKC", str(name or "")).split())
    if not text:
        raise InputError("the new label is empty")
    if any(unicodedata.category(ch).startswith("C") for ch in text) or ";" in text:
        raise InputError(f"a label cannot hold control characters or ';': {name!r}")
    if len(text) > 80:
        raise InputError(f"a label has at most 80 characters, got {len(text)}")
    if text.lower() == UNKNOWN:
        raise InputError(f"{UNKNOWN!r} is the classifier's answer when no label fits, not a label")
    return text


def _topic(run: dict[str, Any], topic_id: int) -> dict[str, Any]:
    for topic in run["topics"]:
        if topic["id"] == topic_id:
            return topic
    have = f"1-{len(run['topics'])}" if run["topics"] else "none"
    raise NoSuchTopic(f"run {run['run_id']} has no topic {topic_id} (topics: {have})")


def _record_promotion(
    settings: Settings, run_id: str, topic_id: int, result: dict[str, Any]
) -> None:
    with _write_lock:
        run = load_run(settings, run_id)
        _topic(run, topic_id).setdefault("promotions", []).append(
            {
                "label": result["label"],
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "changed": len(result["changed"]),
                "skipped": len(result["skipped"]),
            }
        )
        _write(settings, run)


def _new_run_id(settings: Settings) -> str:
    while True:
        now = datetime.now()
        run_id = now.strftime("%Y%m%d-%H%M%S-%f")
        if not (runs_dir(settings) / f"{run_id}.json").exists():
            return run_id
        time.sleep(1e-6)


def _write(settings: Settings, run: dict[str, Any]) -> None:
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
