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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Union

from app.core.errors import InputError

# The metric names are the user's (app.core.filters, beside CallFilter): each gets an index.
from app.core.filters import METRICS, RANGE_OPS

KEYWORD = "keyword"
DATETIME = "datetime"
FLOAT = "float"

# Payload indexes created together with a collection (and re-created on open if missing).
# The classification and metrics keys are written on call points only; the turn collection
# gets their (empty, free) indexes too, so both collections filter alike.
INDEXED_FIELDS: dict[str, str] = {
    "call_id": KEYWORD,
    "labels": KEYWORD,
    # The quality-inspection rules a call matched (``app.services.inspection``).
    "categories": KEYWORD,
    "split": KEYWORD,
    "speakers": KEYWORD,
    "language": KEYWORD,
    "source_kind": KEYWORD,
    "date": DATETIME,
    # Where the date came from: call, file or upload (``app.core.models.DATE_SOURCES``).
    "date_source": KEYWORD,
    # The latest classification of a call (``app.services.classify``).
    "predicted": KEYWORD,
    "decided_by": KEYWORD,
    "confidence": FLOAT,
    "classified_at": DATETIME,
    # How the call's speakers were told apart (channels, voices, uncertain, mono, transcript).
    "speaker_source": KEYWORD,
    **{f"metrics.{name}": FLOAT for name in METRICS},
}

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
    unknown = set(bounds) - set(RANGE_OPS)
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
