"""The turn index's units: what one stored point of a call is, and what its vectors are made of.

A unit is one turn of a call (a speaker's uninterrupted stretch), or a piece of a turn longer
than ``index.max_turn_tokens`` (a mono recording or a monologue would otherwise be one point,
and the embedder would read only its first 256 word pieces). A turn alone is often "yes, that
one", so each point carries six vectors, all computed once at ingest (a query embeds only the
question):

- ``dense``: the turn as ``Speaker: words`` (questions name people and roles);
- ``dense_ctx``: the mean of the ``dense`` vectors of the turns around it (``index.context_turns``
  before and after, inside its session): context without a second embedding;
- ``dense_prev``: the ``dense`` vector of the turn before it in its session: an answer found by
  the meaning of what it answers ("哪通电话里客服告诉了客户…的电话" is the customer's request
  in other words; the agent's reply rarely repeats it). Measured on Chinese questions about
  calls: within-call MRR of plain e5 0.43, with the previous turn's vector fused in 0.64
  (searched for Chinese questions: ``search.dense_previous``);
- ``bm25``: the turn's line; ``bm25_prev``: the previous line and this one (an answer often
  replies to the other speaker's question); ``bm25_ctx``: the lines around it.

Search fuses them with RRF (``search.rrf_k``). Chosen on long multi-session conversations:
docs/benchmarks.md "Turn index" and ``python -m eval.tune_turns``.

Sessions: a call may hold several contacts over days. Turns carry their own date when the
source gives one (a session's date); a change of date starts a new session, and context never
crosses a session boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.core.config import IndexSettings
from app.core.dates import iso_date
from app.core.filler import is_filler
from app.core.models import Transcript
from app.core.text import encoding
from retrieval.index.turn_points import turn_text


@dataclass(frozen=True)
class TurnUnit:
    """One point of the turn index (a turn, or a piece of a long one)."""

    #: Position of the turn in the transcript (what citations and expansion count in).
    turn: int
    #: Piece of the turn (0 for a turn that fits).
    part: int
    #: As the transcript names it (``agent``, ``customer``, ``Caroline``).
    speaker: str
    #: The turn's (piece's) own words, as shown and quoted.
    text: str
    start: float | None
    end: float | None
    session: int
    #: The session's date (ISO), or the call's when the turn carries none.
    date: str | None
    #: ``Speaker: words`` (with the session's date first when ``index.date_in_text``): what the
    #: ``dense`` and ``bm25`` vectors are computed from.
    line: str
    #: The previous line of the session and this one (``bm25_prev``).
    previous: str
    #: The lines around it in its session (``bm25_ctx``).
    around: str
    #: Indexes (in the call's units) of the units whose dense vectors make ``dense_ctx``.
    window: tuple[int, int]


def turn_units(
    transcript: Transcript, settings: IndexSettings, call_date: str | None = None
) -> list[TurnUnit]:
    """The units of a call, in order; turns without words are left out."""
    pieces = _pieces(transcript, settings)
    lines = []
    for _, _, speaker, text, _, _, _, day in pieces:
        day = day or call_date
        dated = f"[{_day(day)}] " if settings.date_in_text and day else ""
        lines.append(f"{dated}{turn_text(speaker, text)}")
    units: list[TurnUnit] = []
    n = settings.context_turns
    for i, (turn_index, part, speaker, text, start, end, session, day) in enumerate(pieces):
        lo = i
        while lo > 0 and i - lo < n and pieces[lo - 1][6] == session:
            lo -= 1
        hi = i
        while hi < len(pieces) - 1 and hi - i < n and pieces[hi + 1][6] == session:
            hi += 1
        previous = (
            lines[i - 1] + "\n" + lines[i] if i > 0 and pieces[i - 1][6] == session else lines[i]
        )
        units.append(
            TurnUnit(
                turn=turn_index,
                part=part,
                speaker=speaker,
                text=text,
                start=start,
                end=end,
                session=session,
                date=day or call_date,
                line=lines[i],
                previous=previous,
                around="\n".join(lines[lo : hi + 1]),
                window=(lo, hi + 1),
            )
        )
    return units


def previous_vectors(units: list[TurnUnit], vectors: np.ndarray) -> np.ndarray:
    """``dense_prev`` of every unit: the ``dense`` vector of the unit before it in its session
    (its own for a session's first)."""
    out = vectors.copy()
    for i in range(1, len(units)):
        if units[i - 1].session == units[i].session:
            out[i] = vectors[i - 1]
    return out


def context_vectors(units: list[TurnUnit], vectors: np.ndarray) -> np.ndarray:
    """``dense_ctx`` of every unit: the normalised mean of its window's ``dense`` vectors."""
    out = np.empty_like(vectors)
    for i, unit in enumerate(units):
        mean = vectors[unit.window[0] : unit.window[1]].mean(axis=0)
        out[i] = mean / (float(np.linalg.norm(mean)) or 1.0)
    return out


#: The longest call text a call point keeps (payload ``text``): what neighbours show and what
#: the light model's word features read, on stored and new calls alike (``classify_text``).
CALL_TEXT_CHARS = 6000

#: Who the classification's opening and customer views are about; a call without such a
#: speaker (a mono recording, a single utterance) uses all its turns.
CUSTOMER = "customer"


def call_vector(units: Sequence[TurnUnit], vectors: np.ndarray) -> np.ndarray:
    """A call's dense vector from its units' ``dense`` vectors: their sum weighted by each
    unit's length in characters, normalised. Stored calls (at ingest, from the vectors the turn
    index already holds) and new calls (at classification) both go through this, so the two are
    comparable and a stored call costs no extra embedding. Measured against the plain mean,
    customer turns only, the opening turns and ~200-token windows (``python -m
    eval.tune_calls``, docs/benchmarks.md "Call vectors"): weighting by length keeps greetings
    and fillers ("ok", "嗯") from blurring the call."""
    if len(units) == 0:
        raise ValueError("a call without text has no vector")
    # Filler ("好的，麻烦你了。") and the greeting and closing script say nothing about the
    # call: they weigh nothing unless the call has nothing else (app/core/filler.py).
    content = [0.0 if is_filler(u.text) else 1.0 for u in units]
    if not any(content):
        content = [1.0] * len(units)
    sizes = np.array(
        [max(len(u.text), 1) * c for u, c in zip(units, content, strict=True)], dtype=np.float32
    )
    total = (np.asarray(vectors, dtype=np.float32) * sizes[:, None]).sum(axis=0)
    return total / (float(np.linalg.norm(total)) or 1.0)


def opening_line(units: Sequence[TurnUnit]) -> str:
    """``Customer: words`` of the call's first customer turn with content (all its pieces), or
    of its first turn with content when no speaker is the customer: the reason a caller gives
    first, what the BM25 side of the classification vote matches on. "Hello?" or "喂，你好" is
    not the reason for a call (``is_filler``)."""
    if not units:
        return ""
    said = [u for u in units if not is_filler(u.text)] or list(units)
    first = next((u for u in said if u.speaker == CUSTOMER), said[0])
    words = " ".join(u.text for u in units if u.turn == first.turn)
    return turn_text(first.speaker, words)


def _day(iso: str) -> str:
    """``8 May 2023``: how questions name days (``When did …?`` answers are dates)."""
    from datetime import date

    d = date.fromisoformat(iso[:10])
    return f"{d.day} {d.strftime('%B')} {d.year}"


Piece = tuple[int, int, str, str, float | None, float | None, int, str | None]


def _pieces(transcript: Transcript, settings: IndexSettings) -> list[Piece]:
    enc = encoding("cl100k_base")
    out: list[Piece] = []
    session, last_date = 0, None
    for index, turn in enumerate(transcript.turns):
        text = " ".join(turn.text.split())
        if not text:
            continue
        day = iso_date(turn.date) if turn.date else None
        # A new session wherever the date the source wrote changes (two contacts on one day
        # are two sessions too).
        if turn.date and last_date is not None and turn.date != last_date:
            session += 1
        last_date = turn.date or last_date
        speaker = turn.speaker
        tokens = enc.encode(text)
        if len(tokens) <= settings.max_turn_tokens:
            out.append((index, 0, speaker, text, turn.start, turn.end, session, day))
            continue
        # A long turn is cut into pieces of about equal size at token boundaries; each piece's
        # time span is the turn's, shared out by its share of the tokens.
        n = -(-len(tokens) // settings.max_turn_tokens)
        size = -(-len(tokens) // n)
        for part in range(n):
            piece = enc.decode(tokens[part * size : (part + 1) * size]).strip()
            start, end = _share(turn.start, turn.end, part / n, (part + 1) / n)
            out.append((index, part, speaker, piece, start, end, session, day))
    return out


def _share(
    start: float | None, end: float | None, lo: float, hi: float
) -> tuple[float | None, float | None]:
    if start is None or end is None:
        return start, end
    span = end - start
    return round(start + span * lo, 3), round(start + span * hi, 3)
