"""``GET /api/calls/{id}/summary``: a stored call summarized by the LLM (reason, outcome,
promised follow-ups), each point citing turn, time and speaker; the same service as
``callscope summary``.

The first request for a call asks the LLM inside the request (seconds); the answer is cached by
prompt hash, so asking again for an unchanged call is answered from the cache. Without an LLM
the answer is ``status: skipped`` with the reason, not an error."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from app.api.deps import RuntimeDep
from app.api.responses import errors
from app.services.summary import NoSuchCall, summarize_call, summary_dict

router = APIRouter(prefix="/api", tags=["calls"])


class CitedTurn(BaseModel):
    #: The turn's number in the call's transcript, from 1 (``turns[turn - 1]`` of the call).
    turn: int
    start: float | None
    end: float | None
    speaker: str
    text: str


class SummaryPointOut(BaseModel):
    text: str
    citations: list[CitedTurn]
    #: Turn numbers the model cited that name no turn it was shown (not used as evidence).
    invalid_citations: list[str]


class FollowUpOut(SummaryPointOut):
    #: Who promised it and when it is due, as said in the call ("" when not said).
    by: str
    due: str


class SummaryResponse(BaseModel):
    call_id: str
    status: Literal["summarized", "skipped"]
    #: Why there is no summary (no LLM configured, no words in the call); null otherwise.
    skipped_reason: str | None
    model: str | None
    reason: SummaryPointOut | None
    outcome: SummaryPointOut | None
    follow_ups: list[FollowUpOut]
    #: First and last turn left out of the middle of a call too long for the prompt budget.
    omitted_turns: list[int] | None
    #: Turns sent shortened (their middle cut) because each alone was too long.
    shortened_turns: list[int]
    #: A sentence for the reader when part of the call was not sent to the model.
    note: str | None
    #: ``invalid_citations`` (some citations dropped), ``uncited`` (a point kept none).
    flags: list[str]
    #: Answered from the response cache (no request to the LLM).
    cached: bool
    prompt_hash: str | None
    #: Personal data redacted from the prompt before it left, by kind (external endpoints).
    redactions: dict[str, int]


@router.get("/calls/{call_id}/summary", responses=errors(404))
def call_summary(call_id: str, runtime: RuntimeDep) -> SummaryResponse:
    """Summarize a stored call with the LLM: reason, outcome, follow-ups, cited turns."""
    try:
        result = summarize_call(runtime, call_id)
    except NoSuchCall as exc:
        raise HTTPException(404, detail={"code": "not_found", "message": str(exc)}) from None
    return SummaryResponse.model_validate(summary_dict(result))
