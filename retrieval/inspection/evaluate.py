"""A rule on one call: whether it matches, and the turns that show it (its evidence).

The call comes as a :class:`CallView` (plain values the service reads from the ledger and the
store); meaning conditions ask its ``similarity`` function for the cosine of each turn's stored
vector with the examples, so nothing of the call is embedded again. Every condition gives an
:class:`Outcome`: whether it holds and the turns it rests on, each with why; a group's turns are
those of the parts that made it hold (``not`` rests on none: it is an absence).

Seconds windows on a transcript without times use times estimated from its words (Chinese ~4
characters a second, English ~2.5 words a second): an imported text call is checked like a
recording, and its evidence says no time.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from app.core.text import has_cjk
from retrieval.inspection.rules import (
    CallIs,
    Condition,
    Group,
    Meaning,
    MetricBound,
    Rule,
    Said,
    Silence,
    Window,
)

#: ``similarity(examples)`` -> {turn index: (cosine, the closest example)}.
Similarity = Callable[[tuple[str, ...]], dict[int, tuple[float, str]]]

_CHARS_PER_SECOND = 4.0
_WORDS_PER_SECOND = 2.5


@dataclass(frozen=True)
class TurnView:
    index: int
    #: ``agent``, ``customer`` or another speaker's name.
    role: str
    #: The turn's words (without ``Speaker:``).
    text: str
    start: float | None = None
    end: float | None = None


@dataclass
class CallView:
    call_id: str
    turns: list[TurnView]
    duration: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    predicted: str | None = None
    confidence: float | None = None
    metadata: dict[str, object] = field(default_factory=dict)
    similarity: Similarity | None = None
    #: The cosine above which a turn means an example, for the embedder that made the vectors.
    meaning_threshold: float = 0.9

    def __post_init__(self) -> None:
        self.timed = any(t.start is not None for t in self.turns)
        self._clock = _clock(self.turns) if not self.timed else None

    def span(self, turn: TurnView) -> tuple[float, float] | None:
        """The turn's (start, end), estimated from words when the transcript has no times."""
        if turn.start is not None:
            return turn.start, turn.end if turn.end is not None else turn.start
        return self._clock[turn.index] if self._clock else None

    @cached_property
    def text(self) -> str:
        """Every turn's words, a line each: a keyword is searched once in the whole call (most
        are in few calls), and where it occurs says which turn (:meth:`turn_at`)."""
        return "\n".join(t.text for t in self.turns)

    @cached_property
    def _line_starts(self) -> list[int]:
        starts, at = [], 0
        for t in self.turns:
            starts.append(at)
            at += len(t.text) + 1
        return starts

    def turn_at(self, offset: int) -> TurnView:
        """The turn whose line in :attr:`text` holds ``offset``."""
        return self.turns[bisect_right(self._line_starts, offset) - 1]

    @property
    def length(self) -> float:
        ends = [s[1] for t in self.turns if (s := self.span(t)) is not None]
        return max([float(self.duration or 0.0), *ends])


@dataclass(frozen=True)
class Outcome:
    holds: bool
    #: Turn index -> why that turn counts.
    hits: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    turn: int
    role: str
    text: str
    start: float | None
    end: float | None
    why: str


@dataclass(frozen=True)
class RuleResult:
    rule: str
    matched: bool
    evidence: tuple[Evidence, ...] = ()


def evaluate(rule: Rule, call: CallView) -> RuleResult:
    """Whether ``rule`` matches ``call``, with the turns that show it."""
    outcome = check(rule.when, call)
    if not outcome.holds:
        return RuleResult(rule.name, False)
    return RuleResult(rule.name, True, evidence_of(call, outcome.hits))


def evidence_of(call: CallView, hits: dict[int, str]) -> tuple[Evidence, ...]:
    """The turns an outcome rests on, in call order, each with why."""
    by_index = {t.index: t for t in call.turns}
    return tuple(
        Evidence(i, by_index[i].role, by_index[i].text, by_index[i].start, by_index[i].end, why)
        for i, why in sorted(hits.items())
        if i in by_index
    )


def check(condition: Condition, call: CallView) -> Outcome:
    if isinstance(condition, Group):
        return _group(condition, call)
    if isinstance(condition, Said):
        return _said(condition, call)
    if isinstance(condition, Meaning):
        return _meaning(condition, call)
    if isinstance(condition, Silence):
        return _silence(condition, call)
    if isinstance(condition, MetricBound):
        value = call.metrics.get(condition.name)
        if value is None and condition.name == "turns":
            # Stored only with timings, yet a transcript without them has its turns too (an
            # imported text call never matched ``turns>=20``: bench_inspection_quality).
            value = float(len(call.turns))
        return Outcome(value is not None and _compare(value, condition.op, condition.value))
    return Outcome(_call_is(condition, call))


def _group(group: Group, call: CallView) -> Outcome:
    parts = [check(p, call) for p in group.parts]
    if group.op == "not":
        return Outcome(not parts[0].holds)
    if group.op == "all":
        return Outcome(True, _merge(parts)) if all(p.holds for p in parts) else Outcome(False)
    if group.op == "any":
        held = [p for p in parts if p.holds]
        return Outcome(bool(held), _merge(held))
    first, then = parts  # before
    if first.holds and then.holds and first.hits and then.hits:
        if min(first.hits) < min(then.hits):
            return Outcome(True, _merge(parts))
    return Outcome(False)


def _merge(parts: Iterable[Outcome]) -> dict[int, str]:
    hits: dict[int, str] = {}
    for part in parts:
        for i, why in part.hits.items():
            hits[i] = f"{hits[i]}; {why}" if i in hits and why not in hits[i] else why
    return hits


