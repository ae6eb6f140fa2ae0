"""``POST /api/classify``: classify one call given as transcript text (recordings: upload them
as calls first, or use ``callscope classify``). Same path as the CLI: kNN vote + light model,
refined by the LLM when one is configured."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StringConstraints

from app.deps import RuntimeDep

router = APIRouter(prefix="/api", tags=["classify"])

#: One call's transcript; long calls are fine (the classifier reads the whole call).
MAX_TRANSCRIPT_CHARS = 200_000


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transcript: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TRANSCRIPT_CHARS),
    ]


class NeighbourOut(BaseModel):
    call_id: str
    labels: list[str]
    score: float
    via: str


class ClassifyResponse(BaseModel):
    label: str
    confidence: float
    labels: list[str]
    scores: dict[str, float]
    #: "knn", "llm" or "abstain": which path decided.
    decided_by: str
    flags: list[str]
    neighbours: list[NeighbourOut]
    provenance: dict[str, Any]


@router.post("/classify")
def classify(body: ClassifyRequest, runtime: RuntimeDep) -> ClassifyResponse:
    """Classify a call transcript (``Agent: ...`` / ``Customer: ...`` lines or plain text)."""
    from ingest.models import Transcript
    from ingest.pipeline import call_text
    from ingest.sources import parse_text_turns

    text = call_text(Transcript(turns=parse_text_turns(body.transcript)))
    result = runtime.classifier.classify_texts([text])
    refine = runtime.llm_refiner()
    if refine is not None:
        result = refine(result, [text])
    c = result[0]
    return ClassifyResponse(
        label=c.label,
        confidence=c.confidence,
        labels=c.labels,
        scores=c.scores,
        decided_by=c.decided_by,
        flags=c.flags,
        neighbours=[
            NeighbourOut(call_id=n.call_id, labels=n.labels, score=n.score, via=n.via)
            for n in c.neighbours
        ],
        provenance=c.provenance,
    )
