"""The turn point: a point of the turn collection, one per speaker turn (or piece of a long
turn). Ingest writes it and search, the doctor and Ask read it through this module, so its id,
payload keys and text form are defined once; the call's fields (``call_id``, labels, date,
metadata) ride on every turn point so filters work alike on both collections."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from retrieval.index.points import point_id


def speaker_name(speaker: str) -> str:
    """``customer`` -> ``Customer``: how a speaker is written before their words."""
    return f"{speaker[:1].upper()}{speaker[1:]}"


def turn_text(speaker: str, words: str) -> str:
    """``Customer: words``: how a turn is stored, shown, quoted and cited."""
    return f"{speaker_name(speaker)}: {words}"


def words_of(text: str, speaker: str) -> str:
    """A stored turn's words without the ``Speaker:`` in front."""
    prefix = f"{speaker_name(speaker)}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def turn_point_id(call_id: str, turn: int, part: int, around: str) -> str:
    """The id of a turn point: its place in the call and its words in context (``around``),
    so re-ingesting an unchanged call rewrites the same points."""
    digest = hashlib.sha256(around.encode("utf-8")).hexdigest()[:16]
    return point_id(call_id, turn, f"turn:{part}:{digest}")


def turn_payload(
    *,
    turn: int,
    part: int,
    session: int,
    speaker: str,
    words: str,
    start: float | None,
    end: float | None,
    date: str | None = None,
) -> dict[str, Any]:
    """The turn's own payload fields (merged over its call's)."""
    payload: dict[str, Any] = {
        "turn": turn,
        "part": part,
        "session": session,
        "text": turn_text(speaker, words),
        "start": start,
        "end": end,
        "speakers": [speaker],
    }
    if date:
        payload["date"] = date  # the session's date (sessions of one call differ)
    return payload


@dataclass(frozen=True)
class TurnPoint:
    """A stored turn as its readers see it."""

    call_id: str
    turn: int
    part: int
    session: int
    #: ``Speaker: words``.
    text: str
    start: float | None
    end: float | None
    speakers: list[str]
    labels: list[str]
    date: str | None

    @classmethod
    def of(cls, payload: dict[str, Any]) -> TurnPoint:
        return cls(
            call_id=str(payload["call_id"]),
            turn=int(payload.get("turn", 0)),
            part=int(payload.get("part", 0)),
            session=int(payload.get("session", 0)),
            text=str(payload.get("text", "")),
            start=payload.get("start"),
            end=payload.get("end"),
            speakers=list(payload.get("speakers") or []),
            labels=list(payload.get("labels") or []),
            date=payload.get("date"),
        )

    @property
    def speaker(self) -> str:
        return self.speakers[0] if self.speakers else "speaker"

    @property
    def words(self) -> str:
        return words_of(self.text, self.speaker)
