"""Label-quality runs over HTTP: start one on the labeled calls in the store, list the stored
runs, fetch a run's summary, its report, its issue table or rows, compare two runs, and accept
a run's suggestion for a call (exactly the change it suggests: add, remove or replace).

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
from app.api.routes.labels import LabelEditOut, http_errors
from app.core.errors import InputError
from app.services import label_runs, labels

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


class IssueOut(BaseModel):
    call_id: str
    row: int
    #: Every given label, primary first.
    given_labels: list[str]
    #: The suggestion: labels to add and to remove (both: a replace), and in words.
    add: list[str]
    remove: list[str]
    change: str
    suggested_label: str
    suggested_labels: list[str]
    score: float
    flagged: bool
    #: Codes (``other_label_confident``, ``unsupported_label``, ``low_self_confidence``,
    #: ``near_duplicate_conflict``, ``outlier``, ``singleton_label``, ``small_label``).
    reasons: list[str]
    conflicts: list[str]
    llm_verdict: str | None = None
    llm_label: str | None = None
    llm_reason: str | None = None


class AcceptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: str = Field(min_length=1, max_length=200)
    #: Create a suggested label no call has yet (otherwise 409 ``new_label``).
    create_labels: bool = False
    #: Say what accepting would change; write nothing.
    dry_run: bool = False


@router.get("/{run_id}/issues", responses=errors(404))
def get_issues(
    run_id: RunPath,
    runtime: RuntimeDep,
    flagged: Annotated[bool, Query(description="Only the flagged rows (the suspects).")] = False,
) -> list[IssueOut]:
    """A run's rows, most suspect first: given labels, the suggested change, score, reasons."""
    try:
        issues = label_runs.run_issues(runtime.settings, run_id)
    except InputError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return [_issue(i) for i in issues if i.flagged or not flagged]


@router.post("/{run_id}/accept", responses=errors(404))
def accept(run_id: RunPath, body: AcceptRequest, runtime: RuntimeDep) -> LabelEditOut:
    """Apply exactly the change the run suggests for a call (409 if its labels changed since)."""
    _summary(runtime, run_id)
    with http_errors():
        edit = labels.accept_suggestion(
            runtime,
            run_id,
            body.call_id,
            create_labels=body.create_labels,
            dry_run=body.dry_run,
            by="api",
        )
    return LabelEditOut(**edit.to_dict())


def _issue(i: label_runs.LabelIssue) -> IssueOut:
    return IssueOut(
        call_id=i.call_id,
        row=i.row,
        given_labels=i.labels,
        add=i.add,
        remove=i.remove,
        change=str(i.change),
        suggested_label=i.suggested_label,
        suggested_labels=i.suggested_labels,
        score=i.score,
        flagged=i.flagged,
        reasons=i.reasons,
        conflicts=i.conflicts,
        llm_verdict=i.llm_verdict,
        llm_label=i.llm_label,
        llm_reason=i.llm_reason,
    )


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
    try:
        return label_runs.run_summary(runtime.settings, run_id)
    except InputError as exc:
        raise HTTPException(404, detail=str(exc)) from None
