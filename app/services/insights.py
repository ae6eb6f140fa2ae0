"""Insights, the use case: what the calls of a period were about and how that moved, from the
engine's counts (``app.services.counting``): the label mix per week; labels rising and falling
against the previous period of the same length; the share answered ``unknown`` and the share
below a confidence; tables per metadata field (agent, team, queue ...); the distributions of the
conversation metrics. Every number is a :class:`Count` carrying the filter that reproduces it.

What a number does not cover is said beside it: the calls without a date (not counted), the calls
dated by their upload time, the calls with timings (only they have conversation metrics), a
metadata field no call of the period carries, labels new in the period (no calls before).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.core.errors import InputError
from app.core.filters import METRICS, CallFilter
from app.core.models import DATE_SOURCES
from app.runtime import Runtime
from app.services.counting import (
    ABSTAINED,
    CLASSIFIED,
    Count,
    Scope,
    both,
    check_metadata,
    label_spec,
    low_spec,
    period_spec,
    unassigned_spec,
)
from app.services.insights_report import (
    Bin,
    GroupRow,
    Insights,
    LabelChange,
    Week,
    insights_dict,
    share,
)
from app.services.scorecards import period_scores
from retrieval.index.store import VectorStore

#: The payload key of the quality-inspection rules a call matched (``app.services.inspection``).
CATEGORIES = "categories"

__all__ = [
    "BINS",
    "Bin",
    "GroupRow",
    "Insights",
    "InsightsQuery",
    "LabelChange",
    "Week",
    "insights",
    "insights_dict",
    "share",
]

#: Weeks shown when no period is given (ending with the week of the latest call), and the most
#: a period may span (each week costs a few engine counts).
DEFAULT_WEEKS = 12
MAX_WEEKS = 106
#: Rows per metadata table and label columns per table row (the most frequent labels).
GROUP_ROWS = 50
GROUP_LABELS = 10
#: Histogram edges per metric; the last bin is open above.
BINS: dict[str, tuple[float, ...]] = {
    "duration": (0, 60, 120, 180, 300, 600, 900, 1800),
    "turns": (0, 5, 10, 20, 40, 80),
    "longest_silence": (0, 5, 10, 20, 30, 60, 120),
    "overtalk_seconds": (0, 1, 5, 10, 30, 60),
    "interruptions": (0, 1, 2, 3, 5, 10),
    "agent_interruptions": (0, 1, 2, 3, 5, 10),
    "customer_interruptions": (0, 1, 2, 3, 5, 10),
    "agent_wpm": (0, 80, 100, 120, 140, 160, 180, 200),
    "customer_wpm": (0, 80, 100, 120, 140, 160, 180, 200),
    **{
        name: tuple(i / 10 for i in range(10))
        for name in ("agent_talk_share", "customer_talk_share", "silence_share", "overtalk_share")
    },
}


@dataclass(frozen=True)
class InsightsQuery(Scope):
    """The calls of :class:`Scope` (its dates are the period: default, the 12 weeks up to the
    latest call) and how to show them."""

    #: Below this confidence an answered call is low-confidence (None: ``batch.low_confidence``).
    low_confidence: float | None = None
    #: How many rising and falling labels.
    top: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        low = self.low_confidence
        if low is not None and (
            isinstance(low, bool) or not isinstance(low, int | float) or not 0 <= low <= 1
        ):
            raise InputError(f"low confidence {low!r}: use a number from 0 to 1")
        if isinstance(self.top, bool) or not isinstance(self.top, int) or not 1 <= self.top <= 50:
            raise InputError(f"top {self.top!r}: use a whole number from 1 to 50")


class _Counter:
    """Engine counts over the calls collection, each kept with its filter."""

    def __init__(self, store: VectorStore) -> None:
        self.store = store
        self.calls = 0

    def count(self, spec: dict[str, Any]) -> Count:
        self.calls += 1
        return Count(self.store.count(spec), spec)

    def facet(self, key: str, spec: dict[str, Any], limit: int | None = None) -> dict[str, int]:
        self.calls += 1
        found = self.store.facet(key, spec, **({"limit": limit} if limit else {}))
        return {str(k): n for k, n in found.items()}

    def labels(self, spec: dict[str, Any], source: str) -> Counter[str]:
        """Calls per label under ``source``: one facet count, two for ``both``."""
        found: Counter[str] = Counter()
        if source in ("labels", "both"):
            found.update(self.facet("labels", spec))
        if source == "predicted":
            found.update(self.facet("predicted", spec))
        elif source == "both":
            found.update(self.facet("predicted", both(spec, {"labels": {"is_empty": True}})))
        return found

    def per_value(
        self, key: str, spec: dict[str, Any], values: list[str], extra: dict[str, Any]
    ) -> dict[str, Count]:
        """One facet count of ``key`` over ``spec`` and ``extra``, as a Count per value."""
        where = both(spec, extra)
        found = self.facet(key, where)
        return {v: Count(found.get(v, 0), both(where, {key: v})) for v in values}

    def per_value_of_label(
        self, key: str, spec: dict[str, Any], values: list[str], label: str, source: str
    ) -> dict[str, Count]:
        """Calls of ``label`` per value of ``key``. Under ``both`` the label is two disjoint
        parts (labeled so; unlabeled and predicted so), faceted apart and added: an exact facet
        reads every matching point, and two plain filters cost less than their ``$or``."""
        if source != "both":
            return self.per_value(key, spec, values, label_spec(label, source))
        labeled = self.facet(key, both(spec, {"labels": label}))
        guessed = self.facet(key, both(spec, {"labels": {"is_empty": True}, "predicted": label}))
        where = both(spec, label_spec(label, source))
        return {
            v: Count(labeled.get(v, 0) + guessed.get(v, 0), both(where, {key: v})) for v in values
        }


def insights(runtime: Runtime, query: InsightsQuery) -> Insights:
    """Insights over the query's period (default: the 12 weeks up to the latest call)."""
    started = time.perf_counter()
    check_metadata(runtime, query.filters)
    store = runtime.calls
    engine = _Counter(store)
    scope = query.scope()
    start, end = _period(store, scope, query.filters)
    days = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=days - 1)
    below = (
        runtime.settings.batch.low_confidence
        if query.low_confidence is None
        else float(query.low_confidence)
    )
    now, before = (
        both(scope, period_spec(start, end)),
        both(scope, period_spec(prev_start, prev_end)),
    )
    current, previous = engine.labels(now, query.source), engine.labels(before, query.source)
    order = sorted(set(current) | set(previous), key=lambda k: (-current[k], -previous[k], k))
    labels = [
        LabelChange(
            label,
            Count(current[label], both(now, label_spec(label, query.source))),
            Count(previous[label], both(before, label_spec(label, query.source))),
        )
        for label in order
    ]
    weeks = [_week(engine, scope, ws, we, query.source, below) for ws, we in _weeks(start, end)]
    fields = list(runtime.settings.ingest.metadata_fields)
    top_labels = [c.label for c in labels if c.current.value][:GROUP_LABELS]
    groups = {f: _group(engine, now, f, top_labels, query.source, below) for f in fields}
    # The quality-inspection rules the calls matched (``categories``): who breaks which most.
    flagged, flagged_before = engine.facet(CATEGORIES, now), engine.facet(CATEGORIES, before)
    categories = [
        LabelChange(
            name,
            Count(flagged.get(name, 0), both(now, {CATEGORIES: name})),
            Count(flagged_before.get(name, 0), both(before, {CATEGORIES: name})),
        )
        for name in sorted(set(flagged) | set(flagged_before),
                           key=lambda k: (-flagged.get(k, 0), k))
    ]  # fmt: skip
    shown = [c.label for c in categories if c.current.value][:GROUP_LABELS]
    for week in weeks:
        spec = both(scope, period_spec(week.start, week.end))
        found = engine.facet(CATEGORIES, spec) if shown else {}
        week.categories = {
            name: Count(n, both(spec, {CATEGORIES: name})) for name, n in found.items()
        }
    for f, rows in groups.items():
        values = [r.value for r in rows]
        per = {name: engine.per_value(f, now, values, {CATEGORIES: name}) for name in shown}
        for r in rows:
            r.categories = {name: per[name][r.value] for name in shown}
    cards = period_scores(runtime, now, before, [(w.start, w.end) for w in weeks], fields)
    metrics = {
        name: [
            Bin(lo, hi, engine.count(both(now, _bin_spec(name, lo, hi))))
            for lo, hi in _bins(BINS[name])
        ]
        for name in METRICS
    }
    sources = engine.facet("speaker_source", now)
    dated = engine.facet("date_source", now)
    return Insights(
        date_from=start,
        date_to=end,
        previous_from=prev_start,
        previous_to=prev_end,
        source=query.source,
        low_confidence_below=below,
        scope=scope,
        calls=engine.count(now),
        previous_calls=engine.count(before),
        undated=engine.count(both(scope, {"date": {"is_empty": True}})),
        unassigned=engine.count(both(now, unassigned_spec(query.source))),
        classified=engine.count(both(now, CLASSIFIED)),
        unknown=engine.count(both(now, ABSTAINED)),
        low_confidence=engine.count(both(now, low_spec(below))),
        labels=labels,
        weeks=weeks,
        groups=groups,
        metrics=metrics,
        speaker_sources={
            str(k): Count(v, both(now, {"speaker_source": k})) for k, v in sources.items()
        },
        timed=engine.count(both(now, TIMED)),
        dated_by={
            k: Count(dated[k], both(now, {"date_source": k}))
            for k in DATE_SOURCES
            if k != "call" and dated.get(k)
        },
        engine_calls=engine.calls,
        seconds=time.perf_counter() - started,
        top=query.top,
        categories=categories,
        scorecards=cards,
    )


