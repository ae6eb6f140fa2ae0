"""``callscope eval retrieval``: recall@k and MRR of call search on a gold set.

CORPUS rows are turns of conversations (``id``, ``text``, ``call_id``, ``speaker``, ``date``);
they are grouped into calls in file order (a row's ``date`` is its session's date, in any usual
form) and indexed through the production ingest path into a temporary collection: one point per
turn. The ranked turns of a search are corpus ids in rank order (deduplicated), which is what
recall@k and MRR are computed on. A query with ``call_id`` searches only that call (payload
filter).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.core.errors import InputError
from app.core.filters import CallFilter
from app.core.models import CallSource, Transcript, Turn
from app.core.text import normalize
from app.runtime import temporary_runtime
from app.services import calls
from app.services.search import search
from ingest.labels import read_rows
from retrieval.index.embedding import Embedder

DEFAULT_KS = (1, 5, 10, 25, 50)


def read_jsonl(path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows of a JSONL file that each carry the ``required`` keys."""
    header, rows = read_rows(path)
    missing = [key for key in required if key not in header]
    if missing:
        raise InputError(
            f"{path}: missing {', '.join(missing)}; the rows have: {', '.join(header)}"
        )
    out = list(rows)
    for n, row in enumerate(out, 1):
        if lacking := [key for key in required if key not in row]:
            raise InputError(f"{path}:{n}: missing {', '.join(lacking)}")
    return out


def corpus_calls(rows: list[dict[str, Any]]) -> tuple[list[CallSource], dict[str, list[str]]]:
    """Calls built from turn rows, and each call's corpus ids by turn index."""
    turns: dict[str, list[Turn]] = {}
    ids: dict[str, list[str]] = {}
    dates: dict[str, str | None] = {}
    for row in rows:
        call = str(row["call_id"])
        turns.setdefault(call, []).append(
            Turn(
                str(row.get("speaker") or "speaker"),
                normalize(str(row["text"])),
                date=str(row["date"]) if row.get("date") else None,
            )
        )
        ids.setdefault(call, []).append(str(row["id"]))
        dates.setdefault(call, row.get("date"))
    sources = [
        CallSource(
            call_id=call, kind="text", origin="corpus", transcript=Transcript(t), date=dates[call]
        )
        for call, t in turns.items()
    ]
    return sources, ids


def run(
    settings: Settings,
    *,
    corpus: Path,
    queries: Path,
    ks: tuple[int, ...] = DEFAULT_KS,
    embedder: Embedder | None = None,
) -> dict[str, Any]:
    started = time.perf_counter()
    rows = read_jsonl(corpus, ("id", "text", "call_id"))
    questions = read_jsonl(queries, ("question", "evidence"))
    sources, ids_by_call = corpus_calls(rows)
    depth = max(ks)
    with temporary_runtime(settings, prefix="evalret", embedder=embedder) as runtime:
        results = calls.ingest_sources(runtime, sources)
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise InputError(f"{len(failed)} corpus calls failed to index: {failed[0].error}")
        recalls = {k: 0.0 for k in ks}
        rr = 0.0
        for q in questions:
            filters = CallFilter(call_ids=(q["call_id"],)) if q.get("call_id") else None
            found = search(runtime, q["question"], filters=filters, k=depth)
            ranked: list[str] = []
            for p in found.passages:
                turn_ids = p.ranked_turn_ids + p.context_turn_ids
                for t in turn_ids:
                    cid = ids_by_call[p.call_id][t]
                    if cid not in ranked:
                        ranked.append(cid)
            gold = set(map(str, q["evidence"]))
            for k in ks:
                recalls[k] += len(gold & set(ranked[:k])) / len(gold) if gold else 0.0
            first = next((i for i, cid in enumerate(ranked) if cid in gold), None)
            rr += 1 / (first + 1) if first is not None else 0.0
    n = len(questions)
    return {
        "recall_at": {str(k): round(v / n, 4) for k, v in recalls.items()},
        "mrr": round(rr / n, 4),
        "n_queries": n,
        "n_calls": len(sources),
        "n_turns": len(rows),
        "mode": settings.search.mode,
        "expand": settings.search.expand,
        "index": settings.index.model_dump(),
        "seconds": round(time.perf_counter() - started, 2),
    }
