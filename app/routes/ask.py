"""``POST /api/ask``: a cited answer from the calls (the evidence itself when no LLM is set)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.deps import RuntimeDep
from app.routes.search import SearchFilters

router = APIRouter(prefix="/api", tags=["ask"])


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ]
    k: int = Field(8, ge=1, le=50, description="Evidence passages to use.")
    filters: SearchFilters | None = None


class Citation(BaseModel):
    n: int
    call_id: str
    start: float | None
    end: float | None
    speakers: list[str]
    text: str


class AskResponse(BaseModel):
    question: str
    answer: str
    #: False when the answer is the retrieved evidence (no LLM configured) or "not found".
    generated: bool
    not_found: bool
    note: str | None
    citations: list[Citation]
    #: Personal data replaced before the prompt left the machine, counted by kind.
    redactions: dict[str, int]


@router.post("/ask")
def ask(body: AskRequest, runtime: RuntimeDep) -> AskResponse:
    """Answer a question from the calls, citing call, time and speaker."""
    from retrieval.qa import answer_dict

    filters = body.filters.spec() if body.filters else None
    answer = runtime.qa(k=body.k, filters=filters or None).ask(body.question)
    return AskResponse.model_validate(answer_dict(answer))