def _week(engine: _Counter, scope: dict, start: date, end: date, source: str, below: float) -> Week:
    spec = both(scope, period_spec(start, end))
    found = engine.labels(spec, source)
    return Week(
        start=start,
        end=end,
        calls=engine.count(spec),
        labels={
            label: Count(n, both(spec, label_spec(label, source)))
            for label, n in sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))
        },
        unassigned=engine.count(both(spec, unassigned_spec(source))),
        classified=engine.count(both(spec, CLASSIFIED)),
        unknown=engine.count(both(spec, ABSTAINED)),
        low_confidence=engine.count(both(spec, low_spec(below))),
    )


def _group(
    engine: _Counter, spec: dict, key: str, labels: list[str], source: str, below: float
) -> list[GroupRow]:
    found = {str(v): n for v, n in engine.facet(key, spec, limit=GROUP_ROWS).items()}
    values = list(found)
    per_label = {
        label: engine.per_value_of_label(key, spec, values, label, source) for label in labels
    }
    classified = engine.per_value(key, spec, values, CLASSIFIED)
    unknown = engine.per_value(key, spec, values, ABSTAINED)
    low = engine.per_value(key, spec, values, low_spec(below))
    return [
        GroupRow(
            value=v,
            calls=Count(found[v], both(spec, {key: v})),
            labels={label: per_label[label][v] for label in labels},
            classified=classified[v],
            unknown=unknown[v],
            low_confidence=low[v],
        )
        for v in values
    ]


