"""Quality-inspection rules (质检规则): what a supervisor writes, read from YAML/JSON.

A rule has a name (its id: lowercase letters, digits, ``_``, or Chinese), a title, a
description, a severity and a condition tree under ``when``. Each condition is a one-key
mapping::

    all: [cond, ...]          every one holds          any: [cond, ...]   at least one holds
    not: cond                 it does not hold
    before: [cond_a, cond_b]  both hold and a's first turn comes before b's first turn
    said:                     words in turns:  any / all / at_least+of (keywords, phrases), or
                              regex; with speaker (agent / customer / any) and within
                              ({first_seconds|last_seconds|first_turns|last_turns: N})
    meaning:                  a turn close in meaning to examples (the turn vectors the index
                              holds); examples, speaker, within, min_similarity (a cosine;
                              by default the embedder's own threshold)
    silence:                  a gap of at least min_seconds before someone answers; waiting:
                              customer (the agent kept the customer waiting), agent, or any
    metric: "longest_silence>=30"   a stored conversation metric (the ``-f metric=`` form)
    label: [..] / predicted: [..]   the call's labels / its last classification
    unknown: true             the last classification abstained
    confidence: "<0.5"        of the last classification
    metadata: {field: [values]}     call metadata (agent, team, queue, ...)

Reading a file checks everything (unknown keys, empty lists, a bad regex, an unknown metric)
and says where (``rule greeting: when.not.said``): a rule that cannot run is never stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import InputError
from app.core.filters import METRICS

SEVERITIES = ("info", "low", "medium", "high", "critical")
ROLES = ("agent", "customer", "any")
WINDOWS = ("first_seconds", "last_seconds", "first_turns", "last_turns")
_NAME = re.compile(r"^[a-z0-9_\u4e00-\u9fff]{1,60}$")
_COMPARE = re.compile(r"^\s*(>=|<=|>|<|=)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt", "=": "eq"}


@dataclass(frozen=True)
class Window:
    """Where in the call a turn must be: its first/last N seconds or turns."""

    kind: str
    size: float


@dataclass(frozen=True)
class Said:
    """Words in a turn: ``mode`` any / all / at_least (``n`` of ``words``) or regex."""

    mode: str
    words: tuple[str, ...] = ()
    n: int = 1
    regex: str | None = None
    speaker: str = "any"
    within: Window | None = None


@dataclass(frozen=True)
class Meaning:
    examples: tuple[str, ...]
    #: None: the embedder's own threshold (``CallView.meaning_threshold``).
    min_similarity: float | None = None
    speaker: str = "any"
    within: Window | None = None


@dataclass(frozen=True)
class Silence:
    min_seconds: float
    waiting: str = "customer"


@dataclass(frozen=True)
class MetricBound:
    name: str
    op: str
    value: float


@dataclass(frozen=True)
class CallIs:
    """What the call is: ``field`` label / predicted / unknown / confidence / metadata."""

    field: str
    values: tuple[str, ...] = ()
    op: str = ""
    value: float = 0.0
    key: str = ""


@dataclass(frozen=True)
class Group:
    """``all`` / ``any`` / ``not`` (one part) / ``before`` (two parts, in order)."""

    op: str
    parts: tuple[Condition, ...]


Condition = Group | Said | Meaning | Silence | MetricBound | CallIs


def call_fields(condition: Condition) -> set[str]:
    """What the tree reads of what the call is (``label``, ``predicted``, ``unknown``,
    ``confidence``, ``metadata``): a rule reading none of them needs no new check when a call
    is classified or relabeled."""
    if isinstance(condition, Group):
        return set().union(*(call_fields(p) for p in condition.parts))
    return {condition.field} if isinstance(condition, CallIs) else set()


def has_meaning(condition: Condition) -> bool:
    """Whether a meaning condition is anywhere in the tree (checking it reads turn vectors)."""
    if isinstance(condition, Group):
        return any(has_meaning(p) for p in condition.parts)
    return isinstance(condition, Meaning)


@dataclass(frozen=True)
class Rule:
    name: str
    when: Condition
    title: str = ""
    description: str = ""
    severity: str = "medium"
    #: The rule as written (what is stored, shown and edited).
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def parse_rules(data: Any) -> list[Rule]:
    """Rules from parsed YAML/JSON: ``{"rules": [...]}`` or a list of rule mappings."""
    items = data.get("rules") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InputError('rules: expected a list of rules (or {"rules": [...]})')
    rules = [parse_rule(item) for item in items]
    names = [r.name for r in rules]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"rules: the name {twice[0]!r} is used twice")
    return rules


def parse_rule(item: Any) -> Rule:
    if not isinstance(item, dict):
        raise InputError(f"rule: expected a mapping, got {_show(item)}")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"rule {_show(name)}: a name is 1-60 lowercase letters, digits, _ or Chinese"
        )
    where = f"rule {name}"
    _only(item, {"name", "title", "description", "severity", "when"}, where)
    severity = item.get("severity", "medium")
    if severity not in SEVERITIES:
        raise InputError(f"{where}: severity is one of {', '.join(SEVERITIES)}")
    if "when" not in item:
        raise InputError(f"{where}: no condition (when)")
    return Rule(
        name=name,
        when=parse_condition(item["when"], f"{where}: when"),
        title=_text(item.get("title", ""), f"{where}: title"),
        description=_text(item.get("description", ""), f"{where}: description"),
        severity=severity,
        source=dict(item),
    )


def parse_condition(data: Any, where: str) -> Condition:
    if not isinstance(data, dict) or len(data) != 1:
        raise InputError(f"{where}: a condition is a mapping with one key, got {_show(data)}")
    [(kind, body)] = data.items()
    here = f"{where}.{kind}"
    if kind in ("all", "any"):
        if not isinstance(body, list) or not body:
            raise InputError(f"{here}: expected a non-empty list of conditions")
        return Group(kind, tuple(parse_condition(c, f"{here}[{i}]") for i, c in enumerate(body)))
    if kind == "not":
        return Group("not", (parse_condition(body, here),))
    if kind == "before":
        if not isinstance(body, list) or len(body) != 2:
            raise InputError(f"{here}: expected two conditions, the one that comes first first")
        return Group(
            "before", tuple(parse_condition(c, f"{here}[{i}]") for i, c in enumerate(body))
        )
    if kind == "said":
        return _said(body, here)
    if kind == "meaning":
        return _meaning(body, here)
    if kind == "silence":
        body = _mapping(body, here, {"min_seconds", "waiting"})
        waiting = body.get("waiting", "customer")
        if waiting not in ROLES:
            raise InputError(f"{here}: waiting is one of {', '.join(ROLES)}")
        return Silence(_number(body.get("min_seconds"), f"{here}.min_seconds", low=0.1), waiting)
    if kind == "metric":
        return _metric(body, here)
    if kind in ("label", "predicted"):
        return CallIs(kind, _words(body, here))
    if kind == "unknown":
        if not isinstance(body, bool):
            raise InputError(f"{here}: true or false")
        return CallIs("unknown", value=float(body))
    if kind == "confidence":
        op, value = _compare(body, here)
        return CallIs("confidence", op=op, value=value)
    if kind == "metadata":
        body = _mapping(body, here, None)
        if len(body) != 1:
            raise InputError(f"{here}: one field per condition ({{agent: [Li]}}); use all/any")
        [(key, values)] = body.items()
        return CallIs("metadata", _words(values, f"{here}.{key}"), key=str(key))
    raise InputError(
        f"{here}: unknown condition; one of all, any, not, before, said, meaning, silence, "
        "metric, label, predicted, unknown, confidence, metadata"
    )


def _said(body: Any, where: str) -> Said:
    body = _mapping(body, where, {"any", "all", "at_least", "of", "regex", "speaker", "within"})
    speaker, within = _speaker(body, where), _window(body.get("within"), f"{where}.within")
    modes = [m for m in ("any", "all", "of", "regex") if m in body]
    if len(modes) != 1:
        raise InputError(f"{where}: give exactly one of any, all, at_least + of, or regex")
    mode = modes[0]
    if mode == "regex":
        pattern = body["regex"]
        if not isinstance(pattern, str) or not pattern:
            raise InputError(f"{where}.regex: expected a regular expression")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InputError(f"{where}.regex: {exc}") from None
        return Said("regex", regex=pattern, speaker=speaker, within=within)
    words = _words(body[mode], f"{where}.{mode}")
    if mode == "of":
        n = body.get("at_least")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(words):
            raise InputError(f"{where}.at_least: a whole number from 1 to {len(words)}")
        return Said("at_least", words, n, speaker=speaker, within=within)
    if "at_least" in body:
        raise InputError(f"{where}: at_least goes with of, not with {mode}")
    return Said(mode, words, speaker=speaker, within=within)


def _meaning(body: Any, where: str) -> Meaning:
    body = _mapping(body, where, {"examples", "min_similarity", "speaker", "within"})
    threshold = body.get("min_similarity")
    if threshold is not None:
        threshold = _number(threshold, f"{where}.min_similarity", low=0.0, high=1.0)
    return Meaning(
        _words(body.get("examples"), f"{where}.examples"),
        threshold,
        _speaker(body, where),
        _window(body.get("within"), f"{where}.within"),
    )


def _metric(body: Any, where: str) -> MetricBound:
    if not isinstance(body, str):
        raise InputError(f"{where}: written as name>=number, e.g. longest_silence>=30")
    m = re.match(r"^\s*(?:metrics\.)?([a-z_]+)\s*(.*)$", body)
    if m is None or m.group(1) not in METRICS:
        raise InputError(f"{where}: unknown metric in {body!r}; one of {', '.join(METRICS)}")
    op, value = _compare(m.group(2), where)
    return MetricBound(m.group(1), op, value)


def _compare(body: Any, where: str) -> tuple[str, float]:
    m = _COMPARE.match(str(body)) if isinstance(body, str) else None
    if m is None:
        raise InputError(f"{where}: written as >=, >, <=, < or = and a number, e.g. <0.5")
    return _OPS[m.group(1)], float(m.group(2))


def _window(body: Any, where: str) -> Window | None:
    if body is None:
        return None
    body = _mapping(body, where, set(WINDOWS))
    if len(body) != 1:
        raise InputError(f"{where}: one of {', '.join(WINDOWS)}")
    [(kind, size)] = body.items()
    return Window(kind, _number(size, f"{where}.{kind}", low=0.1))


def _speaker(body: dict[str, Any], where: str) -> str:
    speaker = body.get("speaker", "any")
    if speaker not in ROLES:
        raise InputError(f"{where}.speaker: one of {', '.join(ROLES)}")
    return str(speaker)


def _words(body: Any, where: str) -> tuple[str, ...]:
    if isinstance(body, str):
        body = [body]
    if not isinstance(body, list) or not body:
        raise InputError(f"{where}: expected a non-empty list of words or phrases")
    words = tuple(str(w).strip() for w in body if isinstance(w, str | int | float))
    if len(words) != len(body) or not all(words):
        raise InputError(f"{where}: every item is a non-empty word or phrase")
    return words


def _mapping(body: Any, where: str, allowed: set[str] | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InputError(f"{where}: expected a mapping, got {_show(body)}")
    if allowed is not None:
        _only(body, allowed, where)
    return body


def _only(body: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(map(str, body)) - allowed)
    if extra:
        raise InputError(f"{where}: unknown key {extra[0]!r}; known: {', '.join(sorted(allowed))}")


def _number(value: Any, where: str, *, low: float, high: float = 1e9) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InputError(f"{where}: a number from {low:g} to {high:g}")
    return float(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{where}: expected text")
    return value.strip()


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def rule_names(rules: Sequence[Rule]) -> list[str]:
    return [r.name for r in rules]
