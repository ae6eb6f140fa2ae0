"""Rules on a page of calls at once: the same results as :func:`evaluate` call by call, found
with one pass over the page per keyword, regular expression and example set instead of one per
call and condition.

An apply over the whole store checks ~50 rules on 100k calls; one call at a time that is 5M
walks of the condition tree in Python (2.7 ms a call: ``docs/benchmarks.md``). Here every turn
of the page is a row of arrays (its call, role, window position) and its words a line of one
text: a keyword is searched once in the page, a scope (speaker, window) is a mask, whether a
condition holds is a boolean per call, and ``all``/``any``/``not`` are array operations. The
turns a match rests on (its evidence) are gathered only for the calls where the rule holds.
A meaning condition scores every stored turn vector of the page in one product
(:class:`TurnVectors`, given by whoever read the vectors).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.core.text import has_cjk
from retrieval.inspection.evaluate import (
    CallView,
    Outcome,
    RuleResult,
    _merge,
    _regex,
    _word,
    check,
    evidence_of,
)
from retrieval.inspection.rules import Condition, Group, Meaning, Rule, Said, Window

#: A regular expression that may match across a line break, or sees the start or end of a
#: string or what is around a match, is searched turn by turn: in the page's text it could
#: join two turns or see another turn's words.
_NOT_LINE_SAFE = re.compile(r"\\[sWDnrAZzbB0-7xuUN]|\[\^|\(\?[<=!x]|\(\?[a-z]*s|[\^$\n\r]")


#: The letters that match an ASCII letter in any case but lowercase to something else (ı and ſ
#: match i and s; İ lowercases to two characters, which would move every offset after it).
_FOLDS_OTHERWISE = re.compile("[\u0130\u0131\u017f]")


class TurnVectors(Protocol):
    """The stored turn vectors of a call and a set of example sentences, as a meaning
    condition compares them (e.g. centred per language, unit length)."""

    def pieces(self, call_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(the turn index of each stored piece, its vectors as rows)."""
        ...

    def examples(self, examples: tuple[str, ...]) -> np.ndarray:
        """The examples' vectors as rows."""
        ...


@dataclass
class _PageOutcome:
    #: Whether the condition holds, per call of the page.
    holds: np.ndarray
    #: A call's position -> the turns the outcome rests on (asked only where it holds).
    hits: Callable[[int], dict[int, str]]


def evaluate_page(
    rules: Sequence[Rule], calls: Sequence[CallView], vectors: TurnVectors | None = None
) -> list[list[RuleResult]]:
    """Every rule on every call: ``out[c][r]`` is ``rules[r]`` on ``calls[c]``, as
    :func:`evaluate` gives it."""
    page = _Page(calls, vectors)
    out: list[list[RuleResult]] = [[] for _ in calls]
    for rule in rules:
        outcome = page.check(rule.when)
        missed = RuleResult(rule.name, False)  # one object for every call it does not match
        for c, holds in enumerate(outcome.holds.tolist()):
            if holds:
                out[c].append(RuleResult(rule.name, True, evidence_of(calls[c], outcome.hits(c))))
            else:
                out[c].append(missed)
    return out


