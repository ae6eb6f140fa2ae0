"""``/api/insights``: what the calls of a period were about and how that moved (label mix per
week, rising and falling labels, unknown and low-confidence shares, per agent/team/queue tables,
metric distributions), counting questions, the calls behind any number, and the XLSX export.
Every number comes with the ``filter`` that reproduces it: post it to ``/api/insights/calls``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.api.deps import RuntimeDep
from app.api.routes.search import SearchFilters
from app.core.filters import metric_bound
from app.services import counting
from app.services.insights import InsightsQuery, insights, insights_dict
from app.services.insights_xlsx import insights_xlsx

router = APIRouter(prefix="/api/insights", tags=["insights"])

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Short = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class InsightsFilters(BaseModel):
    """Which calls: a period, metadata (``agent=Li``), language, split, speaker source and
    metric bounds (``longest_silence>=60``); ``source`` says what a call's label is."""

    model_config = ConfigDict(extra="forbid")

    date_from: date | None = None
    date_to: date | None = None
    #: Call metadata as ``field=value`` (``agent=Li``), fields from ``ingest.metadata_fields``.
    meta: list[Short] | None = None
    language: Short | None = None
    split: Short | None = None
    #: How the speakers were told apart: channels, voices, uncertain, mono, transcript.
    speaker_source: Short | None = None
    #: Bounds on conversation metrics: ``longest_silence>=60``, ``duration<300``.
    metric: list[Short] | None = None
    #: A call's label: its human labels, else its prediction (``both``), or only one of them.
    source: Literal["both", "labels", "predicted"] = "both"

    def scope(self, metadata_fields: list[str]) -> dict[str, Any]:
        """Keyword arguments of the counting services."""
        # The search route's parsing of meta/language/split/dates, so both speak one filter.
        filters = SearchFilters(
            meta=self.meta,
            language=self.language,
            split=self.split,
            date_from=self.date_from,
            date_to=self.date_to,
        ).to_filter(metadata_fields)
        bounds = tuple(metric_bound(m) for m in self.metric or ())
        return {
            "filters": replace(filters, metrics=bounds),
            "speaker_source": self.speaker_source,
            "source": self.source,
        }


class InsightsParams(InsightsFilters):
    #: Below this confidence an answered call counts as low-confidence (default:
    #: ``batch.low_confidence``).
    low_confidence: float | None = Field(None, ge=0, le=1)
    #: How many rising and falling labels.
    top: int = Field(5, ge=1, le=50)


class WorkbookParams(InsightsParams):
    #: The workbook's language (default: from Accept-Language, else en).
    lang: Literal["en", "zh-CN"] | None = None


class CountParams(InsightsFilters):
    #: A counting question ("how many refund calls last week?"): its labels and dates are used.
    q: str | None = Field(None, min_length=1, max_length=2000)
    #: Labels to count (any of them), instead of a question.
    label: list[Short] | None = None


class CountOut(BaseModel):
    """A number of calls and the filter (on call points) that reproduces it."""

    value: int
    filter: dict[str, Any]


class LabelChangeOut(BaseModel):
    label: str
    current: CountOut
    previous: CountOut
    change: int
    #: Calls now and none in the previous period (listed under ``new``, not ``rising``).
    new: bool
    share: float | None
    previous_share: float | None


class WeekOut(BaseModel):
    start: date
    end: date
    calls: CountOut
    labels: dict[str, CountOut]
    unassigned: CountOut
    classified: CountOut
    unknown: CountOut
    low_confidence: CountOut


class GroupRowOut(BaseModel):
    value: str
    calls: CountOut
    labels: dict[str, CountOut]
    classified: CountOut
    unknown: CountOut
    low_confidence: CountOut


class BinOut(BaseModel):
    low: float
    high: float | None
    calls: CountOut


