"""``/api/jobs``: background work (ingest, import, batch classification, label runs) with
progress; the state lives in SQLite, so a job outlives a restart of the server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, JSONResponse

from app.api.deps import MAX_OFFSET, JobsDep, RuntimeDep
from app.api.public import without_paths
from app.api.responses import errors
from app.jobs.queue import STATES, Job, jobs_dir

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

_MEDIA = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonl": "application/x-ndjson",
}


def job_accepted(job: Job) -> JSONResponse:
    """202 Accepted with the job and where to poll it."""
    return JSONResponse(
        status_code=202,
        content={"job": public(job)},
        headers={"Location": f"/api/jobs/{job.id}"},
    )


def public(job: Job) -> dict[str, Any]:
    """A job as clients see it: no server paths (``app.api.public``)."""
    return without_paths(job.as_dict())


def _get(jobs: JobsDep, job_id: str) -> Job:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, detail={"code": "not_found", "message": f"no job {job_id!r}"})
    return job


@router.get("")
def list_jobs(
    jobs: JobsDep,
    kind: str | None = None,
    state: Annotated[str | None, Query(pattern="^(" + "|".join(STATES) + ")$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """Jobs, newest first, with state and progress."""
    total, found = jobs.store.list(kind=kind, state=state, limit=limit, offset=offset)
    return {"total": total, "jobs": [public(j) for j in found]}


@router.get("/{job_id}", responses=errors(404))
def get_job(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    """One job: state, progress (done/total, message), result or error."""
    return public(_get(jobs, job_id))


@router.delete("/{job_id}", responses=errors(404, 409))
def cancel_job(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    """Cancel a job: a queued one at once, a running one at its next step."""
    job = _get(jobs, job_id)
    if job.finished:
        raise HTTPException(
            409,
            detail={"code": "finished", "message": f"job {job_id} is already {job.state}"},
        )
    return public(jobs.cancel(job_id))


@router.get("/{job_id}/results", responses=errors(404, 409))
def job_results(
    job_id: str,
    jobs: JobsDep,
    runtime: RuntimeDep,
    format: Literal["csv", "xlsx", "jsonl"] = "csv",
) -> FileResponse:
    """The result table of a finished batch classification (CSV, XLSX or JSONL)."""
    job = _get(jobs, job_id)
    files = (job.result or {}).get("files") or {}
    if job.state != "done" or format not in files:
        raise HTTPException(
            409 if not job.finished else 404,
            detail={
                "code": "no_results",
                "message": f"job {job_id} ({job.kind}, {job.state}) has no {format} results",
            },
        )
    path = jobs_dir(runtime, job.id) / Path(files[format]).name
    if not path.is_file():
        raise HTTPException(
            404, detail={"code": "not_found", "message": "the results are no longer on disk"}
        )
    name = f"classifications-{job_id}.{format}"
    return FileResponse(path, media_type=_MEDIA[format], filename=name)
