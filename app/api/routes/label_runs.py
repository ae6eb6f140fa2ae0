"""Label-quality runs over HTTP: start one on the labeled calls in the store, list the stored
runs, fetch a run's summary, its report, its issue table, and compare two runs.

A run takes seconds to minutes (it scores every labeled call out of sample), so it is a
background job (202 + the job to poll at ``/api/jobs/{id}``; its result is the run's summary);
``wait=true`` runs it inside the request instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import MAX_OFFSET, JobsDep, RuntimeDep
from app.api.public import without_paths
from app.api.responses import errors
from app.api.routes.jobs import job_accepted
from app.services import label_runs

#: Run ids are SQLite integers: a bigger number from a URL is a 422, not an OverflowError.
RunId = Annotated[int, Query(ge=1, le=MAX_OFFSET)]
RunPath = Annotated[int, PathParam(ge=1, le=MAX_OFFSET)]

router = APIRouter(prefix="/api/label-runs", tags=["label quality"])

_FILES = {
    "report": ("report.html", "text/html"),
    "csv": ("label_issues.csv", "text/csv"),
    "xlsx": (
        "label_issues.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    "summary": ("summary.json", "application/json"),
}


class LabelRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: LLM reviews of the top suspects (default ``labels.adjudicate_top``; 0 = none).
    adjudicate: int | None = Field(None, ge=0, le=1000)


@router.post("", status_code=202, responses={200: {"description": "The summary (wait=true)"}})
def start_run(
    body: LabelRunRequest,
    runtime: RuntimeDep,
    jobs: JobsDep,
    wait: Annotated[bool, Query(description="Run inside the request; answer the summary.")] = False,
) -> Any:
    """Start a label-quality run on the labeled calls in the store (a job; or now with wait)."""
    if not wait:
        return job_accepted(jobs.submit("label_run", {"adjudicate": body.adjudicate}))
    return JSONResponse(without_paths(label_runs.run_on_store(runtime, body.adjudicate)))


@router.get("")
def list_runs(runtime: RuntimeDep) -> list[dict[str, Any]]:
    """The stored runs, newest first, with their headline numbers."""
    return without_paths(label_runs.list_runs(runtime.settings))


@router.get("/compare")
def compare(a: RunId, b: RunId, runtime: RuntimeDep) -> dict[str, Any]:
    """What changed from run ``a`` to run ``b`` (health, flags, per-label F1, relabeled calls)."""
    return label_runs.compare(runtime.settings, a, b)


@router.get("/{run_id}", responses=errors(404))
def get_run(run_id: RunPath, runtime: RuntimeDep) -> dict[str, Any]:
    """One run's summary."""
    return without_paths(_summary(runtime, run_id))


@router.get("/{run_id}/{kind}", responses=errors(404))
def get_file(run_id: RunPath, kind: str, runtime: RuntimeDep) -> FileResponse:
    """A run's ``report`` (HTML), ``csv`` / ``xlsx`` issue table or ``summary`` JSON."""
    if kind not in _FILES:
        raise HTTPException(404, detail=f"no {kind!r}; one of: {', '.join(_FILES)}")
    summary = _summary(runtime, run_id)
    name, media = _FILES[kind]
    path = Path(summary.get("out", "")) / name
    if not summary.get("out") or not path.is_file():
        raise HTTPException(404, detail=f"the {kind} of run {run_id} is no longer on disk")
    return FileResponse(path, media_type=media, filename=name)


def _summary(runtime: RuntimeDep, run_id: int) -> dict[str, Any]:
    from app.core.errors import InputError

    try:
        return label_runs.run_summary(runtime.settings, run_id)
    except InputError as exc:
        raise HTTPException(404, detail=str(exc)) from None
