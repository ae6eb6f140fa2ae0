"""Counting calls, the use case: exact counts by the vector store's engine over the calls
collection (payload indexes, exact and facet counts), never a scan of the calls and never the top
hits of a search. Insights (``app.services.insights``) is built from these counts.

- A call's label is its human labels when it has any, else its latest prediction
  (``source="both"``); ``"labels"`` or ``"predicted"`` count only one of them.
- Every number is a :class:`Count`: its value and the filter on the calls collection that
  reproduces it (``runtime.calls.count(filter) == value``); :func:`calls_behind` lists those
  calls through the Calls tab's listing service (``app.services.call_views.list_calls``).
- Counting questions ("how many refund calls last week?", "上周有多少退款电话？") are answered by
  :func:`count_question`: the labels it names, the days it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from app.core.dates import question_dates
from app.core.errors import InputError
from app.core.filters import METRICS, CallFilter
from app.runtime import Runtime
from app.services.call_views import CallRow, list_calls
from retrieval.index.filters import MAX_DEPTH, normalize_filter

SOURCES = ("both", "labels", "predicted")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Count:
    """A number of calls and the filter on the calls collection that reproduces it."""

    value: int
    filter: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "filter": self.filter}


@dataclass(frozen=True)
class Scope:
    """Which calls are counted, and by which label. ``filters`` gives the dates, the metadata,
    language and split, and bounds on the conversation metrics; labels are what calls are
    counted by, so a label, speaker or call filter is refused."""

    filters: CallFilter = field(default_factory=CallFilter)
    speaker_source: str | None = None
    source: str = "both"

    def __post_init__(self) -> None:
        f = self.filters
        if f.labels or f.speakers or f.call_ids:
            raise InputError(
                "calls are counted by label: filter by dates, metadata, language, split, "
                "speaker source or metrics (speaker filters apply to turns, not calls)"
            )
        if self.source not in SOURCES:
            raise InputError(f"source {self.source!r}: use one of {', '.join(SOURCES)}")
        if self.speaker_source is not None and not self.speaker_source.strip():
            raise InputError("speaker source: empty value (drop it to not filter on it)")

    def scope(self) -> dict[str, Any]:
        """The filter of the calls counted, without dates."""
        spec = replace(self.filters, date_from=None, date_to=None).spec()
        if self.speaker_source:
            spec["speaker_source"] = self.speaker_source.strip()
        return spec


def both(*specs: dict[str, Any]) -> dict[str, Any]:
    """Specs ANDed: one dict when their keys differ, else ``$and`` (so no key is overwritten)."""
    parts: list[dict[str, Any]] = []
    for spec in specs:
        parts.extend(spec["$and"] if set(spec) == {"$and"} else [spec] if spec else [])
    merged: dict[str, Any] = {}
    for spec in parts:
        if merged.keys() & spec.keys():
            return {"$and": parts}
        merged.update(spec)
    return merged


def period_spec(start: date, end: date) -> dict[str, Any]:
    return {"date": {"gte": start.isoformat(), "lte": end.isoformat()}}


def label_spec(label: str, source: str) -> dict[str, Any]:
    """The calls whose label is ``label`` under ``source``."""
    if source == "labels":
        return {"labels": label}
    if source == "predicted":
        return {"predicted": label}
    return {"$or": [{"labels": label}, {"labels": {"is_empty": True}, "predicted": label}]}


def unassigned_spec(source: str) -> dict[str, Any]:
    """The calls with no label under ``source``."""
    empty = {"is_empty": True}
    if source == "labels":
        return {"labels": empty}
    if source == "predicted":
        return {"predicted": empty}
    return {"labels": empty, "predicted": empty}


def low_spec(below: float) -> dict[str, Any]:
    return {"predicted": {"except": [UNKNOWN]}, "confidence": {"lt": below}}


CLASSIFIED = {"predicted": {"is_empty": False}}
ABSTAINED = {"predicted": UNKNOWN}


def check_metadata(runtime: Runtime, filters: CallFilter) -> None:
    declared = runtime.settings.ingest.metadata_fields
    for name, _ in filters.metadata:
        if name not in declared:
            raise InputError(
                f"metadata field {name!r} is not declared; use one of "
                f"{', '.join(declared) or '(none: ingest.metadata_fields)'}"
            )


@dataclass
class CountAnswer:
    """How many calls: in total (any of ``labels``; all calls when none) and per label."""

    count: Count
    per_label: dict[str, Count]
    labels: list[str]
    date_from: date | None
    date_to: date | None
    source: str
    #: The words of a question that named the dates, when a question did.
    words: str | None = None


def count_calls(
    runtime: Runtime,
    labels: list[str] | tuple[str, ...] = (),
    *,
    filters: CallFilter | None = None,
    speaker_source: str | None = None,
    source: str = "both",
) -> CountAnswer:
    """Calls with any of ``labels`` (under ``source``) among the filtered calls of the filters'
    dates (all dates when none): exact engine counts."""
    filters = filters or CallFilter()
    query = Scope(filters=filters, speaker_source=speaker_source, source=source)
    check_metadata(runtime, filters)
    names = list(dict.fromkeys(_label(x) for x in labels))
    days = CallFilter(date_from=filters.date_from, date_to=filters.date_to).spec()
    where = both(query.scope(), days)
    per_label = {}
    for name in names:
        spec = both(where, label_spec(name, source))
        per_label[name] = Count(runtime.calls.count(spec), spec)
    if len(names) > 1:
        spec = both(where, {"$or": [label_spec(x, source) for x in names]})
        total = Count(runtime.calls.count(spec), spec)
    elif names:
        total = per_label[names[0]]
    else:
        total = Count(runtime.calls.count(where), where)
    return CountAnswer(total, per_label, names, filters.date_from, filters.date_to, source)


def count_question(
    runtime: Runtime,
    question: str,
    *,
    filters: CallFilter | None = None,
    speaker_source: str | None = None,
    source: str = "both",
    today: date | None = None,
) -> CountAnswer:
    """ "How many refund calls last week?": the labels the question names (of those in the
    store) and the days it names (unless ``filters`` give dates), counted by the engine."""
    text = " ".join((question or "").split())
    if not text:
        raise InputError("give a question, e.g. 'how many refund calls last week?'")
    if len(text) > 2000:
        raise InputError("the question is too long (at most 2000 characters)")
    filters = filters or CallFilter()
    span = None
    if not (filters.date_from or filters.date_to):
        span = question_dates(text, today)
        if span is not None:
            filters = replace(filters, date_from=span.start, date_to=span.end)
    answer = count_calls(
        runtime,
        named_labels(text, given_or_predicted_labels(runtime)),
        filters=filters,
        speaker_source=speaker_source,
        source=source,
    )
    answer.words = span.words if span else None
    return answer


def given_or_predicted_labels(runtime: Runtime) -> list[str]:
    """Every label on a call or predicted for one, from the engine's facet counts: what a
    counting question may name (``labels.known_labels`` is the labels calls have)."""
    calls = runtime.calls
    found = {str(k) for key in ("labels", "predicted") for k in calls.facet(key)}
    return sorted(found)


def named_labels(question: str, labels: list[str]) -> list[str]:
    """The labels a question names: ``delivery_delay`` as "delivery delay" (or with its
    underscore), a plural "refunds", a Chinese label anywhere in the text."""
    text = question.lower().replace("_", " ").replace("-", " ")
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for label in sorted(labels, key=len, reverse=True):
        words = label.lower().replace("_", " ").replace("-", " ").strip()
        if not words:
            continue
        if words.isascii():
            pattern = re.compile(rf"(?<![\w]){re.escape(words)}(?:s|es)?(?![\w])")
        else:
            pattern = re.compile(re.escape(words))
        for m in pattern.finditer(text):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                taken.append((m.start(), m.end()))
                found.append((m.start(), label))
                break
    return [label for _, label in sorted(found)]


def _label(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > 200:
        raise InputError(f"label {value!r}: give a non-empty label of at most 200 characters")
    return text


# ------------------------------------------------------------------------------ the calls


@dataclass
class CallsBehind:
    """The calls behind a number: how many (an exact engine count) and the first ``limit`` of
    them as the Calls tab lists them, with their latest prediction."""

    count: int
    calls: list[CallRow]
    predictions: dict[str, tuple[str | None, float | None]]


#: The call-point fields a filter from outside may name (besides the declared metadata).
FILTER_FIELDS = frozenset(
    {"call_id", "labels", "split", "language", "source_kind", "date", "date_source"}
    | {"predicted", "decided_by", "confidence", "classified_at", "speaker_source"}
    | {f"metrics.{m}" for m in METRICS}
)


def check_spec(spec: Any, metadata_fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """A filter on the calls collection from outside (a :class:`Count`'s ``filter`` sent back):
    only call fields, the store's filter shapes; an ``InputError`` names what is wrong."""
    if not isinstance(spec, dict):
        raise InputError("the filter must be an object of field -> condition")
    allowed = FILTER_FIELDS | set(metadata_fields)

    def walk(part: Any, depth: int) -> None:
        if not isinstance(part, dict):
            return  # normalize_filter says what is wrong with it
        if depth >= MAX_DEPTH:
            raise InputError(f"the filter is nested deeper than {MAX_DEPTH} levels")
        for key, value in part.items():
            if key in ("$or", "$and") and isinstance(value, list):
                for sub in value:
                    walk(sub, depth + 1)
            elif isinstance(key, str) and not key.startswith("$") and key not in allowed:
                raise InputError(
                    f"filter field {key!r} is not a field of calls; use one of "
                    + ", ".join(sorted(allowed))
                )

    walk(spec, 0)
    normalize_filter(spec)
    return spec


def ids_behind(
    runtime: Runtime, spec: Any, *, limit: int = 500
) -> tuple[int, dict[str, tuple[str | None, float | None]]]:
    """The engine's exact count of ``spec`` (a :class:`Count`'s filter, checked) and the first
    ``limit`` matching calls' ids with their latest prediction and confidence."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 5000:
        raise InputError(f"limit {limit!r}: use a whole number from 1 to 5000")
    spec = check_spec(spec, runtime.settings.ingest.metadata_fields)
    total = runtime.calls.count(spec)
    predictions = {
        str(p.payload["call_id"]): (p.payload.get("predicted"), p.payload.get("confidence"))
        for p in runtime.calls.scroll(spec, limit=limit)
        if p.payload.get("call_id")
    }
    return total, predictions


def calls_behind(runtime: Runtime, spec: Any, *, limit: int = 500) -> CallsBehind:
    """The calls a :class:`Count` stands for: how many, and the first ``limit`` as
    :func:`app.services.call_views.list_calls` (the Calls tab's list) lists them."""
    total, predictions = ids_behind(runtime, spec, limit=limit)
    ids = CallFilter(call_ids=tuple(sorted(predictions)))
    rows = list_calls(runtime, ids, limit=limit).calls if predictions else []
    return CallsBehind(total, rows, predictions)
