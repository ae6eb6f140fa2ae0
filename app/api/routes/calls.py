"""``/api/calls``: upload recordings or transcripts, list, read and delete calls.

Listing and reading go through ``app.services.call_views`` (the UI reads calls through the same
functions); uploading and deleting through ``app.services.calls``.
"""

from __future__ import annotations

from datetime import date as Date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.api.deps import MAX_OFFSET, JobsDep, RuntimeDep, SettingsDep
from app.api.responses import errors
from app.api.routes.jobs import job_accepted
from app.api.uploads import HotwordsField, parse_labels, store_uploads
from app.core.hotwords import parse_hotwords
from app.services import call_views, calls
from app.services.call_views import STATES, CallFilter, CallRow

router = APIRouter(prefix="/api", tags=["calls"])


class FileResult(BaseModel):
    filename: str
    call_id: str
    status: str
    turn_points: int = 0
    error: str | None = None


class UploadResponse(BaseModel):
    results: list[FileResult]


class CallSummary(BaseModel):
    call_id: str
    state: str
    labels: list[str]
    kind: str
    origin: str
    duration: float | None
    language: str | None
    turn_points: int
    updated_at: float
    #: The call's date (ISO), when it has one.
    date: str | None = None


class CallList(BaseModel):
    total: int
    calls: list[CallSummary]


class TurnOut(BaseModel):
    speaker: str
    text: str
    start: float | None
    end: float | None


class CallDetail(CallSummary):
    error: str | None
    warnings: list[str]
    turns: list[TurnOut]
    label_history: list[dict[str, Any]]
    #: Every classification of this call (API, batch jobs, CLI), oldest first.
    classifications: list[dict[str, Any]]
    #: How the speakers were found: channels (stereo), voices (a mono recording diarized),
    #: uncertain (mono, voices not separable: one speaker kept), mono, transcript.
    speakers: str | None = None
    #: Conversation metrics (talk share, silence, longest silence, overtalk, interruptions,
    #: words per minute, turns, duration); {} for calls without timings.
    metrics: dict[str, float] = {}
    #: Where ``date`` came from: ``call`` (its own), ``file`` (the file's time) or ``upload``
    #: (when it was uploaded); None without a date.
    date_source: str | None = None


class Deleted(BaseModel):
    deleted: str
    points: int


def _error(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, detail={"code": code, "message": message})


def _summary(row: CallRow) -> dict[str, Any]:
    return {
        "call_id": row.call_id,
        "state": row.state,
        "labels": row.labels,
        "kind": row.kind,
        "origin": row.origin,  # the file name only: the full origin is a server path
        "duration": row.duration,
        "language": row.language,
        "turn_points": row.turn_points,
        "updated_at": row.updated_at,
        "date": row.date,
    }


@router.post(
    "/calls",
    status_code=202,
    responses={
        200: {"model": UploadResponse, "description": "Indexed now (``wait=true``)"},
        **errors(413, 415),
    },
)
def upload_calls(
    files: Annotated[list[UploadFile], File(description="Recordings or .txt/.json transcripts.")],
    runtime: RuntimeDep,
    settings: SettingsDep,
    jobs: JobsDep,
    labels: Annotated[
        str | None, Form(description="Comma-separated labels for every file.")
    ] = None,
    date: Annotated[Date | None, Form(description="Call date for every file.")] = None,
    hotwords: HotwordsField = None,
    wait: Annotated[
        bool, Query(description="Index inside the request and answer with the results.")
    ] = False,
) -> Any:
    """Upload calls and index them in a background job (202 + the job), or now with ``wait``."""
    words = parse_hotwords(hotwords)  # refused before anything is stored
    stored = store_uploads(
        files,
        runtime.settings.paths.state_dir,
        calls.uploads_dir(runtime),
        settings.api.max_upload_mb,
    )
    label_list = parse_labels(labels)
    iso_date = date.isoformat() if date else None
    if wait:
        results = calls.ingest_stored(runtime, stored, label_list, iso_date, hotwords=words)
        return JSONResponse(UploadResponse(results=[FileResult(**r) for r in results]).model_dump())
    job = jobs.submit(
        "ingest",
        {
            "files": [{"name": name, "path": str(path)} for name, path in stored],
            "labels": label_list,
            "date": iso_date,
            "hotwords": list(words),
        },
    )
    return job_accepted(job)


@router.get("/calls")
def list_calls(
    runtime: RuntimeDep,
    label: Annotated[str | None, Query(min_length=1)] = None,
    state: Annotated[str | None, Query(pattern="^(" + "|".join(STATES) + ")$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> CallList:
    """List calls, newest call date first, filtered by label (indexed calls) and state."""
    filters = CallFilter(labels=(label,)) if label else None
    page = call_views.list_calls(runtime, filters, state=state, limit=limit, offset=offset)
    return CallList(total=page.total, calls=[CallSummary(**_summary(r)) for r in page.calls])


@router.get("/calls/{call_id}", responses=errors(404))
def get_call(call_id: str, runtime: RuntimeDep) -> CallDetail:
    """One call: transcript turns, labels, label and classification history, state, error."""
    view = call_views.get_call(runtime, call_id)
    if view is None:
        raise _error(404, "not_found", f"no call {call_id!r}")
    turns = view.turns
    return CallDetail(
        **_summary(view.row),
        error=view.error,
        warnings=view.warnings,
        turns=[TurnOut(speaker=t.speaker, text=t.text, start=t.start, end=t.end) for t in turns],
        label_history=view.label_history,
        classifications=view.classifications,
        speakers=view.speakers,
        metrics=view.metrics,
        date_source=view.date_source,
    )


@router.delete("/calls/{call_id}", responses=errors(404))
def delete_call(call_id: str, runtime: RuntimeDep) -> Deleted:
    """Delete a call: its points, ledger row, uploaded recording, unshared transcript cache."""
    points = calls.delete_call(runtime, call_id)
    if points is None:
        raise _error(404, "not_found", f"no call {call_id!r}")
    return Deleted(deleted=call_id, points=points)
