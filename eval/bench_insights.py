"""Insights at 10,000 calls: engine counts against scrolling the calls and counting in Python.

Writes N synthetic call points (seeded: 20 labels with trends, 30% of calls labeled by people and
85% classified, dates over 12 weeks, 40 agents in 6 teams and 4 queues, tags, a call text of about
2,000 characters, the 13 conversation metrics on 90% of calls, the speaker source) into the real
embedded Qdrant engine (the calls collection of a Runtime, with the product's payload indexes),
then, in one run:

* **ours**: ``app.services.insights.insights`` end to end (the report as JSON: every number with
  its filter), for the default period (12 weeks up to the latest call), the last 6 weeks (so the
  previous period has calls), and the 6 weeks for some agents with a metric bound; and one
  counting question (``count_question``);
* **plain**: every call point scrolled through the store interface and the same report counted in
  Python (and, as a lighter plain variant, only the payload keys it needs, read from the engine
  directly); the two answers are compared number by number.

    python -m eval.bench_insights --calls 10000 --json docs/bench_insights.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as q

from app.core.config import load_settings
from app.core.filters import METRICS, CallFilter
from app.runtime import Runtime
from app.services.counting import count_question
from app.services.insights import BINS, InsightsQuery, insights, insights_dict
from retrieval.index.store import StoredPoint, point_id

FIRST_MONDAY = date(2026, 8, 24)
WEEKS = 12
LABELS = [f"reason_{i:02d}" for i in range(18)] + ["退款", "投诉"]
WORDS = "refund parcel courier password account bill charge late broken order card".split()


def synthetic(n: int, seed: int = 16) -> list[dict[str, Any]]:
    """The payloads of ``n`` call points."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        week = rng.randrange(WEEKS)
        # Label weights drift with the week: the first labels fall, the last ones rise.
        weights = [1.0 + (k - 10) * (week - 6) / 60 for k in range(len(LABELS))]
        label = rng.choices(LABELS, weights=[max(w, 0.05) for w in weights])[0]
        day = FIRST_MONDAY + timedelta(weeks=week, days=rng.randrange(7))
        payload: dict[str, Any] = {
            "call_id": f"call-{i:06d}",
            "labels": [label] if rng.random() < 0.3 else [],
            "source_kind": "audio",
            "language": "zh" if label in ("退款", "投诉") else "en",
            "date": day.isoformat(),
            "agent": f"agent-{rng.randrange(40):02d}",
            "team": f"team-{rng.randrange(6)}",
            "queue": rng.choice(("care", "sales", "billing", "returns")),
            "direction": rng.choice(("inbound", "outbound")),
            "tags": rng.sample(
                ("vip", "repeat", "churn-risk", "new", "complaint"), rng.randrange(3)
            ),
            "text": " ".join(rng.choice(WORDS) for _ in range(300)),
            "speaker_source": rng.choice(("channels", "voices", "uncertain", "transcript")),
        }
        if rng.random() < 0.85:
            unsure = rng.random() < 0.08
            payload.update(
                predicted="unknown" if unsure else label,
                confidence=round(rng.random() * (0.5 if unsure else 1.0), 4),
                decided_by="abstain" if unsure else "knn",
                classified_at=f"{day.isoformat()}T12:00:00Z",
            )
        if rng.random() < 0.9:
            payload["metrics"] = {
                m: round(rng.random(), 3)
                if m.endswith("share")
                else float(rng.randrange(0, 2000 if m == "duration" else 200))
                for m in METRICS
            }
        out.append(payload)
    return out


