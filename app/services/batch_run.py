"""The weekly batch as one resumable run: recordings (or transcripts) in; each call transcribed
(from the transcript cache when seen before), indexed with its metadata, classified from the
vectors just stored, and written to the run's results; a summary of the run at the end.

A run lives in a folder (``<state>/batches/<run id>``). Calls are taken ``batch.chunk`` at a
time (fewer in a small run, so that its progress moves while it runs: ``step_size``): ingested
(a call already indexed comes back ``unchanged`` from the ledger, never stored twice),
classified in one pass, then appended to ``progress.jsonl``, one flushed line per call.
Killed at any point, the same command continues: inputs already in ``progress.jsonl`` are
skipped, the interrupted step is done again (its ingest finds its calls indexed), and a torn last
line is dropped, so no call is lost and none appears twice in the results. A bad input becomes a
failed row with its reason; the run goes on.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.models import CallSource
from app.runtime import Runtime
from app.services.calls import ingest_sources
from app.services.classify import CallResult, classify_calls
from app.services.conversation import conversation
from app.services.inspection import matched_rules
from app.services.llm_trust import llm_trust
from app.services.results import ResultLog, row, write_rows
from ingest.ledger import LedgerRow
from ingest.workers import plan
from retrieval.classify.knn import UNKNOWN

#: Ingest outcomes after which the call is in the store and can be classified.
_STORED = ("indexed", "unchanged")
#: A small run is cut into at least this many steps, so its progress moves while it runs.
PROGRESS_STEPS = 4

Progress = Callable[[int, int | None, str], None]


def run_id(inputs: list[str]) -> str:
    """A run's id from what it was given (sorted, so the same command names the same run)."""
    digest = hashlib.sha256("\n".join(sorted(inputs)).encode("utf-8")).hexdigest()
    return f"run-{digest[:12]}"


def batches_dir(runtime: Runtime) -> Path:
    return runtime.settings.paths.state_dir / "batches"


