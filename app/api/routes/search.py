"""``GET /api/search``: hybrid search over call passages, filtered like ``callscope search -f``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import RuntimeDep
from app.services import search as service
from retrieval.index.filters import CallFilter

router = APIRouter(prefix="/api", tags=["search"])


class SearchFilters(BaseModel):
    """Payload filters shared by search and ask; several values of one key mean "any of"."""

    model_config = ConfigDict(extra="forbid")

    label: list[str] | None = None
    speaker: list[str] | None = None
    call_id: list[str] | None = None
    split: str | None = None
    language: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def to_filter(self) -> CallFilter:
        """The filter every entry point speaks (``callscope search -f`` parses into it too)."""
        return CallFilter(
            labels=tuple(self.label or ()),
            call_ids=tuple(self.call_id or ()),
            speakers=tuple(self.speaker or ()),
            split=self.split,
            language=self.language,
            date_from=self.date_from,
            date_to=self.date_to,
        )


class SearchQuery(SearchFilters):
    q: str = Field(min_length=1, max_length=2000, description="What to look for.")
    k: int = Field(10, ge=1, le=100)
    mode: Literal["hybrid", "dense", "sparse"] | None = None
    expand: bool = False


class Hit(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    call_id: str
    chunk_index: int
    text: str
    start: float | None
    end: float | None
    speakers: list[str]
    labels: list[str]
    date: str | None
    score: float
    context: dict[int, str] = {}


class SearchResponse(BaseModel):
    query: str
    #: Nothing is close to the query (the same guard that makes Q&A say "not found").
    weak: bool
    hits: list[Hit]


@router.get("/search")
def search(params: Annotated[SearchQuery, Query()], runtime: RuntimeDep) -> SearchResponse:
    """Search call passages (dense + BM25), best first, with time and speakers."""
    result = service.search(
        runtime,
        params.q,
        filters=params.to_filter(),
        k=params.k,
        mode=params.mode,
        expand=params.expand,
    )
    hits = [Hit.model_validate(p, from_attributes=True) for p in result.passages]
    return SearchResponse(query=params.q, weak=result.weak, hits=hits)
