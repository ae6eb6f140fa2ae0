"""The Insights report: what :func:`app.services.insights.insights` answers (every number a
:class:`Count` with the filter that reproduces it) and its JSON form (:func:`insights_dict`, the
API's answer and ``callscope insights --json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.services.counting import Count


@dataclass
class LabelChange:
    """A label's calls in the period and in the previous period of the same length."""

    label: str
    current: Count
    previous: Count

    @property
    def change(self) -> int:
        return self.current.value - self.previous.value

    @property
    def new(self) -> bool:
        """Calls now and none in the previous period: new, not "rising" from nothing."""
        return self.current.value > 0 and self.previous.value == 0


@dataclass
class Week:
    start: date
    end: date
    calls: Count
    labels: dict[str, Count]
    unassigned: Count
    classified: Count
    unknown: Count
    low_confidence: Count
    #: Calls per quality-inspection rule matched (``app.services.inspection``).
    categories: dict[str, Count] = field(default_factory=dict)


@dataclass
class GroupRow:
    value: str
    calls: Count
    labels: dict[str, Count]
    classified: Count
    unknown: Count
    low_confidence: Count
    #: Calls per quality-inspection rule matched: who breaks a rule most.
    categories: dict[str, Count] = field(default_factory=dict)


@dataclass
class ScoreMean:
    """The mean scorecard score (0-100) of the scored calls of a cell, and how many."""

    mean: float | None
    calls: int

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "calls": self.calls}


@dataclass
class CardScores:
    """A scorecard's scores in the period: now, in the previous period, per week (by its
    Monday) and per value of each metadata field (who scores lowest)."""

    name: str
    title: str
    current: ScoreMean
    previous: ScoreMean
    weeks: dict[str, ScoreMean]
    groups: dict[str, dict[str, ScoreMean]]


@dataclass
class Bin:
    low: float
    high: float | None
    calls: Count


@dataclass
class Insights:
    """The answer for one period (see ``app.services.insights`` for what each part counts)."""

    date_from: date
    date_to: date
    previous_from: date
    previous_to: date
    source: str
    low_confidence_below: float
    scope: dict[str, Any]
    calls: Count
    previous_calls: Count
    undated: Count
    unassigned: Count
    classified: Count
    unknown: Count
    low_confidence: Count
    labels: list[LabelChange]
    weeks: list[Week]
    groups: dict[str, list[GroupRow]]
    metrics: dict[str, list[Bin]]
    speaker_sources: dict[str, Count]
    #: Calls of the period with timings (recordings, timed transcripts): only they have
    #: conversation metrics, so only they are in ``metrics``.
    timed: Count
    #: Calls of the period whose date is not their own, by where it came from (``upload``:
    #: the time they were uploaded); calls' own dates are left out.
    dated_by: dict[str, Count]
    #: How many rising and falling labels to show.
    top: int = 5
    #: Engine requests made and seconds taken.
    engine_calls: int = 0
    seconds: float = 0.0
    #: Calls per quality-inspection rule matched, now and in the previous period.
    categories: list[LabelChange] = field(default_factory=list)
    #: Each scorecard's mean scores (``app.services.scorecards``).
    scorecards: list[CardScores] = field(default_factory=list)

    @property
    def rising(self) -> list[LabelChange]:
        """Labels with more calls than in the previous period (where they had some), most
        gained first; none when the previous period had no calls to compare with."""
        return _moved(self.labels, 1)[: self.top]

    @property
    def falling(self) -> list[LabelChange]:
        """Labels with fewer calls than in the previous period, most lost first."""
        return _moved(self.labels, -1)[: self.top]

    @property
    def new(self) -> list[LabelChange]:
        """Labels with calls now and none in the previous period, most calls first."""
        return [c for c in self.labels if c.new][: self.top]

    @property
    def missing_metadata(self) -> list[str]:
        """The metadata fields no call of the period carries (their tables are empty)."""
        return [f for f, rows in self.groups.items() if not rows] if self.calls.value else []

    @property
    def unknown_share(self) -> float | None:
        """Of the classified calls, the share answered ``unknown``."""
        return share(self.unknown, self.classified)

    @property
    def low_confidence_share(self) -> float | None:
        """Of the classified calls, the share answered below the confidence threshold."""
        return share(self.low_confidence, self.classified)