def plain_report(
    payloads: Iterable[dict[str, Any]],
    start: date,
    end: date,
    fields: list[str],
    below: float,
    keep: Callable[[dict[str, Any]], bool] = lambda p: True,
) -> dict[str, Any]:
    """The same numbers as the engine's report, counted in Python over every call."""
    days = (end - start).days + 1
    prev_start = start - timedelta(days=days)
    first_monday = start - timedelta(days=start.weekday())
    now: Counter[str] = Counter()
    before: Counter[str] = Counter()
    weeks: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"calls": 0, "labels": Counter(), "unknown": 0, "low": 0}
    )
    groups: dict[str, dict[str, Any]] = {
        f: defaultdict(lambda: {"calls": 0, "labels": Counter(), "unknown": 0, "low": 0})
        for f in fields
    }
    bins: dict[str, Counter[int]] = {m: Counter() for m in METRICS}
    calls = 0
    for p in payloads:
        if not keep(p) or not p.get("date"):
            continue
        day = date.fromisoformat(p["date"][:10])
        label = p.get("labels") or ([p["predicted"]] if p.get("predicted") else [])
        if prev_start <= day < start:
            before.update(label)
        if not start <= day <= end:
            continue
        calls += 1
        now.update(label)
        monday = first_monday + timedelta(weeks=(day - first_monday).days // 7)
        week = weeks[max(monday, start).isoformat()]
        unknown = p.get("predicted") == "unknown"
        low = "predicted" in p and not unknown and p.get("confidence", 1) < below
        for bucket in (week, *(groups[f][v] for f in fields for v in _values(p.get(f)))):
            bucket["calls"] += 1
            bucket["labels"].update(label)
            bucket["unknown"] += unknown
            bucket["low"] += low
        for m, value in (p.get("metrics") or {}).items():
            edges = BINS[m]
            bins[m][max(i for i, e in enumerate(edges) if value >= e)] += 1
    return {
        "calls": calls,
        "labels": dict(now),
        "previous": dict(before),
        "weeks": {k: _plain(v) for k, v in sorted(weeks.items())},
        "groups": {f: {v: _plain(b) for v, b in g.items()} for f, g in groups.items()},
        "bins": {m: dict(c) for m, c in bins.items()},
    }


def _values(value: Any) -> list[str]:
    return (
        [str(v) for v in value]
        if isinstance(value, list)
        else []
        if value is None
        else [str(value)]
    )


def _plain(bucket: dict[str, Any]) -> dict[str, Any]:
    return {**bucket, "labels": dict(bucket["labels"])}


def engine_numbers(report: dict[str, Any]) -> dict[str, Any]:
    """The engine report's numbers in the plain report's shape (zeros left out)."""
    top = {c["label"] for c in report["labels"] if c["current"]["value"]}

    def bucket(b: dict[str, Any], labels: Iterable[str]) -> dict[str, Any]:
        return {
            "calls": b["calls"]["value"],
            "labels": {k: v["value"] for k, v in b["labels"].items() if v["value"] and k in labels},
            "unknown": b["unknown"]["value"],
            "low": b["low_confidence"]["value"],
        }

    return {
        "calls": report["calls"]["value"],
        "labels": {
            c["label"]: c["current"]["value"] for c in report["labels"] if c["current"]["value"]
        },
        "previous": {
            c["label"]: c["previous"]["value"] for c in report["labels"] if c["previous"]["value"]
        },
        "weeks": {w["start"]: bucket(w, top) for w in report["weeks"] if w["calls"]["value"]},
        "groups": {
            f: {r["value"]: bucket(r, r["labels"]) for r in rows}
            for f, rows in report["groups"].items()
        },
        "bins": {
            m: {i: b["calls"]["value"] for i, b in enumerate(bins) if b["calls"]["value"]}
            for m, bins in report["metrics"].items()
        },
    }


def agree(engine: dict[str, Any], plain: dict[str, Any]) -> list[str]:
    """Where the two answers differ (group tables: the engine shows its top labels only)."""
    problems = []
    for key in ("calls", "labels", "previous", "weeks", "bins"):
        if engine[key] != plain[key]:
            problems.append(key)
    for field, rows in engine["groups"].items():
        for value, row in rows.items():
            other = plain["groups"][field].get(value)
            if other is None or any(row[k] != other[k] for k in ("calls", "unknown", "low")):
                problems.append(f"groups.{field}.{value}")
            elif any(other["labels"].get(k, 0) != n for k, n in row["labels"].items()):
                problems.append(f"groups.{field}.{value}.labels")
    return problems


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, list[float]]:
    out, times = None, []
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return out, times


