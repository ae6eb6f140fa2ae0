"""How a call went, in numbers: talk share, silence, holds, overtalk, interruptions, pace.

Measured from the call's pause-free runs of speech (``Transcript.speech``, from word timings)
when it has them, else from its timed turns (imported transcripts); a transcript without
times has none. Every figure is a plain number, stored as call payload (``metrics.<key>``) so
calls can be filtered on it ("a hold over 60 s") and counted in Insights.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from app.core.filters import METRICS
from app.core.models import Speech, Transcript
from app.core.text import has_cjk

#: The keys :func:`conversation_metrics` may return: the names the store keeps numeric
#: indexes for (``metrics.<key>``), defined there, once.
METRIC_KEYS = METRICS

#: Someone who starts talking this long after the other began, while the other goes on for at
#: least ``_STILL_TALKING`` more, interrupted them (not a reply to a trailing word, not both
#: starting at once).
_STARTED_AFTER = 0.3
_STILL_TALKING = 0.5


def conversation_metrics(
    transcript: Transcript, *, agent: str = "agent", customer: str = "customer"
) -> dict[str, float]:
    """The call's figures; ``{}`` when it carries no timings. Shares are 0..1 of the call's
    duration (talk shares: of all talk), seconds are seconds, ``*_wpm`` words per minute of that
    speaker's own talk time (Chinese: characters)."""
    runs = _runs(transcript)
    if not runs:
        return {}
    end = max(b for _, _, b, _ in runs)
    duration = max(float(transcript.duration or 0.0), end)
    if duration <= 0:
        return {}
    by_speaker: dict[str, list[tuple[float, float]]] = defaultdict(list)
    words: dict[str, int] = defaultdict(int)
    for speaker, a, b, n in runs:
        by_speaker[speaker].append((a, b))
        words[speaker] += n
    talk_spans = {s: _union(spans) for s, spans in by_speaker.items()}
    talk = {s: _length(spans) for s, spans in talk_spans.items()}
    everyone = _union(span for spans in talk_spans.values() for span in spans)
    gaps = [b[0] - a[1] for a, b in zip(everyone, everyone[1:], strict=False)]
    overtalk = _length(_overlaps(list(talk_spans.values())))
    total_talk = sum(talk.values()) or 1.0
    interrupted_by = _interruptions(runs)
    out: dict[str, float] = {
        "duration": round(duration, 2),
        "turns": float(len(transcript.turns)),
        "silence_share": round(max(0.0, duration - _length(everyone)) / duration, 4),
        "longest_silence": round(max(gaps, default=0.0), 2),
        "overtalk_seconds": round(overtalk, 2),
        "overtalk_share": round(overtalk / duration, 4),
        "interruptions": float(sum(interrupted_by.values())),
    }
    for role, name in (("agent", agent), ("customer", customer)):
        if name not in talk:
            continue
        out[f"{role}_talk_share"] = round(talk[name] / total_talk, 4)
        out[f"{role}_interruptions"] = float(interrupted_by.get(name, 0))
        if talk[name] > 0:
            out[f"{role}_wpm"] = round(words[name] / (talk[name] / 60), 1)
    return {k: float(v) for k, v in out.items()}


def _runs(transcript: Transcript) -> list[Speech]:
    if transcript.speech:
        return [s for s in transcript.speech if s[2] > s[1]]
    return [
        (t.speaker, float(t.start), float(t.end), _words(t.text))
        for t in transcript.turns
        if t.start is not None and t.end is not None and t.end > t.start
    ]


def _words(text: str) -> int:
    """Words of a text; Chinese counts characters (it has no spaces to count)."""
    cjk = sum(has_cjk(c) for c in text)
    return cjk + len([w for w in text.split() if not any(has_cjk(c) for c in w)])


def _union(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _length(spans: Iterable[tuple[float, float]]) -> float:
    return sum(b - a for a, b in spans)


def _overlaps(speakers: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """Where two or more speakers talk at once (each speaker's spans already merged)."""
    edges = sorted(
        [(a, 1) for spans in speakers for a, _ in spans]
        + [(b, -1) for spans in speakers for _, b in spans],
        key=lambda e: (e[0], e[1]),
    )
    out: list[tuple[float, float]] = []
    talking = 0
    opened = 0.0
    for t, step in edges:
        if step == 1:
            talking += 1
            if talking == 2:
                opened = t
        else:
            if talking == 2 and t > opened:
                out.append((opened, t))
            talking -= 1
    return out


def _interruptions(runs: list[Speech]) -> dict[str, int]:
    """Times each speaker started talking over another who went on talking."""
    count: dict[str, int] = defaultdict(int)
    talking: list[Speech] = []  # runs not yet over when the next one starts
    for run in sorted(runs, key=lambda r: r[1]):
        speaker, start = run[0], run[1]
        talking = [r for r in talking if r[2] > start]
        if any(
            other != speaker and start - a >= _STARTED_AFTER and b - start >= _STILL_TALKING
            for other, a, b, _ in talking
        ):
            count[speaker] += 1
        talking.append(run)
    return count