def share(count: Count, of: Count) -> float | None:
    return round(count.value / of.value, 4) if of.value else None


def _moved(labels: list[LabelChange], sign: int) -> list[LabelChange]:
    moved = [c for c in labels if c.change * sign > 0 and not c.new]
    return sorted(moved, key=lambda c: (-abs(c.change), -c.current.value, c.label))


# ------------------------------------------------------------------------------ as data


def insights_dict(report: Insights) -> dict[str, Any]:
    """The report as JSON-ready data (the API's answer, ``callscope insights --json``)."""

    def change(c: LabelChange) -> dict[str, Any]:
        return {
            "label": c.label,
            "current": c.current.to_dict(),
            "previous": c.previous.to_dict(),
            "change": c.change,
            "new": c.new,
            "share": share(c.current, report.calls),
            "previous_share": share(c.previous, report.previous_calls),
        }

    def counts(items: dict[str, Count]) -> dict[str, Any]:
        return {k: v.to_dict() for k, v in items.items()}

    return {
        "date_from": report.date_from.isoformat(),
        "date_to": report.date_to.isoformat(),
        "previous_from": report.previous_from.isoformat(),
        "previous_to": report.previous_to.isoformat(),
        "source": report.source,
        "low_confidence_below": report.low_confidence_below,
        "scope": report.scope,
        "calls": report.calls.to_dict(),
        "previous_calls": report.previous_calls.to_dict(),
        "undated": report.undated.to_dict(),
        "unassigned": report.unassigned.to_dict(),
        "classified": report.classified.to_dict(),
        "unknown": report.unknown.to_dict(),
        "low_confidence": report.low_confidence.to_dict(),
        "unknown_share": report.unknown_share,
        "low_confidence_share": report.low_confidence_share,
        "labels": [change(c) for c in report.labels],
        "categories": [change(c) for c in report.categories],
        "scorecards": [
            {
                "scorecard": c.name,
                "title": c.title,
                "current": c.current.to_dict(),
                "previous": c.previous.to_dict(),
                "weeks": {w: m.to_dict() for w, m in c.weeks.items()},
                "groups": {
                    f: {v: m.to_dict() for v, m in values.items()} for f, values in c.groups.items()
                },
            }
            for c in report.scorecards
        ],
        "rising": [change(c) for c in report.rising],
        "falling": [change(c) for c in report.falling],
        "new": [change(c) for c in report.new],
        "weeks": [
            {
                "start": w.start.isoformat(),
                "end": w.end.isoformat(),
                "calls": w.calls.to_dict(),
                "labels": counts(w.labels),
                "unassigned": w.unassigned.to_dict(),
                "classified": w.classified.to_dict(),
                "unknown": w.unknown.to_dict(),
                "low_confidence": w.low_confidence.to_dict(),
                "categories": counts(w.categories),
            }
            for w in report.weeks
        ],
        "groups": {
            name: [
                {
                    "value": r.value,
                    "calls": r.calls.to_dict(),
                    "labels": counts(r.labels),
                    "classified": r.classified.to_dict(),
                    "unknown": r.unknown.to_dict(),
                    "low_confidence": r.low_confidence.to_dict(),
                    "categories": counts(r.categories),
                }
                for r in rows
            ]
            for name, rows in report.groups.items()
        },
        "metrics": {
            name: [{"low": b.low, "high": b.high, "calls": b.calls.to_dict()} for b in bins]
            for name, bins in report.metrics.items()
        },
        "speaker_sources": counts(report.speaker_sources),
        "timed": report.timed.to_dict(),
        "dated_by": counts(report.dated_by),
        "missing_metadata": report.missing_metadata,
        "engine_calls": report.engine_calls,
        "seconds": round(report.seconds, 4),
    }
