"""Backend-neutral payload filters: the spec callers write and its validated form.

Filter spec (backend-neutral), a ``dict[str, Any]``:

* ``{"call_id": "c1"}``                       str/int/bool -> the field equals the value
* ``{"labels": ["refund", "delivery"]}``      non-empty list -> the field equals any of them
                                              (for array fields: any element matches)
* ``{"date": {"gte": "2026-10-01", "lte": "2026-10-31"}}``
                                              range on a datetime field (ISO strings,
                                              ``datetime.date`` or ``datetime.datetime``)

Several keys are combined with AND. ``normalize_filter`` validates a spec and turns it into
a list of conditions; anything else raises ``InputError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Union

from app.core.errors import InputError

KEYWORD = "keyword"
DATETIME = "datetime"

# Payload indexes created together with a collection (and re-created on open if missing).
INDEXED_FIELDS: dict[str, str] = {
    "call_id": KEYWORD,
    "labels": KEYWORD,
    "split": KEYWORD,
    "speakers": KEYWORD,
    "language": KEYWORD,
    "source_kind": KEYWORD,
    "date": DATETIME,
}

_RANGE_OPS = ("gte", "gt", "lte", "lt")


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
class DateRange:
    """The datetime field lies in the range; bounds are UTC ISO strings (``...Z``)."""

    key: str
    gte: str | None = None
    gt: str | None = None
    lte: str | None = None
    lt: str | None = None


Condition = Union[MatchValue, MatchAny, DateRange]


def normalize_filter(spec: Mapping[str, Any] | None) -> list[Condition]:
    """Validate a filter spec and return its conditions (AND); ``None``/``{}`` gives ``[]``.

    Raises ``InputError`` naming the offending key on any shape it does not know.
    """
    if spec is None:
        return []
    if not isinstance(spec, Mapping):
        raise InputError(f"a filter must be a dict of field -> value, got {type(spec).__name__}")
    conditions: list[Condition] = []
    for key, value in spec.items():
        if not isinstance(key, str) or not key:
            raise InputError(f"filter keys must be non-empty strings, got {key!r}")
        conditions.append(_condition(key, value))
    return conditions


def _condition(key: str, value: Any) -> Condition:
    if isinstance(value, (str, bool, int)):
        return MatchValue(key, value)
    if isinstance(value, (list, tuple)):
        if not value:
            # An empty "any of" matches nothing, which is never what a caller means:
            # make them drop the key instead of silently returning no results.
            raise InputError(f"filter {key!r}: empty list (drop the key to not filter on it)")
        if all(isinstance(v, str) for v in value):
            return MatchAny(key, tuple(value))
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return MatchAny(key, tuple(value))
        raise InputError(f"filter {key!r}: a list must hold only strings or only integers")
    if isinstance(value, Mapping):
        return _date_range(key, value)
    raise InputError(
        f"filter {key!r}: unsupported value {value!r} (use a string/int/bool, a list, "
        'or {"gte": ..., "lte": ...} on a date field)'
    )


def _date_range(key: str, bounds: Mapping[str, Any]) -> DateRange:
    if INDEXED_FIELDS.get(key) != DATETIME:
        dated = [k for k, kind in INDEXED_FIELDS.items() if kind == DATETIME]
        raise InputError(f"filter {key!r}: ranges are only supported on {dated}")
    unknown = set(bounds) - set(_RANGE_OPS)
    if unknown or not bounds:
        raise InputError(f"filter {key!r}: a range takes gte/gt/lte/lt, got {sorted(bounds)}")
    out: dict[str, datetime] = {}
    for op, raw in bounds.items():
        moment, date_only = _parse_moment(key, raw)
        # A bare date means the whole day: "lte 2026-10-31" must include 31 October 15:00,
        # so it becomes "lt 2026-11-01T00:00Z" (and "gt day" becomes "gte next day").
        if date_only and op == "lte":
            op, moment = "lt", moment + timedelta(days=1)
        elif date_only and op == "gt":
            op, moment = "gte", moment + timedelta(days=1)
        if op in out:
            raise InputError(f"filter {key!r}: two bounds on the same side ({sorted(bounds)})")
        out[op] = moment
    lower = [out[o] for o in ("gte", "gt") if o in out]
    upper = [out[o] for o in ("lte", "lt") if o in out]
    if len(lower) > 1 or len(upper) > 1:
        raise InputError(f"filter {key!r}: two bounds on the same side ({sorted(bounds)})")
    if lower and upper and lower[0] > upper[0]:
        raise InputError(f"filter {key!r}: the lower bound is after the upper bound")
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
    return moment.astimezone(UTC), date_only


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
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InputError(
                f"date from {self.date_from.isoformat()} is after date to "
                f"{self.date_to.isoformat()}"
            )

    @classmethod
    def parse(cls, items: list[str], metadata_fields: Sequence[str] = ()) -> CallFilter:
        """``label=refund``, ``call=123``, ``speaker=agent``, ``split=train``, ``language=zh``,
        ``date>=2026-10-01``, ``date<=2026-10-31``, ``date=2026-10-05`` (command-line form), and
        ``agent=Li`` for each declared metadata field."""
        values: dict[str, Any] = {}
        metadata: dict[str, tuple[str, ...]] = {}
        for item in items:
            for op, bound in ((">=", "date_from"), ("<=", "date_to")):
                if op in item:
                    key, value = (part.strip() for part in item.split(op, 1))
                    if key != "date":
                        raise InputError(f"filter {item!r}: only date takes >= or <=")
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
        return cls(**values, metadata=tuple(metadata.items()))

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
        if self.date_from or self.date_to:
            spec["date"] = {
                op: day.isoformat()
                for op, day in (("gte", self.date_from), ("lte", self.date_to))
                if day is not None
            }
        return spec

    def __bool__(self) -> bool:
        return bool(self.spec())


def _day(item: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"filter {item!r}: {value!r} is not a date (YYYY-MM-DD)") from None