class InsightsOut(BaseModel):
    date_from: date
    date_to: date
    previous_from: date
    previous_to: date
    source: str
    low_confidence_below: float
    scope: dict[str, Any]
    calls: CountOut
    previous_calls: CountOut
    undated: CountOut
    unassigned: CountOut
    classified: CountOut
    unknown: CountOut
    low_confidence: CountOut
    unknown_share: float | None
    low_confidence_share: float | None
    labels: list[LabelChangeOut]
    #: Labels with more calls than in the previous period, where they had some.
    rising: list[LabelChangeOut]
    falling: list[LabelChangeOut]
    #: Labels with calls now and none in the previous period.
    new: list[LabelChangeOut]
    weeks: list[WeekOut]
    groups: dict[str, list[GroupRowOut]]
    #: Calls per bin of each metric: only calls with timings (``timed``) have metrics.
    metrics: dict[str, list[BinOut]]
    speaker_sources: dict[str, CountOut]
    #: Calls of the period with timings (recordings, timed transcripts).
    timed: CountOut
    #: Calls of the period whose date is not their own, by where it came from: ``upload``
    #: (the time they were uploaded).
    dated_by: dict[str, CountOut]
    #: Metadata fields no call of the period has (their ``groups`` are empty): calls get them
    #: from a column of that name in an imported table (``POST /api/imports``).
    missing_metadata: list[str]
    engine_calls: int
    seconds: float


class CountAnswerOut(BaseModel):
    question: str | None
    #: The labels counted (any of them); empty: every call.
    labels: list[str]
    date_from: date | None
    date_to: date | None
    #: The words of the question that named the dates.
    words: str | None
    source: str
    count: CountOut
    per_label: dict[str, CountOut]


class CallsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: A ``filter`` from an Insights or count answer.
    filter: dict[str, Any]
    limit: int = Field(100, ge=1, le=5000)


class CallOut(BaseModel):
    call_id: str
    labels: list[str]
    predicted: str | None
    confidence: float | None
    date: str | None
    duration: float | None
    speakers: list[str]
    opening: str


class CallsOut(BaseModel):
    #: How many calls match (exact), of which ``calls`` lists the first ``limit``.
    count: int
    calls: list[CallOut]


def _report(params: InsightsParams, runtime: RuntimeDep) -> Any:
    query = InsightsQuery(
        **params.scope(runtime.settings.ingest.metadata_fields),
        low_confidence=params.low_confidence,
        top=params.top,
    )
    return insights(runtime, query)


@router.get("")
def get_insights(params: Annotated[InsightsParams, Query()], runtime: RuntimeDep) -> InsightsOut:
    """Label mix per week, rising/falling labels, unknown and low-confidence shares, tables per
    metadata field and metric distributions; every number with the filter behind it."""
    return InsightsOut.model_validate(insights_dict(_report(params, runtime)))


@router.get(
    "/xlsx",
    response_class=Response,
    responses={200: {"content": {_XLSX: {}}, "description": "The Insights workbook"}},
)
def get_insights_xlsx(
    params: Annotated[WorkbookParams, Query()],
    runtime: RuntimeDep,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The same Insights as an XLSX workbook (one sheet per table), in English or Chinese."""
    lang = params.lang
    if lang is None:
        lang = "zh-CN" if (accept_language or "").strip().lower().startswith("zh") else "en"
    report = _report(params, runtime)
    name = f"insights-{report.date_from.isoformat()}-{report.date_to.isoformat()}.xlsx"
    return Response(
        insights_xlsx(report, lang),
        media_type=_XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/count")
def get_count(params: Annotated[CountParams, Query()], runtime: RuntimeDep) -> CountAnswerOut:
    """How many calls: of the labels a question names in the days it names ("how many refund
    calls last week?"), or of the given labels; counted in the store, not from search hits."""
    scope = params.scope(runtime.settings.ingest.metadata_fields)
    if params.q is not None:
        answer = counting.count_question(runtime, params.q, **scope)
    else:
        answer = counting.count_calls(runtime, params.label or [], **scope)
    return CountAnswerOut(
        question=params.q,
        labels=answer.labels,
        date_from=answer.date_from,
        date_to=answer.date_to,
        words=answer.words,
        source=answer.source,
        count=CountOut(**answer.count.to_dict()),
        per_label={k: CountOut(**v.to_dict()) for k, v in answer.per_label.items()},
    )


@router.post("/calls")
def calls_behind(body: CallsQuery, runtime: RuntimeDep) -> CallsOut:
    """The calls behind a number: post the ``filter`` that came with it."""
    found = counting.calls_behind(runtime, body.filter, limit=body.limit)
    calls = []
    for row in found.calls:
        predicted, confidence = found.predictions.get(row.call_id, (None, None))
        calls.append(
            CallOut(
                **vars(row),
                predicted=predicted if isinstance(predicted, str) else None,
                confidence=float(confidence) if isinstance(confidence, int | float) else None,
            )
        )
    return CallsOut(count=found.count, calls=calls)
