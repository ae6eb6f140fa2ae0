"""The filter users write: one typed object every entry point speaks (the CLI's
``-f label=refund``, the API's query and body fields, the UI's dropdowns and filter box).

``CallFilter.spec()`` turns it into the store's backend-neutral filter spec
(``retrieval.index.filters``), which only the index reads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.core.errors import InputError

#: The conversation metrics of a call (payload ``metrics``, a flat dict of numbers): seconds,
#: shares of the call (0-1), counts and words per minute.
METRICS: tuple[str, ...] = (
    "duration",
    "turns",
    "agent_talk_share",
    "customer_talk_share",
    "silence_share",
    "longest_silence",
    "overtalk_seconds",
    "overtalk_share",
    "interruptions",
    "agent_interruptions",
    "customer_interruptions",
    "agent_wpm",
    "customer_wpm",
)

#: The bounds a range condition may have.
RANGE_OPS = ("gte", "gt", "lte", "lt")

#: What a user may filter calls by, and the names the CLI accepts for each.
_ALIASES = {
    "label": "labels",
    "labels": "labels",
    "call": "call_ids",
    "call_id": "call_ids",
    "speaker": "speakers",
    "speakers": "speakers",
    "split": "split",
    "language": "language",
    "lang": "language",
    # Quality-inspection rules a call matched (``app.services.inspection``).
    "category": "categories",
    "categories": "categories",
}


#: The keys a filter error offers (``split`` and the long aliases work, but are not advertised:
#: a supervisor filters by label, speaker, language, date, metadata and metrics).
_SHOWN = ("label", "category", "speaker", "language", "call")


def _grammar(metadata_fields: Sequence[str]) -> str:
    """How to write a filter, with the keys and metric names this installation accepts."""
    keys = [*_SHOWN, *(f for f in metadata_fields if f not in _ALIASES)]
    return (
        f"use key=value with one of {', '.join(keys)}; date>=YYYY-MM-DD or date<=YYYY-MM-DD; "
        f"or a metric bound such as longest_silence>=60 (metrics: {', '.join(METRICS)})"
    )


#: Payload keys the filter writes itself; metadata fields may not shadow them.
_FIXED = frozenset(
    {"labels", "categories", "call_id", "speakers", "split", "language", "date", "turn"}
)


def _value(name: str, value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InputError(f"filter {name}: empty value {value!r} (drop the key to not filter on it)")
    return text


@dataclass(frozen=True)
class CallFilter:
    """The one filter every entry point speaks (CLI ``-f label=refund``, the API's query and
    body fields, the UI's dropdowns): several values of one key mean "any of", keys AND."""

    labels: tuple[str, ...] = ()
    #: Names of quality-inspection rules the call matched (any of them).
    categories: tuple[str, ...] = ()
    call_ids: tuple[str, ...] = ()
    speakers: tuple[str, ...] = ()
    split: str | None = None
    language: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    #: Call metadata (``ingest.metadata_fields``): ``(("agent", ("Li",)), ("tags", ("vip",)))``.
    metadata: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Bounds on conversation metrics: ``(("longest_silence", "gte", 60.0),)`` (see
    #: :func:`metric_bound` for the written form ``longest_silence>=60``).
    metrics: tuple[tuple[str, str, float], ...] = ()

    def __post_init__(self) -> None:
        # An empty value ("label=" from a form or a URL) is refused, never dropped: dropping it
        # would silently widen the search to every call.
        for name in ("labels", "categories", "call_ids", "speakers"):
            object.__setattr__(self, name, tuple(_value(name, v) for v in getattr(self, name)))
        for name in ("split", "language"):
            value = getattr(self, name)
            object.__setattr__(self, name, None if value is None else _value(name, value))
        kept = []
        for name, values in self.metadata:
            if name in _FIXED:
                raise InputError(f"metadata field {name!r} is one of the built-in filters")
            kept.append((name, tuple(_value(name, v) for v in values)))
        object.__setattr__(self, "metadata", tuple(kept))
        object.__setattr__(self, "metrics", tuple(_bound(*b) for b in self.metrics))
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InputError(
                f"date from {self.date_from.isoformat()} is after date to "
                f"{self.date_to.isoformat()}"
            )

    @classmethod
    def parse(cls, items: list[str], metadata_fields: Sequence[str] = ()) -> CallFilter:
        """``label=refund``, ``call=123``, ``speaker=agent``, ``split=train``, ``language=zh``,
        ``date>=2026-10-01``, ``date<=2026-10-31``, ``date=2026-10-05`` (command-line form),
        ``agent=Li`` for each declared metadata field, and bounds on the conversation metrics
        (``longest_silence>=60``, ``metrics.duration<300``)."""
        values: dict[str, Any] = {}
        metadata: dict[str, tuple[str, ...]] = {}
        metrics: list[tuple[str, str, float]] = []
        for item in items:
            named = _BOUND.match(item)
            if named and (named.group(1) or named.group(2) in METRICS):
                metrics.append(metric_bound(item))
                continue
            for op, bound in ((">=", "date_from"), ("<=", "date_to")):
                if op in item:
                    key, value = (part.strip() for part in item.split(op, 1))
                    if key != "date":
                        raise InputError(
                            f"filter {item!r}: only date and the metrics ({', '.join(METRICS)}) "
                            "take >= or <="
                        )
                    values[bound] = _day(item, value)
                    break
            else:
                if "=" not in item:
                    raise InputError(f"filter {item!r}: {_grammar(metadata_fields)}")
                key, value = (part.strip() for part in item.split("=", 1))
                if key == "date":
                    values["date_from"] = values["date_to"] = _day(item, value)
                    continue
                many = [v.strip() for v in value.split(",") if v.strip()]
                if key in metadata_fields and key not in _ALIASES:
                    if not many:
                        raise InputError(f"filter {item!r}: give a value after '='")
                    metadata[key] = (*metadata.get(key, ()), *many)
                    continue
                if key not in _ALIASES:
                    raise InputError(
                        f"filter {item!r}: unknown key {key!r}; {_grammar(metadata_fields)}"
                    )
                if not many:
                    raise InputError(f"filter {item!r}: give a value after '='")
                field = _ALIASES[key]
                if field in ("split", "language"):
                    values[field] = many[0]
                else:
                    values[field] = (*values.get(field, ()), *many)
        return cls(**values, metadata=tuple(metadata.items()), metrics=tuple(metrics))

    def spec(self) -> dict[str, Any]:
        """The store's filter spec (see the top of this module)."""
        spec: dict[str, Any] = {}
        for key, values in (
            ("labels", self.labels),
            ("categories", self.categories),
            ("call_id", self.call_ids),
            ("speakers", self.speakers),
        ):
            if values:
                spec[key] = values[0] if len(values) == 1 else list(values)
        for key, value in (("split", self.split), ("language", self.language)):
            if value:
                spec[key] = value
        for name, values in self.metadata:
            spec[name] = values[0] if len(values) == 1 else list(values)
        for name, op, value in self.metrics:
            bounds = spec.setdefault(f"metrics.{name}", {})
            if op in bounds:
                raise InputError(f"metric {name}: two {op} bounds (keep one)")
            bounds[op] = value
        if self.date_from or self.date_to:
            spec["date"] = {
                op: day.isoformat()
                for op, day in (("gte", self.date_from), ("lte", self.date_to))
                if day is not None
            }
        return spec

    def __bool__(self) -> bool:
        return bool(self.spec())


_BOUND = re.compile(r"^\s*(metrics\.)?([a-z_]+)\s*(>=|<=|>|<)\s*(\S*)\s*$")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)$")
_SYMBOLS = {">=": "gte", ">": "gt", "<=": "lte", "<": "lt"}


def metric_bound(item: str) -> tuple[str, str, float]:
    """``longest_silence>=60`` (or ``metrics.longest_silence>=60``) as ``(name, op, value)``."""
    m = _BOUND.match(item or "")
    if m is None or not _NUMBER.match(m.group(4)):
        raise InputError(
            f"metric filter {item!r}: use name>=number, >, <= or < (e.g. longest_silence>=60)"
        )
    return _bound(m.group(2), _SYMBOLS[m.group(3)], float(m.group(4)))


def _bound(name: object, op: object, value: object) -> tuple[str, str, float]:
    if name not in METRICS:
        raise InputError(f"metric filter {name!r}: unknown metric; use one of {', '.join(METRICS)}")
    if op not in RANGE_OPS:
        raise InputError(f"metric filter {name}: the bound is one of {', '.join(RANGE_OPS)}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"metric filter {name}: the bound must be a finite number, got {value!r}")
    return str(name), str(op), float(value)


def _day(item: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"filter {item!r}: {value!r} is not a date (YYYY-MM-DD)") from None
