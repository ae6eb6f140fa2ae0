"""``POST /api/ask``: a cited answer from the calls (the evidence itself when no LLM is set), and
``POST /api/ask/stream``: the same as server-sent events while the LLM writes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.api.deps import RuntimeDep
from app.api.routes.search import SearchFilters
from app.core.errors import CallScopeError
from app.core.filters import CallFilter
from app.services import search as service
from app.services.search import Answer, answer_dict

router = APIRouter(prefix="/api", tags=["ask"])
log = logging.getLogger("callscope.api")


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
    filters = (
        body.filters.to_filter(runtime.settings.ingest.metadata_fields) if body.filters else None
    )
    answer = service.ask(runtime, body.question, filters=filters, k=body.k)
    return AskResponse.model_validate(answer_dict(answer))


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def ask_stream(body: AskRequest, runtime: RuntimeDep) -> StreamingResponse:
    """The same answer as server-sent events: ``delta`` events with text as the LLM writes it,
    then one ``answer`` event (the /api/ask body), or an ``error`` event."""
    filters = (
        body.filters.to_filter(runtime.settings.ingest.metadata_fields) if body.filters else None
    )

    def events() -> Iterator[str]:
        try:
            for item in service.ask_stream(runtime, body.question, filters=filters, k=body.k):
                if isinstance(item, Answer):
                    payload = AskResponse.model_validate(answer_dict(item)).model_dump()
                    yield _event("answer", payload)
                else:
                    yield _event("delta", {"text": item})
        except CallScopeError as exc:
            # Headers are gone once streaming started: the failure travels as an event.
            yield _event("error", {"code": type(exc).__name__, "message": str(exc)})
        except Exception:
            log.exception("ask stream failed")
            yield _event("error", {"code": "internal_error", "message": "internal error"})

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _filters(body: AskRequest, runtime: RuntimeDep) -> CallFilter | None:
    fields = runtime.settings.ingest.metadata_fields
    return body.filters.to_filter(fields) if body.filters else None
