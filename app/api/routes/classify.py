"""Classification over HTTP, on the same path as ``callscope classify`` (kNN vote + light model,
refined by the LLM when one is configured):

- ``POST /api/classify``: one call given as transcript text;
- ``POST /api/classify/batch``: uploaded recordings/transcripts, as a background job whose
  results are a CSV/XLSX/JSONL table (or inside the request with ``wait=true``);
- ``POST /api/calls/{id}/classify``: a call already in the store;
- ``POST /api/batch``: the weekly batch as a job (uploads indexed *and* classified, with the
  run's summary), the same service as ``callscope batch``.

Every classification of a named call is recorded in its history (``GET /api/calls/{id}``)."""

from __future__ import annotations

import uuid
from datetime import date as Date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.api.deps import JobsDep, RuntimeDep, SettingsDep
from app.api.responses import errors
from app.api.routes.jobs import job_accepted
from app.api.uploads import HotwordsField, store_uploads
from app.core.errors import InputError
from app.core.hotwords import parse_hotwords
from app.services.calls import uploads_dir
from app.services.classify import Classification, classify_stored, classify_text
from app.services.classify_uploads import classify_uploads, discard_uploads

router = APIRouter(prefix="/api", tags=["classify"])

#: One call's transcript; long calls are fine (the classifier reads the whole call).
MAX_TRANSCRIPT_CHARS = 200_000


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transcript: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TRANSCRIPT_CHARS),
    ]
    #: Record the result in this call's classification history.
    call_id: str | None = Field(None, min_length=1, max_length=200)


class NeighbourOut(BaseModel):
    call_id: str
    labels: list[str]
    #: Raw similarity: a cosine (0-1) for ``dense``, a BM25 score (no fixed scale) for ``bm25``.
    score: float
    via: str
    #: Its share of the neighbours' vote, 0-1 (one scale for both kinds; they sum to 1).
    weight: float


class CandidateOut(BaseModel):
    label: str
    confidence: float


class ClassifyResponse(BaseModel):
    #: The label, or "unknown" when the confidence is below the learned threshold
    #: (``provenance.unknown_below``); ``candidates`` then says what it was closest to.
    label: str
    #: Calibrated: the probability that ``label`` is right, in [0, 1].
    confidence: float
    labels: list[str]
    #: The best labels with their confidence, best first (also for "unknown").
    candidates: list[CandidateOut]
    scores: dict[str, float]
    #: "knn", "llm" or "abstain": which path decided.
    decided_by: str
    flags: list[str]
    neighbours: list[NeighbourOut]
    provenance: dict[str, Any]


@router.post("/classify")
def classify(body: ClassifyRequest, runtime: RuntimeDep) -> ClassifyResponse:
    """Classify a call transcript (``Agent: ...`` / ``Customer: ...`` lines or plain text)."""
    return _response(classify_text(runtime, body.transcript, call_id=body.call_id, source="api"))


@router.post("/calls/{call_id}/classify", responses=errors(404))
def classify_call(call_id: str, runtime: RuntimeDep) -> ClassifyResponse:
    """Classify a call already in the store (it never votes for itself, by id or content)."""
    try:
        return _response(classify_stored(runtime, call_id, source="api"))
    except InputError as exc:
        raise HTTPException(404, detail={"code": "not_found", "message": str(exc)}) from None


@router.post(
    "/classify/batch",
    status_code=202,
    responses={200: {"description": "The results (wait=true)"}, **errors(413, 415)},
)
def classify_uploaded_files(
    files: Annotated[list[UploadFile], File(description="Recordings or .txt/.json transcripts.")],
    runtime: RuntimeDep,
    settings: SettingsDep,
    jobs: JobsDep,
    wait: Annotated[
        bool, Query(description="Classify inside the request (a few files) and answer the rows.")
    ] = False,
) -> Any:
    """Classify uploaded calls in a background job (results at /api/jobs/{id}/results)."""
    state = runtime.settings.paths.state_dir
    # One folder per request: two batches of the same file never share (or delete) an input.
    folder = state / "classify-uploads" / uuid.uuid4().hex[:16]
    stored = store_uploads(files, state, folder, settings.api.max_upload_mb)
    params = {"files": [{"name": name, "path": str(path)} for name, path in stored]}
    if not wait:
        return job_accepted(jobs.submit("classify", params))
    try:
        return JSONResponse(classify_uploads(runtime, stored, source="api"))
    finally:
        discard_uploads(stored)


@router.post("/batch", status_code=202, responses=errors(413, 415))
def batch(
    files: Annotated[list[UploadFile], File(description="Recordings or .txt/.json transcripts.")],
    runtime: RuntimeDep,
    settings: SettingsDep,
    jobs: JobsDep,
    date: Annotated[Date | None, Form(description="Call date for every file.")] = None,
    hotwords: HotwordsField = None,
) -> Any:
    """The weekly batch as a job (what ``callscope batch`` does): every call transcribed,
    indexed with its date and classified; the run's summary is the job's result (per-label
    counts, unknown, low-confidence, failed with reasons, audio hours, pace) and the table is at
    /api/jobs/{id}/results. An interrupted job resumes where it stopped."""
    words = parse_hotwords(hotwords)  # refused before anything is stored
    stored = store_uploads(
        files,
        runtime.settings.paths.state_dir,
        uploads_dir(runtime),
        settings.api.max_upload_mb,
    )
    params = {
        "files": [{"name": name, "path": str(path)} for name, path in stored],
        "date": date.isoformat() if date else None,
        "hotwords": list(words),
    }
    return job_accepted(jobs.submit("batch", params))


def _response(c: Classification) -> ClassifyResponse:
    return ClassifyResponse(
        label=c.label,
        confidence=c.confidence,
        labels=c.labels,
        candidates=[CandidateOut(label=lab, confidence=conf) for lab, conf in c.candidates],
        scores=c.scores,
        decided_by=c.decided_by,
        flags=c.flags,
        neighbours=[
            NeighbourOut(
                call_id=n.call_id, labels=n.labels, score=n.score, via=n.via, weight=n.weight
            )
            for n in c.neighbours
        ],
        provenance=c.provenance,
    )