def run_batch(
    runtime: Runtime,
    sources: list[CallSource],
    input_errors: list[tuple[str, str]],
    *,
    folder: Path,
    source: str,
    progress: Progress | None = None,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Process every source not yet in ``folder``'s results; returns the run summary (and
    writes it, with results.csv/.xlsx/.jsonl, into ``folder``). ``names``: what to call an
    input (its origin) in the results, e.g. the client's file name for an upload stored under
    a server path that must not leave the server."""
    folder.mkdir(parents=True, exist_ok=True)
    log = ResultLog(folder / "progress.jsonl", key="input")
    rows = log.rows
    resumed = len(rows)
    names = names or {}

    def shown(origin: str) -> str:
        return names.get(origin, origin)

    def hide(message: str) -> str:
        for origin, name in names.items():
            message = message.replace(origin, name)
        return message

    total = len(sources) + len(input_errors)
    report = progress or (lambda done, total, message: None)
    started = time.perf_counter()
    clock = Counter(runtime.clock)
    try:
        for origin, message in input_errors:
            if origin not in log.done:
                name = shown(origin)
                log.add(
                    {
                        "call_id": Path(name).stem,
                        "origin": name,
                        "input": origin,
                        "error": hide(message),
                    }
                )
        pending = [s for s in sources if s.origin not in log.done]
        report(len(rows), total, f"{len(pending)} calls to process ({resumed} done before)")
        if pending and not runtime.long_lived:
            # Measured once before the first step, with its progress shown (a server measures
            # in the background instead): the whole run then uses the LLM where it helps.
            llm_trust(
                runtime,
                on_progress=lambda _d, _t, line: report(
                    len(rows), total, f"measuring the LLM on labeled calls: {line}"
                ),
            )
        chunk = step_size(len(pending), runtime)
        for at in range(0, len(pending), chunk):
            step = pending[at : at + chunk]
            for src, item in zip(step, _process(runtime, step, source), strict=True):
                item.update(origin=shown(src.origin), input=src.origin)
                if item.get("error"):
                    item["error"] = hide(item["error"])
                log.add(item)
            report(len(rows), total, f"processed {len(rows)}/{total}")
    finally:
        log.close()
    stages = {k: v - clock.get(k, 0.0) for k, v in runtime.clock.items()}
    summary = summarize(rows, runtime, time.perf_counter() - started, resumed, stages)
    for fmt in ("csv", "xlsx", "jsonl"):  # "input" (the resume key) is not a results column
        write_rows(folder / f"results.{fmt}", rows)
    (folder / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return summary


def step_size(pending: int, runtime: Runtime) -> int:
    """Calls per step: ``batch.chunk``, or fewer in a small run so that it reports progress
    about ``PROGRESS_STEPS`` times (a step is transcribed as one group: nothing can be reported
    inside it). A small step is a multiple of the transcription workers, so that none waits for
    the others (12 demo recordings, 2 workers: 3 steps of 4 took 15.2 s, one step of 12 15.0 s;
    4 steps of 3 took 22% longer)."""
    workers = max(1, int(machine(runtime)["workers"] or 1))
    small = workers * math.ceil(pending / (PROGRESS_STEPS * workers))
    return max(1, min(runtime.settings.batch.chunk, small))


def _process(runtime: Runtime, step: list[CallSource], source: str) -> list[dict[str, Any]]:
    """Ingest then classify one step of calls; one result row per source, in order."""
    # Results come as calls finish (a failure at once, indexed calls after their batch is
    # stored): matched back to the step's order by input.
    by_origin = {r.origin: r for r in ingest_sources(runtime, step, by=source)}
    ingested = [by_origin[src.origin] for src in step]
    stored = [r.call_id for r in ingested if r.status in _STORED]
    started = time.perf_counter()
    found = {r.call_id: r for r in classify_calls(runtime, stored, source=source)}
    runtime.clock["classify"] += time.perf_counter() - started
    out = []
    for src, result in zip(step, ingested, strict=True):
        if result.status in _STORED:
            classified = found[result.call_id]
        else:
            classified = CallResult(result.call_id, src.origin, error=result.error or result.status)
        item = row(classified)
        # One ledger read per call: the duration of an unchanged call and the transcript its
        # conversation figures are measured from.
        ledger_row = runtime.ledger.get(result.call_id)
        item.update(
            ingest=result.status,
            audio_seconds=_audio_seconds(ledger_row, result.seconds_audio),
            **conversation(runtime, ledger_row if result.status in _STORED else None),
            categories=";".join(matched_rules(runtime, result.call_id))
            if result.status in _STORED
            else None,
        )
        out.append(item)
    return out


def _audio_seconds(row: LedgerRow | None, seen: float | None) -> float | None:
    if seen is not None:
        return round(seen, 2)
    return round(row.duration, 2) if row and row.duration else None  # an unchanged call


def summarize(
    rows: list[dict[str, Any]],
    runtime: Runtime,
    seconds: float,
    resumed: int = 0,
    stages: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The run in numbers: what was answered, how surely, what failed and why, how fast, and
    on what (``callscope sizing`` plans hardware from the stage seconds and the machine)."""
    ok = [r for r in rows if not r.get("error")]
    low = runtime.settings.batch.low_confidence
    answered = [r for r in ok if r.get("label") != UNKNOWN]
    audio = sum(float(r.get("audio_seconds") or 0) for r in rows)
    new = len(rows) - resumed
    new_audio = sum(float(r.get("audio_seconds") or 0) for r in rows[resumed:])
    return {
        "n": len(rows),
        "classified": len(ok),
        "failed": len(rows) - len(ok),
        "labels": dict(Counter(r["label"] for r in ok).most_common()),
        "unknown": sum(r.get("label") == UNKNOWN for r in ok),
        "low_confidence": sum(float(r.get("confidence") or 0) < low for r in answered),
        "low_confidence_below": low,
        "decided_by": dict(Counter(r.get("decided_by") for r in ok)),
        "errors": [{"origin": r["origin"], "error": r["error"]} for r in rows if r.get("error")],
        "audio_hours": round(audio / 3600, 4),
        "resumed_from": resumed,
        "seconds": round(seconds, 1),
        # This invocation's pace (calls done before a resume are not in it).
        "calls_per_hour": round(new / seconds * 3600, 1) if seconds > 0 and new else None,
        "audio_hours_per_hour": round(new_audio / seconds, 2) if seconds > 0 and new else None,
        "new_calls": new,
        "new_audio_hours": round(new_audio / 3600, 4),
        "stage_seconds": {k: round(v, 1) for k, v in sorted((stages or {}).items())},
        "machine": machine(runtime),
        "llm_usage": runtime.llm_usage(),
    }


def machine(runtime: Runtime) -> dict[str, Any]:
    """What the run ran on: cores, the speech model and device, and how transcription was
    spread (in-process, worker processes, or Ray actors)."""
    s = runtime.settings.whisper
    workers, threads = plan(s)
    ray = runtime.settings.ray.address or os.environ.get("RAY_ADDRESS")
    return {
        "cores": os.cpu_count() or 1,
        "model": s.model,
        "device": s.device,
        "compute_type": s.compute_type,
        "transcription": "ray" if ray else ("processes" if workers > 1 else "in-process"),
        "workers": runtime.settings.ray.workers if ray else workers,
        "threads_per_worker": threads,
    }
