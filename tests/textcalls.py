"""Small text calls for tests, written as ``{call_id: (labels, date, [(speaker, text), ...])}``."""

from __future__ import annotations

from app.core.models import CallSource, Transcript, Turn

CallSpec = tuple[list[str], str, list[tuple[str, str]]]


def text_sources(calls: dict[str, CallSpec]) -> list[CallSource]:
    """One text CallSource per call; turn i runs from 10*i to 10*i + 8 seconds."""
    return [
        CallSource(
            call_id=cid,
            kind="text",
            origin="test",
            labels=labels,
            date=date,
            transcript=Transcript(
                [Turn(s, t, i * 10.0, i * 10.0 + 8) for i, (s, t) in enumerate(turns)]
            ),
        )
        for cid, (labels, date, turns) in calls.items()
    ]
