"""``GET /api/search``: hybrid search over call passages, filtered like ``callscope search -f``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.api.deps import RuntimeDep
from app.core.errors import InputError
from app.core.filters import CallFilter
from app.services import search as service

router = APIRouter(prefix="/api", tags=["search"])


class SearchFilters(BaseModel):
    """Payload filters shared by search and ask; several values of one key mean "any of"."""

    model_config = ConfigDict(extra="forbid")

    label: list[str] | None = None
    #: Quality-inspection rules the call matched (``/api/rules``).
    category: list[str] | None = None
    speaker: list[str] | None = None
    call_id: list[str] | None = None
    split: str | None = None
    language: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    #: Call metadata as ``field=value`` (``agent=Li``), fields from ``ingest.metadata_fields``.
    meta: list[Annotated[str, StringConstraints(max_length=200)]] | None = None

    def to_filter(self, metadata_fields: list[str]) -> CallFilter:
        """The filter every entry point speaks (``callscope search -f`` parses into it too)."""
        pairs: dict[str, tuple[str, ...]] = {}
        for item in self.meta or []:
            name, _, value = item.partition("=")
            name = name.strip()
            if name not in metadata_fields or not value.strip():
                raise InputError(
                    f"meta {item!r}: use field=value with a field of "
                    f"{', '.join(metadata_fields) or '(none declared)'} (ingest.metadata_fields)"
                )
            pairs[name] = (*pairs.get(name, ()), value.strip())
        return CallFilter(
            labels=tuple(self.label or ()),
            categories=tuple(self.category or ()),
            call_ids=tuple(self.call_id or ()),
            speakers=tuple(self.speaker or ()),
            split=self.split,
            language=self.language,
            date_from=self.date_from,
            date_to=self.date_to,
            metadata=tuple(pairs.items()),
        )


class SearchQuery(SearchFilters):
    q: str = Field(min_length=1, max_length=2000, description="What to look for.")
    k: int = Field(10, ge=1, le=100)
    mode: Literal["hybrid", "dense", "sparse"] | None = None
    expand: bool = False


class Hit(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    call_id: str
    #: The turn's position in the call (a citation's anchor; expansion counts in turns).
    turn: int
    text: str
    start: float | None
    end: float | None
    speakers: list[str]
    labels: list[str]
    date: str | None
    score: float
    context: dict[int, str] = {}


class DatesOut(BaseModel):
    start: date
    end: date
    #: The words of the query that named the range.
    words: str


class SearchResponse(BaseModel):
    query: str
    #: The days the query named (applied as a filter), when it named any.
    dates: DatesOut | None = None
    #: Nothing is close to the query (the same guard that makes Q&A say "not found").
    weak: bool
    hits: list[Hit]


@router.get("/search")
def search(params: Annotated[SearchQuery, Query()], runtime: RuntimeDep) -> SearchResponse:
    """Search call passages (dense + BM25), best first, with time and speakers."""
    result = service.search(
        runtime,
        params.q,
        filters=params.to_filter(runtime.settings.ingest.metadata_fields),
        k=params.k,
        mode=params.mode,
        expand=params.expand,
    )
    hits = [Hit.model_validate(p, from_attributes=True) for p in result.passages]
    dates = DatesOut(**vars(result.dates)) if result.dates else None
    return SearchResponse(query=params.q, weak=result.weak, hits=hits, dates=dates)