def _ms(times: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "best_ms": round(min(times) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    base = load_settings()
    out: dict[str, Any] = {
        "calls": args.calls,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
    }
    payloads = synthetic(args.calls)
    with tempfile.TemporaryDirectory() as tmp:
        settings = base.with_changes(
            paths={"state_dir": Path(tmp), "models_dir": base.paths.models}
        )
        with Runtime(settings) as rt:
            store = rt.calls
            rng = np.random.default_rng(16)
            started = time.perf_counter()
            for i in range(0, len(payloads), 500):
                vectors = rng.standard_normal((len(payloads[i : i + 500]), store.info.dim))
                store.upsert(
                    [
                        StoredPoint(id=point_id(p["call_id"], 0, "call"), dense=v, payload=p)
                        for p, v in zip(payloads[i : i + 500], vectors, strict=True)
                    ]
                )
            out["write_s"] = round(time.perf_counter() - started, 2)
            fields = list(settings.ingest.metadata_fields)
            below = settings.batch.low_confidence
            end = FIRST_MONDAY + timedelta(weeks=WEEKS, days=-1)
            six = FIRST_MONDAY + timedelta(weeks=6)
            agents = tuple(f"agent-{i:02d}" for i in range(10))
            cases = {
                "default (12 weeks to the latest call)": (InsightsQuery(), FIRST_MONDAY, end, None),
                "last 6 weeks (previous 6 weeks have calls)": (
                    InsightsQuery(filters=CallFilter(date_from=six, date_to=end)),
                    six,
                    end,
                    None,
                ),
                "last 6 weeks, 10 agents, longest_silence >= 60": (
                    InsightsQuery(
                        filters=CallFilter(
                            date_from=six,
                            date_to=end,
                            metadata=(("agent", agents),),
                            metrics=(("longest_silence", "gte", 60.0),),
                        )
                    ),
                    six,
                    end,
                    lambda p: (
                        p["agent"] in agents
                        and (p.get("metrics") or {}).get("longest_silence", -1) >= 60
                    ),
                ),
            }
            out["cases"] = {}
            insights(rt, InsightsQuery())  # warm the engine's caches once
            for name, (query, start, stop, keep) in cases.items():
                report, ours = _timed(lambda q=query: insights_dict(insights(rt, q)), args.repeat)
                points, scroll = _timed(lambda: [p.payload for p in store.scroll()], 3)
                plain, count = _timed(
                    lambda s=start, e=stop, k=keep, got=points: plain_report(
                        got, s, e, fields, below, k or (lambda p: True)
                    ),
                    3,
                )
                plain_total = [a + b for a, b in zip(scroll, count, strict=True)]
                problems = agree(engine_numbers(report), plain)
                out["cases"][name] = {
                    "period": [report["date_from"], report["date_to"]],
                    "calls_counted": report["calls"]["value"],
                    "engine_requests": report["engine_calls"],
                    "ours": _ms(ours),
                    "plain_scroll_and_count": _ms(plain_total),
                    "plain_scroll_only": _ms(scroll),
                    "plain_count_only": _ms(count),
                    "speedup_median": round(
                        statistics.median(plain_total) / statistics.median(ours), 2
                    ),
                    "answers_agree": not problems,
                    "differences": problems[:10],
                }
            # The lighter plain variant: only the payload keys the count needs, from the engine.
            shard = store._shard  # type: ignore[attr-defined]  (the engine, read directly)
            keys = ["labels", "predicted", "confidence", "date", "metrics", *fields]

            def fields_only() -> list[dict[str, Any]]:
                found, offset = [], None
                while True:
                    page, offset = shard.scroll(
                        q.ScrollRequest(
                            offset=offset, limit=1024, with_payload=keys, with_vector=False
                        )
                    )
                    found.extend(dict(p.payload or {}) for p in page)
                    if offset is None or not page:
                        return found

            light, light_times = _timed(fields_only, 3)
            _, light_count = _timed(
                lambda: plain_report(light, FIRST_MONDAY, end, fields, below), 3
            )
            out["plain_fields_only_default"] = _ms(
                [a + b for a, b in zip(light_times, light_count, strict=True)]
            )
            answer, asked = _timed(
                lambda: count_question(rt, "how many reason_03 calls last week?", today=end),
                args.repeat,
            )
            out["count_question"] = {
                "question": "how many reason_03 calls last week?",
                "count": answer.count.value,
                **_ms(asked),
            }
    text = json.dumps(out, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
