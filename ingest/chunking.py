"""Speaker-turn-aware windows of a call sized in tokens: what a call's *call-level* vector is
made of (``ingest.turns.call_windows``, for classification and label-quality runs). Search does
not use them: the turn index stores one point per turn (``ingest/turns.py``).

A chunk is a run of whole consecutive turns rendered as ``Speaker: text`` lines, at most
``max_tokens`` long; the next chunk starts with the last turns of the previous one (up to
``overlap_tokens``) so a question whose answer straddles a boundary still finds one chunk with
both sides of the exchange. Only a single turn longer than ``max_tokens`` is cut inside, at token
boundaries, with the same overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import tiktoken

from app.core.config import ChunkingSettings
from app.core.models import Chunk, Turn
from app.core.text import encoding


@dataclass(frozen=True)
class _Piece:
    """A turn, or a token slice of an over-long turn."""

    turn_id: int
    speaker: str
    line: str
    tokens: int
    start: float | None
    end: float | None


def chunk_turns(call_id: str, turns: list[Turn], settings: ChunkingSettings) -> list[Chunk]:
    """Cut one call's turns into overlapping chunks."""
    enc = encoding(settings.encoding)
    pieces = _pieces(turns, enc, settings)
    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        j, size = i, 0
        while j < len(pieces) and (j == i or size + pieces[j].tokens <= settings.max_tokens):
            size += pieces[j].tokens
            j += 1
        chunks.append(_chunk(call_id, len(chunks), pieces[i:j], size))
        if j >= len(pieces):
            break
        # Step back over trailing pieces that fit in the overlap, but always move forward.
        back, k = 0, j
        while k - 1 > i and back + pieces[k - 1].tokens <= settings.overlap_tokens:
            k -= 1
            back += pieces[k].tokens
        i = k
    return chunks


def _pieces(turns: list[Turn], enc: tiktoken.Encoding, s: ChunkingSettings) -> list[_Piece]:
    out: list[_Piece] = []
    for turn_id, turn in enumerate(turns):
        text = turn.text.strip()
        if not text:
            continue
        label = f"{turn.speaker.capitalize()}: "
        ids = enc.encode(label + text)
        if len(ids) <= s.max_tokens:
            out.append(_Piece(turn_id, turn.speaker, label + text, len(ids), turn.start, turn.end))
            continue
        body = enc.encode(text)
        label_len = len(enc.encode(label))
        step = s.max_tokens - label_len - s.overlap_tokens
        width = s.max_tokens - label_len
        for offset in range(0, len(body), max(step, 1)):
            part = body[offset : offset + width]
            out.append(
                _Piece(
                    turn_id,
                    turn.speaker,
                    label + enc.decode(part).strip(),
                    len(part) + label_len,
                    turn.start,
                    turn.end,
                )
            )
            if offset + width >= len(body):
                break
    return out


def _chunk(call_id: str, index: int, pieces: list[_Piece], tokens: int) -> Chunk:
    starts = [p.start for p in pieces if p.start is not None]
    ends = [p.end for p in pieces if p.end is not None]
    return Chunk(
        call_id=call_id,
        index=index,
        text="\n".join(p.line for p in pieces),
        start=min(starts) if starts else None,
        end=max(ends) if ends else None,
        speakers=sorted({p.speaker for p in pieces}),
        turn_ids=sorted({p.turn_id for p in pieces}),
        n_tokens=tokens,
    )
