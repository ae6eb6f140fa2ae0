"""Reading calls, the use case: the list of calls (newest first, with the total), one call as
every face shows it, the recording to play, the labels the filters offer, and the words the
call filter understands. ``GET /api/calls[/{id}]``, the UI's Calls, Ask and Insights tabs and
the Status tab read calls only through these functions, never the ledger or the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import InputError
from app.core.filters import METRICS, CallFilter
from app.core.models import Turn
from app.runtime import Runtime
from app.services.conversation import conversation
from ingest.ledger import STATES, LedgerRow
from retrieval.search import clock, span  # how times are written, re-exported for the faces

__all__ = [
    "METRICS",
    "STATES",
    "CallFilter",
    "CallPage",
    "CallRow",
    "CallView",
    "call_audio",
    "clock",
    "filter_words",
    "get_call",
    "list_calls",
    "parse_filter",
    "span",
]


@dataclass(frozen=True)
class CallRow:
    """One call as listed for browsing."""

    call_id: str
    labels: list[str]
    #: The call's date (ISO), or the date of the session that matched a date filter.
    date: str | None
    duration: float | None
    speakers: list[str]
    #: The opening words of the call.
    opening: str
    state: str = "indexed"
    #: audio, transcript or text.
    kind: str = "transcript"
    #: The file the call came from, by name only (its full path is a server path).
    origin: str = ""
    language: str | None = None
    turn_points: int = 0
    updated_at: float = 0.0


@dataclass(frozen=True)
class CallPage:
    """A page of calls and how many calls match in all."""

    total: int
    calls: list[CallRow]


@dataclass(frozen=True)
class CallView:
    """One call as every face shows it: transcript turns, labels, what happened to them,
    classifications, how its speakers were found and how the conversation went."""

    row: CallRow
    error: str | None
    warnings: list[str]
    turns: list[Turn]
    #: Label corrections, oldest first (``from``/``to`` lists, ``source``, ``at``).
    label_history: list[dict[str, Any]]
    #: Every classification of the call (API, batch jobs, CLI, UI), oldest first.
    classifications: list[dict[str, Any]]
    #: channels, voices, uncertain, mono or transcript; None without a transcript.
    speakers: str | None
    #: Conversation metrics (``ingest.metrics``); {} for a call without timings.
    metrics: dict[str, float] = field(default_factory=dict)
    #: Whether the call's recording is on disk (``call_audio`` gives it).
    has_audio: bool = False
    #: Where ``row.date`` came from: ``call`` (its own) or ``upload`` (the time it was
    #: uploaded; ``app.core.models.DATE_SOURCES``); None without a date.
    date_source: str | None = None

    @property
    def call_id(self) -> str:
        return self.row.call_id

    @property
    def labels(self) -> list[str]:
        return self.row.labels


def _listed(row: LedgerRow, date: str | None) -> CallRow:
    turns = row.transcript.turns if row.transcript else []
    return CallRow(
        call_id=row.call_id,
        labels=row.labels,
        date=date,
        duration=row.duration,
        speakers=sorted({t.speaker for t in turns}),
        opening=" ".join(turns[0].text.split())[:160] if turns else "",
        state=row.state,
        kind=row.kind,
        origin=Path(row.origin).name,
        language=row.language,
        turn_points=row.n_turn_points,
        updated_at=row.updated_at,
    )


def _dates(runtime: Runtime, filters: CallFilter | None) -> dict[str, str | None]:
    """{call id: date} of the indexed calls matching ``filters``, matched in the engine.
    Speakers and session dates are per turn, so those filters run over the turn points (the
    date shown is then the matching session's); the rest over the call points, one per call."""
    if filters and (filters.speakers or filters.date_from or filters.date_to):
        found: dict[str, str | None] = {}
        for point in runtime.turns.scroll(filters.spec()):
            found.setdefault(point.payload["call_id"], point.payload.get("date"))
        return found
    spec = filters.spec() if filters else None
    return {p.payload["call_id"]: p.payload.get("date") for p in runtime.calls.scroll(spec)}


def list_calls(
    runtime: Runtime,
    filters: CallFilter | None = None,
    *,
    state: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> CallPage:
    """Calls matching ``filters`` (matched in the engine, so only indexed calls match a
    filter) and ``state``, newest first: by the call's date (one date's calls by id), then
    the calls without a date, the most recently stored first. ``total`` counts every match;
    ``calls`` is the page ``offset .. offset + limit``."""
    if state is not None and state not in STATES:
        raise InputError(f"state {state!r}: use one of {', '.join(STATES)}")
    dates = _dates(runtime, filters) if filters or state in (None, "indexed") else {}
    rows = [r for r in runtime.ledger.rows(state) if not filters or r.call_id in dates]

    def newest(row: LedgerRow) -> tuple[str, float, str]:
        # Calls of one date by id (stable: a relabel must not move a call); a call without a
        # date after every dated one, by when it was stored.
        day = dates.get(row.call_id) or ""
        return day, 0.0 if day else row.updated_at, row.call_id

    rows.sort(key=newest, reverse=True)
    page = rows[offset : offset + limit]
    return CallPage(len(rows), [_listed(r, dates.get(r.call_id)) for r in page])


def get_call(runtime: Runtime, call_id: str) -> CallView | None:
    """One call with everything the faces show of it; None when there is no such call."""
    ledger = runtime.ledger
    row = ledger.get(call_id)
    if row is None:
        return None
    date = date_source = None
    if row.state == "indexed":
        for point in runtime.calls.scroll({"call_id": call_id}, limit=1):
            date = point.payload.get("date")
            date_source = (point.payload.get("date_source") or "call") if date else None
    how = conversation(runtime, row)
    return CallView(
        row=_listed(row, date),
        error=row.error,
        warnings=row.warnings,
        turns=list(row.transcript.turns) if row.transcript else [],
        label_history=ledger.history(call_id),
        classifications=ledger.classifications(call_id),
        speakers=how.pop("speakers", None),
        metrics=how,
        has_audio=row.recording is not None,
        date_source=date_source,
    )


def call_audio(runtime: Runtime, call_id: str) -> Path | None:
    """The recording of a stored audio call while it is on disk (the path comes from the
    ledger, never from a client); None for a text call, a missing file or no such call."""
    row = runtime.ledger.get(call_id)
    return row.recording if row is not None else None


@dataclass(frozen=True)
class FilterWords:
    """What a typed call filter may name: the call metadata fields (``agent=Li``) and the
    conversation metrics (``longest_silence>=60``)."""

    metadata: tuple[str, ...]
    metrics: tuple[str, ...]


def filter_words(runtime: Runtime) -> FilterWords:
    """The metadata fields declared for this deployment and the metric names."""
    return FilterWords(tuple(runtime.settings.ingest.metadata_fields), METRICS)


def parse_filter(runtime: Runtime, items: list[str]) -> CallFilter:
    """Typed filter items (``agent=Li``, ``longest_silence>=60``, ``label=refund``, ...) as
    the one call filter; an ``InputError`` names what is wrong."""
    return CallFilter.parse(items, runtime.settings.ingest.metadata_fields)