def _scope(call: CallView, speaker: str, within: Window | None) -> list[TurnView]:
    turns = [t for t in call.turns if speaker == "any" or t.role == speaker]
    if within is None:
        return turns
    if within.kind == "first_turns":
        return [t for t in turns if t.index < within.size]
    if within.kind == "last_turns":
        last = max((t.index for t in call.turns), default=0)
        return [t for t in turns if t.index > last - within.size]
    length = call.length
    kept = []
    for t in turns:
        span = call.span(t)
        if span is None:
            continue
        if within.kind == "first_seconds" and span[0] < within.size:
            kept.append(t)
        elif within.kind == "last_seconds" and span[1] > length - within.size:
            kept.append(t)
    return kept


def _said(said: Said, call: CallView) -> Outcome:
    turns = _scope(call, said.speaker, said.within)
    if said.mode == "regex":
        pattern = _regex(said.regex or "")
        hits = {}
        for t in turns:
            m = pattern.search(t.text)
            if m:
                hits[t.index] = f"said “{m.group(0)}”"
        return Outcome(bool(hits), hits)
    needed = {"any": 1, "all": len(said.words), "at_least": said.n}[said.mode]
    if said.mode == "any" and not _any_word(said.words).search(call.text):
        return Outcome(False)  # not said anywhere in the call: one search, no turn looked at
    allowed = {t.index for t in turns}
    found: dict[str, list[int]] = {}
    for word in said.words:
        # Words hold no line break, so a match is inside one turn's line.
        places = {call.turn_at(m.start()).index for m in _word(word).finditer(call.text)}
        if kept := sorted(places & allowed):
            found[word] = kept
    if len(found) < needed:
        return Outcome(False)
    hits: dict[int, str] = {}
    for word, places in found.items():
        for i in places:
            hits[i] = f"{hits[i]}, “{word}”" if i in hits else f"said “{word}”"
    return Outcome(True, hits)


def _meaning(meaning: Meaning, call: CallView) -> Outcome:
    if call.similarity is None:
        return Outcome(False)
    scores = call.similarity(meaning.examples)
    threshold = meaning.min_similarity or call.meaning_threshold
    hits = {}
    for t in _scope(call, meaning.speaker, meaning.within):
        score, example = scores.get(t.index, (0.0, ""))
        if score >= threshold:
            hits[t.index] = f"means “{example}” ({score:.2f})"
    return Outcome(bool(hits), hits)


def _silence(silence: Silence, call: CallView) -> Outcome:
    """A gap of at least ``min_seconds`` before a turn of the one who should answer: the agent
    when the customer waits (after anyone's turn: a hold the agent announced counts too)."""
    if not call.timed:
        return Outcome(False)  # estimated times say nothing about silence
    timed = sorted((t for t in call.turns if t.start is not None), key=lambda t: t.start or 0.0)
    answerer = {"customer": "agent", "agent": "customer"}.get(silence.waiting)
    hits, heard_until = {}, None
    for t in timed:
        start = float(t.start or 0.0)
        if heard_until is not None and (answerer is None or t.role == answerer):
            gap = start - heard_until
            if gap >= silence.min_seconds:
                hits[t.index] = f"silence of {gap:.0f} s before this turn"
        end = float(t.end if t.end is not None else start)
        heard_until = end if heard_until is None else max(heard_until, end)
    return Outcome(bool(hits), hits)


def _call_is(cond: CallIs, call: CallView) -> bool:
    if cond.field == "label":
        return bool(set(cond.values) & set(call.labels))
    if cond.field == "predicted":
        return call.predicted in cond.values
    if cond.field == "unknown":
        return (call.predicted == "unknown") == bool(cond.value)
    if cond.field == "confidence":
        return call.confidence is not None and _compare(call.confidence, cond.op, cond.value)
    have = call.metadata.get(cond.key)
    values = have if isinstance(have, list | tuple) else [] if have is None else [have]
    return bool({str(v) for v in values} & set(cond.values))


def _compare(value: float, op: str, bound: float) -> bool:
    return {
        "gte": value >= bound,
        "gt": value > bound,
        "lte": value <= bound,
        "lt": value < bound,
        "eq": value == bound,
    }[op]


@lru_cache(maxsize=4096)
def _word(word: str) -> re.Pattern[str]:
    """A keyword as a pattern: for Latin text, at the start of a word (``refund`` finds
    "refunds" and "refunded", never "nonrefundable"); Chinese characters anywhere; any case."""
    escaped = re.escape(word.strip())
    if has_cjk(word):
        return re.compile(escaped, re.IGNORECASE)
    return re.compile(rf"(?<![\w]){escaped}", re.IGNORECASE)


@lru_cache(maxsize=1024)
def _any_word(words: tuple[str, ...]) -> re.Pattern[str]:
    """Any of ``words``, as :func:`_word` finds each (turns are joined by newlines, which a
    word start's lookbehind treats as the start of a line)."""
    return re.compile("|".join(f"(?:{_word(w).pattern})" for w in words), re.IGNORECASE)


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _clock(turns: list[TurnView]) -> dict[int, tuple[float, float]]:
    at, out = 0.0, {}
    for t in turns:
        if has_cjk(t.text):
            seconds = len(re.sub(r"\s", "", t.text)) / _CHARS_PER_SECOND
        else:
            seconds = len(t.text.split()) / _WORDS_PER_SECOND
        out[t.index] = (at, at + max(seconds, 0.5))
        at += max(seconds, 0.5)
    return out
