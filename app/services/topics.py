"""Topic discovery, the use case: cluster the calls nobody has labeled (or the classifier answered
``unknown``), name each cluster, keep the run, and turn a cluster into a new label. The CLI
(``callscope topics``), the API (``/api/topics``) and the UI's Topics tab call these functions.

Vectors are read from the index as ingest stored them (nothing is embedded again). Boilerplate
(lines most calls of the pool share: the company's greeting and closing) and filler are left out:
a call that has such turns gets its vector again from its other turns' stored vectors
(``retrieval.topics.content``). Each run is kept as JSON under ``<state>/topics/``
(``topic_runs``) so ``show`` and ``label`` refer to a stable topic number; labeling goes through
``ingest.relabel.apply_corrections``, the path of ``callscope relabel``, so every call's change
is in its label history (payload and ledger).
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.config import Settings
from app.core.errors import InputError, LLMError
from app.core.filler import Boilerplate
from app.runtime import Runtime
from app.services.topic_runs import (
    NoSuchTopic,
    list_runs,
    load_run,
    new_run_id,
    runs_dir,
    topic_of,
    write_lock,
    write_run,
)
from ingest.relabel import Correction, apply_corrections
from retrieval.classify.unknown import UNKNOWN
from retrieval.topics import (
    METHODS,
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
from retrieval.topics.content import content_vector, has_content_free, learn_boilerplate

if TYPE_CHECKING:
    from retrieval.llm.client import LLMClient

# The faces take these from here, never from retrieval.
__all__ = [
    "MAX_CALLS",
    "METHODS",
    "SCOPES",
    "TopicOptions",
    "NoSuchTopic",
    "clean_label",
    "discover",
    "label_topic",
    "list_runs",
    "load_run",
    "read_pool",
    "runs_dir",
    "show",
    "title",
    "with_content_vectors",
]

log = logging.getLogger(__name__)

#: Which calls a run looks at: unlabeled or answered ``unknown`` (all), or only one of the two.
SCOPES = ("all", "unlabeled", "unknown")
#: The most calls one run clusters (the distance matrix is n x n); the newest are kept.
MAX_CALLS = 4000
#: Labeled calls read as the background the terms are contrasted with.
BACKGROUND_CALLS = 2000
EXCERPT_CHARS = 240
NO_LLM = "no LLM configured: topics are named by their distinctive terms only"

#: Calls whose turns are read at once to give them their vectors without boilerplate.
TURN_BATCH = 100
_CUSTOMER = re.compile(r"^\s*customer\s*[:：]\s*", re.IGNORECASE)


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
    #: The lines most calls of the pool share (its greeting, its closing).
    boilerplate: Boilerplate


def read_pool(runtime: Runtime, scope: str = "all", max_calls: int = MAX_CALLS) -> Pool:
    """The call points in ``scope`` with their vectors. A call's prediction is its point's
    ``predicted`` payload when present, else its latest classification in the ledger. A call
    with filler or boilerplate turns gets its vector from its other turns."""
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
    kept, boilerplate = with_content_vectors(runtime, kept)
    return Pool(
        kept, labels, predicted, background, language_centres(every), len(found), boilerplate
    )


def with_content_vectors(
    runtime: Runtime, calls: list[PoolCall]
) -> tuple[list[PoolCall], Boilerplate]:
    """The calls of a pool, those with filler or boilerplate turns given the vector of their
    other turns (from the turn vectors the index holds, a batch of calls at a time: a pool of
    thousands of long calls never sits in memory as turn vectors), and the pool's boilerplate
    (learned from the calls' texts)."""
    boilerplate = learn_boilerplate(calls)
    redo = [c.call_id for c in calls if has_content_free(c.text, boilerplate)]
    vectors: dict[str, np.ndarray] = {}
    for i in range(0, len(redo), TURN_BATCH):
        turns: dict[str, list[tuple[str, np.ndarray]]] = {}
        for point in runtime.turns.scroll({"call_id": redo[i : i + TURN_BATCH]}, with_vectors=True):
            if point.dense is not None:
                text = str(point.payload.get("text") or "")
                dense = np.asarray(point.dense, dtype=np.float32)
                turns.setdefault(str(point.payload["call_id"]), []).append((text, dense))
        for call_id, found in turns.items():
            if (vector := content_vector(found, boilerplate)) is not None:
                vectors[call_id] = vector
    content = [replace(c, dense=vectors[c.call_id]) if c.call_id in vectors else c for c in calls]
    return content, boilerplate


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
    found = discover_topics(
        pool.calls, options, pool.background, pool.centres, boilerplate=pool.boilerplate
    )
    texts = found.texts  # without the greeting, the closing and filler
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
                "title": named.name if named else title(terms),
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
        "run_id": new_run_id(runtime.settings),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "index": runtime.settings.qdrant.index,
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
    write_run(runtime.settings, run)
    return run


def title(terms: list[str]) -> str:
    """What a topic is called without an LLM: its three best terms."""
    return " · ".join(terms[:3])


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


def show(runtime: Runtime, topic_id: int, run_id: str | None = None) -> dict[str, Any]:
    """One topic of a run, its calls with their labels now (a call labeled since shows it)."""
    run = load_run(runtime.settings, run_id)
    topic = dict(topic_of(run, topic_id))
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
    topic = topic_of(run, topic_id)
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


def _record_promotion(
    settings: Settings, run_id: str, topic_id: int, result: dict[str, Any]
) -> None:
    with write_lock:
        run = load_run(settings, run_id)
        topic_of(run, topic_id).setdefault("promotions", []).append(
            {
                "label": result["label"],
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "changed": len(result["changed"]),
                "skipped": len(result["skipped"]),
            }
        )
        write_run(settings, run)
