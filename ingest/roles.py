"""Which voice of a diarized call is the agent.

Voices found by clustering are anonymous. The agent is told by what agents say (greeting,
company, offers of help: ``agent_phrases``), what customers say (``customer_phrases``), who
speaks first (agents open inbound calls) and, weakly, who talks more. The evidence is summed
per voice; the best-scoring voice is the agent, the voice that talks most of the rest is the
customer, any others are ``speaker 3``, ``speaker 4``. An import can override the decision
(``agent_speaker``: ``first`` / ``second``), see :func:`apply_override`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from app.core.errors import InputError
from app.core.models import Transcript, Turn

#: Speaker names an imported transcript uses for the two roles (compared case-folded): a
#: Chinese centre's exports say 客服/坐席 and 客户, an English one "Agent", "Rep", "Caller".
ROLE_NAMES = {
    "agent": ("agent", "rep", "representative", "operator", "advisor", "客服", "坐席", "座席",
              "人工客服", "客服人员", "话务员"),
    "customer": ("customer", "caller", "client", "user", "客户", "顾客", "用户", "来电人",
                 "来电者"),
}  # fmt: skip
_ROLE_OF = {name.casefold(): role for role, names in ROLE_NAMES.items() for name in names}

#: Turns of each voice read for phrases (openings carry the greeting).
_OPENING_TURNS = 3
#: What an import may say about who the agent is.
AGENT_SPEAKER = ("auto", "first", "second", "swap")


def agent_speaker_choice(value: object) -> str | None:
    """An import's ``agent_speaker`` value, checked: None for empty/``auto``."""
    text = str(value or "").strip().lower()
    if text in ("", "auto"):
        return None
    if text not in AGENT_SPEAKER:
        raise InputError(
            f"agent_speaker must be one of {', '.join(AGENT_SPEAKER)}, got {str(value)[:40]!r}"
        )
    return text


@dataclass(frozen=True)
class Run:
    """A stretch of one (anonymous) voice: cluster index, times, words."""

    voice: int
    start: float
    end: float
    text: str


def name_voices(
    runs: Sequence[Run],
    voices: int,
    *,
    agent: str,
    customer: str,
    agent_phrases: Sequence[str],
    customer_phrases: Sequence[str],
) -> list[str]:
    """The name of each voice index 0..voices-1."""
    if voices < 2:
        return [agent][:voices]
    ordered = sorted(runs, key=lambda r: r.start)
    seen: dict[int, int] = defaultdict(int)
    score = [0.0] * voices
    talk = [0.0] * voices
    for run in ordered:
        talk[run.voice] += max(0.0, run.end - run.start)
        text = run.text.lower()
        weight = 2.0 if seen[run.voice] < _OPENING_TURNS else 0.5
        seen[run.voice] += 1
        score[run.voice] += weight * sum(p.lower() in text for p in agent_phrases if p)
        score[run.voice] -= weight * sum(p.lower() in text for p in customer_phrases if p)
    if ordered:
        score[ordered[0].voice] += 1.5  # the agent answers the line
    total = sum(talk) or 1.0
    for v in range(voices):
        score[v] += 0.5 * (talk[v] / total - 1 / voices)
    agent_voice = max(range(voices), key=lambda v: (score[v], talk[v]))
    rest = sorted((v for v in range(voices) if v != agent_voice), key=lambda v: -talk[v])
    names = [""] * voices
    names[agent_voice] = agent
    names[rest[0]] = customer
    for n, v in enumerate(rest[1:], start=3):
        names[v] = f"speaker {n}"
    return names


def speaker_source(transcript: Transcript, kind: str) -> str:
    """How a call's speakers were found (``Transcript.speaker_source``); calls indexed before
    it was recorded: ``channels`` for recordings, ``transcript`` for text."""
    return transcript.speaker_source or ("channels" if kind == "audio" else "transcript")


def apply_override(
    transcript: Transcript, agent_speaker: str | None, names: tuple[str, str]
) -> Transcript:
    """The transcript with the agent set by the import: ``first`` (the first voice to speak
    is the agent), ``second`` (the other one), ``swap`` (agent and customer exchanged), or
    None/``auto`` (as decided). Only the two role names are touched."""
    choice = agent_speaker_choice(agent_speaker)
    if choice is None:
        return transcript
    agent, customer = names
    if choice == "swap":
        swap = True
    else:
        first = next((t.speaker for t in transcript.turns if t.speaker in names), None)
        if first is None:
            return transcript
        swap = (first == agent) != (choice == "first")
    if not swap:
        return transcript
    other = {agent: customer, customer: agent}

    def rename(speaker: str) -> str:
        return other.get(speaker, speaker)

    return Transcript(
        turns=[Turn(rename(t.speaker), t.text, t.start, t.end, t.date) for t in transcript.turns],
        language=transcript.language,
        duration=transcript.duration,
        speaker_source=transcript.speaker_source,
        speech=[(rename(s), a, b, n) for s, a, b, n in transcript.speech],
    )


def role_of(speaker: str, names: tuple[str, str]) -> str:
    """``agent``, ``customer`` or the speaker's own name: the configured channel names
    (``names``: agent, customer) first, then the usual names of the two roles."""
    if speaker == names[0]:
        return "agent"
    if speaker == names[1]:
        return "customer"
    return _ROLE_OF.get(speaker.strip().casefold(), speaker)
