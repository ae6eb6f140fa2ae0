"""A call as numbered turn lines for a prompt, within a token budget.

Each turn with words becomes one line, ``[T3 01:25 agent] I will call you back tomorrow.``,
numbered by its place in the transcript (1 = the first turn), so a model can cite turns and the
citations map back to time, speaker and words. Transcripts are untrusted text: a turn's
newlines are collapsed and its square brackets become parentheses, so no text can start a line
or pose as another turn's marker, and tag-like text is defused (``prompts.neutralize``).

A call over the budget keeps its opening and its end (the reason for a call is usually said
early, the outcome and the promises late) and leaves whole turns out of the middle, with a line
saying which; a single turn too long for its share (a monologue) is cut head + tail
(``prompts.trim_middle``). ``PromptWindow`` says what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import tiktoken

from app.core.errors import ConfigError, InputError
from app.core.models import Turn
from app.core.text import stamp
from retrieval.llm.prompts import neutralize, trim_middle

#: The opening's share of the room when the middle of a long call is left out.
HEAD_SHARE = 0.5
#: No single turn may take more than this share of the room unless the whole call fits: a
#: monologue is cut rather than pushing every other turn out of the prompt.
TURN_SHARE = 0.25
_MIN_TURN_TOKENS = 48
#: Room kept for the line that says which turns were left out.
_OMISSION_TOKENS = 40
_MAX_SPEAKER_CHARS = 40


@dataclass(frozen=True)
class PromptWindow:
    """What of the call the prompt holds."""

    #: Numbers of the turns the model was shown (turns with no words are not sent).
    sent: frozenset[int]
    #: First and last number of the turns left out of the middle of a long call, or None.
    omitted: tuple[int, int] | None = None
    #: Turns cut head + tail because each alone was too long for its share of the budget.
    shortened: tuple[int, ...] = ()


def turn_line(n: int, turn: Turn, text: str | None = None) -> str:
    """``[T<n> <mm:ss> <speaker>] <words>`` on one line (``text`` instead of the turn's own
    words when given), with nothing in it that could pose as another turn's marker or a tag."""
    speaker = _one_line(turn.speaker)[:_MAX_SPEAKER_CHARS] or "speaker"
    when = stamp(turn.start)
    head = f"T{n} {when} {speaker}" if when else f"T{n} {speaker}"
    return f"[{head}] {_one_line(turn.text if text is None else text)}"


def numbered_call(
    turns: list[Turn], max_tokens: int, enc: tiktoken.Encoding
) -> tuple[str, PromptWindow]:
    """The call's turn lines within ``max_tokens`` (as ``enc`` counts them), and which turns
    they hold. ``InputError`` when no turn has words."""
    numbered = [(n, turn) for n, turn in enumerate(turns, 1) if turn.text.strip()]
    if not numbered:
        raise InputError("the call has no words to summarize")
    lines, window = _fit(numbered, max_tokens, enc)
    text = _call_text(lines, numbered, window)
    # Joined lines can count a few tokens more than their parts: drop turns next to the gap.
    while len(enc.encode(text)) > max_tokens:
        lines, window = _drop_one(lines, window)
        text = _call_text(lines, numbered, window)
    return text, window


def omission_note(window: PromptWindow, turns: list[Turn]) -> str | None:
    """A sentence for the reader when part of the call was not sent, else None."""
    parts = []
    if window.omitted is not None:
        first, last = window.omitted
        when = _span(turns[first - 1].start, turns[last - 1].end)
        parts.append(
            f"The call is longer than the prompt budget (llm.max_prompt_tokens): turns "
            f"T{first}–T{last}{when} in the middle were not sent, so the summary rests on the "
            "opening and the end."
        )
    if window.shortened:
        cut = ", ".join(f"T{n}" for n in window.shortened)
        parts.append(f"Long turns were sent shortened (their middle left out): {cut}.")
    return " ".join(parts) or None