#: The calls with conversation metrics: every call with timings has a duration.
TIMED = {"metrics.duration": {"gte": 0}}


def _bins(edges: tuple[float, ...]) -> list[tuple[float, float | None]]:
    return [(lo, hi) for lo, hi in zip(edges, edges[1:], strict=False)] + [(edges[-1], None)]


def _bin_spec(name: str, low: float, high: float | None) -> dict[str, Any]:
    bounds: dict[str, float] = {"gte": low}
    if high is not None:
        bounds["lt"] = high
    return {f"metrics.{name}": bounds}


def _weeks(start: date, end: date) -> list[tuple[date, date]]:
    """Monday-to-Sunday weeks covering the period, the first and last cut to it."""
    first = start - timedelta(days=start.weekday())
    out = []
    for n in range((end - first).days // 7 + 1):
        monday = first + timedelta(weeks=n)
        out.append((max(monday, start), min(end, monday + timedelta(days=6))))
    return out


def _period(store: VectorStore, scope: dict, filters: CallFilter) -> tuple[date, date]:
    """The period asked for; what is not given is taken from the calls: it ends with the latest
    call and begins 12 weeks (whole weeks, from a Monday) before, or with the week of the first
    call when they began later (so the chart opens on a week with calls, not an empty one)."""
    start, end = filters.date_from, filters.date_to
    found = None
    if end is None:
        since = both(scope, {"date": {"gte": start.isoformat()}}) if start else scope
        found = store.value_range("date", since)
        end = _day(found[1]) if found else (start or date.today())
    if start is None:
        try:
            start = end - timedelta(days=end.weekday(), weeks=DEFAULT_WEEKS - 1)
        except OverflowError:
            raise InputError(f"date to {end.isoformat()} is out of range") from None
        if found is None:
            found = store.value_range("date", both(scope, {"date": {"lte": end.isoformat()}}))
        first = _day(found[0]) if found else start
        if start < first <= end:
            start = first - timedelta(days=first.weekday())
    if start > end:
        raise InputError(f"date from {start.isoformat()} is after date to {end.isoformat()}")
    if end >= date.max - timedelta(days=7):
        raise InputError(f"date to {end.isoformat()} is out of range")
    weeks = (end - (start - timedelta(days=start.weekday()))).days // 7 + 1
    if weeks > MAX_WEEKS:
        raise InputError(
            f"the period {start.isoformat()} to {end.isoformat()} spans {weeks} weeks; Insights "
            f"show at most {MAX_WEEKS} (about two years): narrow the dates"
        )
    try:
        start - timedelta(days=(end - start).days + 1)
    except OverflowError:
        raise InputError(f"date from {start.isoformat()}: no previous period to compare") from None
    return start, end


def _day(value: Any) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return date.today()
