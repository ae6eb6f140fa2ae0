"""Backend-neutral payload filters: the spec callers write and its validated form.

Filter spec (backend-neutral), a ``dict[str, Any]``:

* ``{"call_id": "c1"}``                       str/int/bool -> the field equals the value
* ``{"labels": ["refund", "delivery"]}``      non-empty list -> the field equals any of them
                                              (for array fields: any element matches)
* ``{"date": {"gte": "2026-10-01", "lte": "2026-10-31"}}``
                                              range on a datetime field (ISO strings,
                                              ``datetime.date`` or ``datetime.datetime``)
* ``{"metrics.longest_silence": {"gte": 60}}`` range on a number field (int/float bounds)
* ``{"labels": {"is_empty": True}}``          the field is missing, null or ``[]``
                                              (``False``: it holds a value)
* ``{"predicted": {"except": ["unknown"]}}``  the field holds a value other than these
                                              (a missing field does not match)
* ``{"$or": [spec, spec]}``                   any of the specs matches
* ``{"$and": [spec, spec]}``                  every spec matches (to AND specs that share a key)

Several keys are combined with AND. ``normalize_filter`` validates a spec and turns it into
a list of conditions; anything else raises ``InputError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Union

from app.core.errors import InputError

KEYWORD = "keyword"
DATETIME = "datetime"
FLOAT = "float"

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

# Payload indexes created together with a collection (and re-created on open if missing).
# The classification and metrics keys are written on call points only; the turn collection
# gets their (empty, free) indexes too, so both collections filter alike.
INDEXED_FIELDS: dict[str, str] = {
    "call_id": KEYWORD,
    "labels": KEYWORD,
    "split": KEYWORD,
    "speakers": KEYWORD,
    "language": KEYWORD,
    "source_kind": KEYWORD,
    "date": DATETIME,
    # The latest classification of a call (``app.services.classify``).
    "predicted": KEYWORD,
    "decided_by": KEYWORD,
    "confidence": FLOAT,
    "classified_at": DATETIME,
    # How the call's speakers were told apart (channels, voices, uncertain, mono, transcript).
    "speaker_source": KEYWORD,
    **{f"metrics.{name}": FLOAT for name in METRICS},
}

_RANGE_OPS = ("gte", "gt", "lte", "lt")
#: How deep ``$or``/``$and`` may nest, and how many conditions one filter may hold: a filter
#: from a request must not make the engine (or this parser) recurse without end.
MAX_DEPTH = 4
MAX_CONDITIONS = 512


@dataclass(frozen=True)
class MatchValue:
    """The field equals ``value``."""

    key: str
    value: str | int | bool


@dataclass(frozen=True)
class MatchAny:
    """The field equals one of ``values``."""

    key: str
    values: tuple[str, ...] | tuple[int, ...]


@dataclass(frozen=True)
class MatchExcept:
    """The field holds a value other than ``values`` (a missing field does not match)."""

    key: str
    values: tuple[str, ...] | tuple[int, ...]


@dataclass(frozen=True)
class DateRange:
    """The datetime field lies in the range; bounds are UTC ISO strings (``...Z``)."""

    key: str
    gte: str | None = None
    gt: str | None = None
    lte: str | None = None
    lt: str | None = None


@dataclass(frozen=True)
class NumberRange:
    """The number field lies in the range."""

    key: str
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None


@dataclass(frozen=True)
class IsEmpty:
    """The field is missing, null or ``[]`` (``empty``), or holds a value (not ``empty``)."""

    key: str
    empty: bool = True


@dataclass(frozen=True)
class AnyOf:
    """At least one branch matches; each branch is conditions ANDed."""

    branches: tuple[tuple[Condition, ...], ...]


Condition = Union[MatchValue, MatchAny, MatchExcept, DateRange, NumberRange, IsEmpty, AnyOf]


def normalize_filter(spec: Mapping[str, Any] | None) -> list[Condition]:
    """Validate a filter spec and return its conditions (AND); ``None``/``{}`` gives ``[]``.

    Raises ``InputError`` naming the offending key on any shape it does not know.
    """
    if spec is None:
        return []
    conditions = _conditions(spec, 0)
    if _size(conditions) > MAX_CONDITIONS:
        raise InputError(f"a filter may hold at most {MAX_CONDITIONS} conditions")
    return conditions


def _conditions(spec: Any, depth: int) -> list[Condition]:
    if not isinstance(spec, Mapping):
        raise InputError(f"a filter must be a dict of field -> value, got {type(spec).__name__}")
    conditions: list[Condition] = []
    for key, value in spec.items():
        if not isinstance(key, str) or not key:
            raise InputError(f"filter keys must be non-empty strings, got {key!r}")
        if key in ("$or", "$and"):
            branches = _branches(key, value, depth)
            if key == "$and":
                conditions.extend(c for branch in branches for c in branch)
            else:
                conditions.append(AnyOf(tuple(tuple(b) for b in branches)))
        elif key.startswith("$"):
            raise InputError(f"filter {key!r}: unknown operator (use $or or $and)")
        else:
            conditions.append(_condition(key, value))
    return conditions


def _branches(key: str, value: Any, depth: int) -> list[list[Condition]]:
    if depth + 1 >= MAX_DEPTH:
        raise InputError(f"filter {key!r}: nested deeper than {MAX_DEPTH} levels")
    if not isinstance(value, list | tuple) or not value:
        raise InputError(f"filter {key!r}: give a non-empty list of filters")
    branches = [_conditions(sub, depth + 1) for sub in value]
    if any(not branch for branch in branches):
        raise InputError(f"filter {key!r}: an empty filter in the list (it would match all)")
    return branches


def _size(conditions: Sequence[Condition]) -> int:
    return sum(
        1 + sum(_size(b) for b in c.branches) if isinstance(c, AnyOf) else 1 for c in conditions
    )


def _condition(key: str, value: Any) -> Condition:
    if isinstance(value, (str, bool, int)):
        return MatchValue(key, value)
    if isinstance(value, (list, tuple)):
        return MatchAny(key, _values(key, value))
    if isinstance(value, Mapping):
        if set(value) == {"is_empty"}:
            if not isinstance(value["is_empty"], bool):
                raise InputError(f"filter {key!r}: is_empty takes true or false")
            return IsEmpty(key, value["is_empty"])
        if set(value) == {"except"}:
            if not isinstance(value["except"], (list, tuple)):
                raise InputError(f"filter {key!r}: except takes a list of values")
            return MatchExcept(key, _values(key, value["except"]))
        if INDEXED_FIELDS.get(key) == DATETIME:
            return _date_range(key, value)
        return _number_range(key, value)
    raise InputError(
        f"filter {key!r}: unsupported value {value!r} (use a string/int/bool, a list, "
        '{"gte": ..., "lte": ...} on a date or number field, {"is_empty": true} or '
        '{"except": [...]})'
    )


def _values(key: str, value: list | tuple) -> tuple[str, ...] | tuple[int, ...]:
    if not value:
        # An empty "any of" matches nothing, which is never what a caller means:
        # make them drop the key instead of silently returning no results.
        raise InputError(f"filter {key!r}: empty list (drop the key to not filter on it)")
    if all(isinstance(v, str) for v in value):
        return tuple(value)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    raise InputError(f"filter {key!r}: a list must hold only strings or only integers")


def _bounds(key: str, bounds: Mapping[str, Any]) -> None:
    unknown = set(bounds) - set(_RANGE_OPS)
    if unknown or not bounds:
        raise InputError(
            f"filter {key!r}: a range takes gte/gt/lte/lt, got {sorted(map(str, bounds))}"
        )


def _number_range(key: str, bounds: Mapping[str, Any]) -> NumberRange:
    if INDEXED_FIELDS.get(key) == KEYWORD:
        ranged = sorted(k for k, kind in INDEXED_FIELDS.items() if kind != KEYWORD)
        raise InputError(
            f"filter {key!r}: ranges apply to date and number fields (e.g. {', '.join(ranged[:4])})"
        )
    _bounds(key, bounds)
    out: dict[str, float] = {}
    for op, raw in bounds.items():
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise InputError(f"filter {key!r}: range bounds must be numbers, got {raw!r}")
        try:
            number = float(raw)
        except OverflowError:
            raise InputError(f"filter {key!r}: {raw!r} is too large") from None
        if not math.isfinite(number):
            raise InputError(f"filter {key!r}: range bounds must be finite, got {raw!r}")
        out[op] = number
    _check_sides(key, out)
    return NumberRange(key, **out)


def _check_sides(key: str, out: Mapping[str, Any]) -> None:
    lower = [out[o] for o in ("gte", "gt") if o in out]
    upper = [out[o] for o in ("lte", "lt") if o in out]
    if len(lower) > 1 or len(upper) > 1:
        raise InputError(f"filter {key!r}: two bounds on the same side ({sorted(out)})")
    if lower and upper and lower[0] > upper[0]:
        raise InputError(f"filter {key!r}: the lower bound is after the upper bound")


def _date_range(key: str, bounds: Mapping[str, Any]) -> DateRange:
    _bounds(key, bounds)
    out: dict[str, datetime] = {}
    for op, raw in bounds.items():
        moment, date_only = _parse_moment(key, raw)
        # A bare date means the whole day: "lte 2026-10-31" must include 31 October 15:00,
        # so it becomes "lt 2026-11-01T00:00Z" (and "gt day" becomes "gte next day").
        try:
            if date_only and op == "lte":
                op, moment = "lt", moment + timedelta(days=1)
            elif date_only and op == "gt":
                op, moment = "gte", moment + timedelta(days=1)
        except OverflowError:  # 9999-12-31 has no next day
            raise InputError(f"filter {key!r}: {raw!r} is out of range") from None
        if op in out:
            raise InputError(f"filter {key!r}: two bounds on the same side ({sorted(bounds)})")
        out[op] = moment
    _check_sides(key, out)
    return DateRange(key, **{op: _iso_utc(moment) for op, moment in out.items()})


def _parse_moment(key: str, raw: Any) -> tuple[datetime, bool]:
    """Return (UTC datetime, whether the input was a bare date)."""
    if isinstance(raw, datetime):
        moment, date_only = raw, False
    elif isinstance(raw, date):
        moment, date_only = datetime(raw.year, raw.month, raw.day), True
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            if len(text) == 10:
                moment, date_only = (
                    datetime.combine(date.fromisoformat(text), datetime.min.time()),
                    True,
                )
            else:
                moment, date_only = datetime.fromisoformat(text.replace("Z", "+00:00")), False
        except ValueError as exc:
            raise InputError(f"filter {key!r}: {raw!r} is not an ISO date or datetime") from exc
    else:
        raise InputError(f"filter {key!r}: range bounds must be ISO date strings, got {raw!r}")
    # Naive times are taken as UTC, which is also what both engines assume.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC), date_only
    except OverflowError:  # year 1 with a positive offset has no UTC time
        raise InputError(f"filter {key!r}: {raw!r} is out of range") from None


def _iso_utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{moment.microsecond:06d}Z" if moment.microsecond else "Z"
    )


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
}


#: Payload keys the filter writes itself; metadata fields may not shadow them.
_FIXED = frozenset({"labels", "call_id", "speakers", "split", "language", "date", "turn"})


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
        for name in ("labels", "call_ids", "speakers"):
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
                    raise InputError(
                        f"filter {item!r}: use key=value (label, call, speaker, split, "
                        "language) or date>=YYYY-MM-DD / date<=YYYY-MM-DD"
                    )
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
                        f"filter {item!r}: unknown key {key!r}; use one of "
                        + ", ".join(sorted({*_ALIASES, *metadata_fields}))
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
    if op not in _RANGE_OPS:
        raise InputError(f"metric filter {name}: the bound is one of {', '.join(_RANGE_OPS)}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"metric filter {name}: the bound must be a finite number, got {value!r}")
    return str(name), str(op), float(value)


def _day(item: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"filter {item!r}: {value!r} is not a date (YYYY-MM-DD)") from None