def _one_line(text: str) -> str:
    text = " ".join(text.split()).replace("[", "(").replace("]", ")")
    return neutralize(text)


def _fit(
    numbered: list[tuple[int, Turn]], available: int, enc: tiktoken.Encoding
) -> tuple[list[str], PromptWindow]:
    """Turn lines within about ``available`` tokens: all of them, else the opening and the end."""
    lines = [turn_line(n, turn) for n, turn in numbered]
    costs = [len(enc.encode(line)) + 1 for line in lines]
    sent = frozenset(n for n, _ in numbered)
    if sum(costs) <= available:
        return lines, PromptWindow(sent)
    # Long turns are cut to the largest cap under which the whole call fits, but never below
    # their TURN_SHARE of the room: then the middle of the call has to go instead.
    cap = max(_fair_cap(costs, available), int(available * TURN_SHARE), _MIN_TURN_TOKENS)
    shortened = []
    for i, (n, turn) in enumerate(numbered):
        if costs[i] > cap:
            marker = len(enc.encode(turn_line(n, turn, ""))) + 1
            lines[i] = turn_line(n, turn, trim_middle(turn.text, max(cap - marker, 8), enc))
            costs[i] = len(enc.encode(lines[i])) + 1
            shortened.append(n)
    if sum(costs) <= available:
        return lines, PromptWindow(sent, shortened=tuple(shortened))
    room = available - _OMISSION_TOKENS
    head, spent = 0, 0
    while head < len(lines) and spent + costs[head] <= room * HEAD_SHARE:
        spent += costs[head]
        head += 1
    tail = len(lines)  # the end gets the rest of the room, including what the opening left
    while tail > head and spent + costs[tail - 1] <= room:
        tail -= 1
        spent += costs[tail]
    numbers = [n for n, _ in numbered]
    first, last = numbers[head], numbers[tail - 1]
    window = PromptWindow(
        frozenset(numbers[:head] + numbers[tail:]),
        (first, last),
        tuple(n for n in shortened if not first <= n <= last),
    )
    return lines[:head] + lines[tail:], window


def _fair_cap(costs: list[int], room: int) -> int:
    """The largest per-turn token cap under which all turns fit in ``room``."""
    ordered = sorted(costs)
    spent = 0
    for i, cost in enumerate(ordered):
        left = len(ordered) - i
        if spent + cost * left > room:
            return (room - spent) // left
        spent += cost
    return ordered[-1]


def _call_text(lines: list[str], numbered: list[tuple[int, Turn]], window: PromptWindow) -> str:
    if window.omitted is None:
        return "\n".join(lines)
    first, last = window.omitted
    head = sum(1 for n in window.sent if n < first)
    turns = dict(numbered)
    when = _span(turns[first].start, turns[last].end)
    gap = f"(... turns T{first}–T{last}{when} left out: the call is too long ...)"
    return "\n".join([*lines[:head], gap, *lines[head:]])


def _drop_one(lines: list[str], window: PromptWindow) -> tuple[list[str], PromptWindow]:
    """One turn fewer, taken next to the gap (from the longer side), or from the middle of a
    call that had no gap yet."""
    sent = sorted(window.sent)
    if len(sent) < 2:
        raise ConfigError("llm.max_prompt_tokens is too small for this call")
    if window.omitted is None:
        gone = sent[len(sent) // 2]
        first = last = gone
    else:
        head = sum(1 for n in sent if n < window.omitted[0])
        gone = sent[head - 1 if head >= len(sent) - head else head]
        first, last = min(window.omitted[0], gone), max(window.omitted[1], gone)
    by_number = dict(zip(sent, lines, strict=True))
    rest = [n for n in sent if n != gone]
    shortened = tuple(n for n in window.shortened if not first <= n <= last)
    return [by_number[n] for n in rest], PromptWindow(frozenset(rest), (first, last), shortened)


def _span(start: float | None, end: float | None) -> str:
    if start is None and end is None:
        return ""
    return f" ({stamp(start) or '?'}–{stamp(end) or '?'})"
