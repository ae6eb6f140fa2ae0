"""``/api/calls``: upload recordings or transcripts, list, read and delete calls.

The routes share the Runtime's ledger (its connection is thread-safe behind a lock: FastAPI runs
sync routes on any threadpool thread).
"""

from __future__ import annotations

from datetime import date as Date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.api.deps import MAX_OFFSET, JobsDep, RuntimeDep, SettingsDep
from app.api.responses import errors
from app.api.routes.jobs import job_accepted
from app.api.uploads import parse_labels, store_uploads
from app.services import calls
from app.services.conversation import conversation
from ingest.ledger import STATES, LedgerRow

router = APIRouter(prefix="/api", tags=["calls"])


class FileResult(BaseModel):
    filename: str
    call_id: str
    status: str
    chunks: int = 0
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
    n_chunks: int
    updated_at: float


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


class Deleted(BaseModel):
    deleted: str
    points: int


def _error(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, detail={"code": code, "message": message})


def _summary(row: LedgerRow) -> dict[str, Any]:
    return {
        "call_id": row.call_id,
        "state": row.state,
        "labels": row.labels,
        "kind": row.kind,
        # Only the file name: the full origin is a server path.
        "origin": Path(row.origin).name,
        "duration": row.duration,
        "language": row.language,
        "n_chunks": row.n_chunks,
        "updated_at": row.updated_at,
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
    wait: Annotated[
        bool, Query(description="Index inside the request and answer with the results.")
    ] = False,
) -> Any:
    """Upload calls and index them in a background job (202 + the job), or now with ``wait``."""
    stored = store_uploads(
        files,
        runtime.settings.paths.state_dir,
        calls.uploads_dir(runtime),
        settings.api.max_upload_mb,
    )
    label_list = parse_labels(labels)
    iso_date = date.isoformat() if date else None
    if wait:
        results = calls.ingest_stored(runtime, stored, label_list, iso_date)
        return JSONResponse(UploadResponse(results=[FileResult(**r) for r in results]).model_dump())
    job = jobs.submit(
        "ingest",
        {
            "files": [{"name": name, "path": str(path)} for name, path in stored],
            "labels": label_list,
            "date": iso_date,
        },
    )
    return job_accepted(job)


@router.get("/calls")
def list_calls(
    runtime: RuntimeDep,
    label: str | None = None,
    state: Annotated[str | None, Query(pattern="^(" + "|".join(STATES) + ")$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> CallList:
    """List calls from the ledger, newest first, filtered by label and state."""
    ledger = runtime.ledger
    rows = [r for r in ledger.rows(state) if label is None or label in r.labels]
    rows.sort(key=lambda r: r.updated_at, reverse=True)
    page = rows[offset : offset + limit]
    return CallList(total=len(rows), calls=[CallSummary(**_summary(r)) for r in page])


@router.get("/calls/{call_id}", responses=errors(404))
def get_call(call_id: str, runtime: RuntimeDep) -> CallDetail:
    """One call: transcript turns, labels, label and classification history, state, error."""
    ledger = runtime.ledger
    row = ledger.get(call_id)
    if row is None:
        raise _error(404, "not_found", f"no call {call_id!r}")
    history = ledger.history(call_id)
    how = conversation(runtime, row)
    turns = [t.to_dict() for t in row.transcript.turns] if row.transcript else []
    return CallDetail(
        **_summary(row),
        error=row.error,
        warnings=row.warnings,
        turns=[TurnOut(**{k: t.get(k) for k in TurnOut.model_fields}) for t in turns],
        label_history=history,
        classifications=ledger.classifications(call_id),
        speakers=how.pop("speakers", None),
        metrics=how,
    )


@router.delete("/calls/{call_id}", responses=errors(404))
def delete_call(call_id: str, runtime: RuntimeDep) -> Deleted:
    """Delete a call: its points, ledger row, uploaded recording, unshared transcript cache."""
    points = calls.delete_call(runtime, call_id)
    if points is None:
        raise _error(404, "not_found", f"no call {call_id!r}")
    return Deleted(deleted=call_id, points=points)