class _Page:
    def __init__(self, calls: Sequence[CallView], vectors: TurnVectors | None) -> None:
        self.calls = calls
        self.vectors = vectors
        sizes = [len(c.turns) for c in calls]
        #: Global turn rows: call c's turns are rows first[c] .. first[c + 1] - 1.
        self.first = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.turn_call = np.repeat(np.arange(len(calls)), sizes)
        turns = [t for c in calls for t in c.turns]
        self.index = np.array([t.index for t in turns], dtype=np.int64)
        self.roles = [t.role for t in turns]
        starts, ends = [], []
        for c in calls:
            for t in c.turns:
                span = c.span(t)
                starts.append(np.nan if span is None else span[0])
                ends.append(np.nan if span is None else span[1])
        self.start = np.array(starts, dtype=np.float64)
        self.end = np.array(ends, dtype=np.float64)
        self.length = np.array([c.length for c in calls], dtype=np.float64)
        self.last = np.array([max((t.index for t in c.turns), default=0) for c in calls])
        self.texts = [t.text for t in turns]
        # One line a turn; a keyword holds no line break, so each match is inside one turn.
        self.text = "\n".join(self.texts)
        lengths = np.array([len(t) + 1 for t in self.texts], dtype=np.int64)
        self.line_start = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if turns else lengths
        # The text in lowercase, where lowercasing keeps every offset and finds every place an
        # ASCII keyword's any-case pattern matches (see _FOLDS_OTHERWISE).
        self._lowered = None if _FOLDS_OTHERWISE.search(self.text) else self.text.lower()
        self._occurrences: dict[str, np.ndarray] = {}
        self._scopes: dict[tuple[str, Window | None], np.ndarray] = {}
        self._scores: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._stacked: tuple[np.ndarray, np.ndarray] | None = None

    # --- the tree -------------------------------------------------------------------------

    def check(self, condition: Condition) -> _PageOutcome:
        if isinstance(condition, Group):
            return self._group(condition)
        if isinstance(condition, Said):
            return self._said(condition) if condition.mode != "regex" else self._regex(condition)
        if isinstance(condition, Meaning) and self.vectors is not None:
            return self._meaning(condition)
        return self._per_call(condition)

    def _group(self, group: Group) -> _PageOutcome:
        parts = [self.check(p) for p in group.parts]
        if group.op == "not":
            return _PageOutcome(~parts[0].holds, lambda c: {})
        if group.op == "all":
            holds = np.logical_and.reduce([p.holds for p in parts])
            return _PageOutcome(
                holds, _memo(lambda c: _merge(Outcome(True, p.hits(c)) for p in parts))
            )
        if group.op == "any":
            holds = np.logical_or.reduce([p.holds for p in parts])

            def held(c: int) -> dict[int, str]:
                return _merge(Outcome(True, p.hits(c)) for p in parts if p.holds[c])

            return _PageOutcome(holds, _memo(held))
        first, then = parts  # before
        holds = np.zeros(len(self.calls), dtype=bool)
        for c in np.flatnonzero(first.holds & then.holds).tolist():
            a, b = first.hits(c), then.hits(c)
            holds[c] = bool(a and b and min(a) < min(b))
        return _PageOutcome(
            holds,
            _memo(lambda c: _merge([Outcome(True, first.hits(c)), Outcome(True, then.hits(c))])),
        )

    # --- conditions -----------------------------------------------------------------------

    def _said(self, said: Said) -> _PageOutcome:
        scope = self._scope(said.speaker, said.within)
        needed = {"any": 1, "all": len(said.words), "at_least": said.n}[said.mode]
        counts = np.zeros(len(self.calls), dtype=np.int64)
        found: list[tuple[str, np.ndarray]] = []
        for word in dict.fromkeys(said.words):
            rows = self._found(word)
            kept = rows[scope[rows]]
            if len(kept):
                found.append((word, kept))
                counts[np.unique(self.turn_call[kept])] += 1

        def hits(c: int) -> dict[int, str]:
            lo, hi = self.first[c], self.first[c + 1]
            out: dict[int, str] = {}
            for word, kept in found:
                inside = kept[np.searchsorted(kept, lo) : np.searchsorted(kept, hi)]
                for i in self.index[inside].tolist():
                    out[i] = f"{out[i]}, “{word}”" if i in out else f"said “{word}”"
            return out

        return _PageOutcome(counts >= needed, _memo(hits))

    def _regex(self, said: Said) -> _PageOutcome:
        scope = self._scope(said.speaker, said.within)
        pattern = _regex(said.regex or "")
        first: dict[int, str] = {}  # row -> its first match
        if _NOT_LINE_SAFE.search(said.regex or ""):
            for row in np.flatnonzero(scope).tolist():
                if m := pattern.search(self.texts[row]):
                    first[row] = m.group(0)
        else:
            for m in pattern.finditer(self.text):
                row = int(np.searchsorted(self.line_start, m.start(), side="right")) - 1
                if row >= 0 and row not in first and scope[row]:
                    first[row] = m.group(0)
        rows = np.array(sorted(first), dtype=np.int64)
        holds = np.zeros(len(self.calls), dtype=bool)
        if len(rows):
            holds[self.turn_call[rows]] = True

        def hits(c: int) -> dict[int, str]:
            inside = rows[
                np.searchsorted(rows, self.first[c]) : np.searchsorted(rows, self.first[c + 1])
            ]
            return {int(self.index[r]): f"said “{first[int(r)]}”" for r in inside.tolist()}

        return _PageOutcome(holds, hits)

    def _meaning(self, meaning: Meaning) -> _PageOutcome:
        assert self.vectors is not None
        score, example = self._similarity(meaning.examples)
        scope = self._scope(meaning.speaker, meaning.within)
        thresholds = np.array(
            [meaning.min_similarity or c.meaning_threshold for c in self.calls], dtype=np.float64
        )
        kept = scope & (score >= thresholds[self.turn_call])
        rows = np.flatnonzero(kept)
        holds = np.zeros(len(self.calls), dtype=bool)
        holds[self.turn_call[rows]] = True

        def hits(c: int) -> dict[int, str]:
            inside = rows[
                np.searchsorted(rows, self.first[c]) : np.searchsorted(rows, self.first[c + 1])
            ]
            return {
                int(self.index[r]): f"means “{meaning.examples[example[r]]}” ({score[r]:.2f})"
                for r in inside.tolist()
            }

        return _PageOutcome(holds, hits)

    def _per_call(self, condition: Condition) -> _PageOutcome:
        """Silence, metrics and what the call is: a few values per call, checked per call."""
        outcomes = [check(condition, c) for c in self.calls]
        holds = np.array([o.holds for o in outcomes], dtype=bool)
        return _PageOutcome(holds, lambda c: dict(outcomes[c].hits))

    # --- what the conditions share --------------------------------------------------------

    def _found(self, word: str) -> np.ndarray:
        """The rows of the turns that say ``word`` (sorted, each once)."""
        if word not in self._occurrences:
            bare = word.strip()
            if has_cjk(bare) and bare.lower() == bare.upper():
                # Chinese without a cased letter: the pattern is the word itself (no word-start
                # rule, no case), and a split finds the same non-overlapping places in C
                # (a match object each cost most of an apply's keyword time).
                pieces = np.fromiter(map(len, self.text.split(bare)), dtype=np.int64)
                starts = np.cumsum(pieces[:-1] + len(bare)) - len(bare)
            elif bare.isascii() and bare and self._lowered is not None:
                starts = np.array(self._latin(word, bare.lower()), dtype=np.int64)
            else:
                found = (m.start() for m in _word(word).finditer(self.text))
                starts = np.fromiter(found, dtype=np.int64)
            rows = np.searchsorted(self.line_start, starts, "right") - 1
            self._occurrences[word] = np.unique(rows)
        return self._occurrences[word]

    def _latin(self, word: str, lower: str) -> list[int]:
        """Where ``_word(word)`` matches, as its ``finditer`` finds them: the word's lowercase
        found in the page's lowercase text (in C), each place then checked by the pattern
        itself (the word start, the case). A regular expression with a look-behind scans a
        mostly Chinese page character by character: it cost more than the rest of the rules."""
        assert self._lowered is not None
        pattern, text, lowered = _word(word), self.text, self._lowered
        starts, at = [], lowered.find(lower)
        while at >= 0:
            if m := pattern.match(text, at):
                starts.append(at)
                at = lowered.find(lower, m.end() if m.end() > at else at + 1)
            else:
                at = lowered.find(lower, at + 1)
        return starts

    def _scope(self, speaker: str, within: Window | None) -> np.ndarray:
        """Which rows a condition looks at (as ``evaluate._scope``)."""
        key = (speaker, within)
        if key in self._scopes:
            return self._scopes[key]
        mask = np.array([speaker in ("any", r) for r in self.roles], dtype=bool).reshape(-1)
        if within is not None:
            with np.errstate(invalid="ignore"):  # a turn without a time is outside any window
                if within.kind == "first_turns":
                    mask &= self.index < within.size
                elif within.kind == "last_turns":
                    mask &= self.index > self.last[self.turn_call] - within.size
                elif within.kind == "first_seconds":
                    mask &= self.start < within.size
                else:
                    mask &= self.end > self.length[self.turn_call] - within.size
        self._scopes[key] = mask
        return mask

    def _similarity(self, examples: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Per row: the best cosine of its stored pieces with the examples (-1 when it has
        none) and which example; a tie goes to the turn's first piece (as ``evaluate``)."""
        if examples not in self._scores:
            assert self.vectors is not None
            score = np.full(len(self.index), -1.0)
            example = np.zeros(len(self.index), dtype=np.int64)
            rows, matrix = self._pieces()
            if len(rows):
                scores = matrix @ self.vectors.examples(examples).T  # pieces x examples
                best, which = scores.max(axis=1), scores.argmax(axis=1)
                order = np.lexsort((np.arange(len(rows)), -best, rows))
                ordered = rows[order]
                first = order[np.concatenate([[True], ordered[1:] != ordered[:-1]])]
                score[rows[first]], example[rows[first]] = best[first], which[first]
            self._scores[examples] = (score, example)
        return self._scores[examples]

    def _pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """Every stored piece of the page's turns: (its row, its vectors as one matrix); a
        piece of a turn the view lacks is left out (it counts for nothing in ``evaluate``)."""
        if self._stacked is None:
            assert self.vectors is not None
            rows: list[np.ndarray] = []
            blocks: list[np.ndarray] = []
            for c, call in enumerate(self.calls):
                turns, matrix = self.vectors.pieces(call.call_id)
                if not len(turns):
                    continue
                lo, hi = int(self.first[c]), int(self.first[c + 1])
                at = dict(zip(self.index[lo:hi].tolist(), range(lo, hi), strict=True))
                row = np.array([at.get(t, -1) for t in turns.tolist()], dtype=np.int64)
                rows.append(row[row >= 0])
                blocks.append(matrix[row >= 0])
            self._stacked = (
                (np.concatenate(rows), np.vstack(blocks))
                if rows
                else (np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32))
            )
        return self._stacked


def _memo(hits: Callable[[int], dict[int, str]]) -> Callable[[int], dict[int, str]]:
    seen: dict[int, dict[int, str]] = {}

    def once(c: int) -> dict[int, str]:
        if c not in seen:
            seen[c] = hits(c)
        return seen[c]

    return once
