"""``/api/topics``: discover topics among the calls without a label (or classified ``unknown``),
read a stored run or one topic of it, and turn a topic into a label.

Discovery runs inside the request: it reads stored vectors and clusters at most
``max_calls`` calls (seconds), plus one LLM request per topic when an LLM is configured.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import RuntimeDep
from app.api.responses import errors
from app.services import topics
from app.services.topics import TopicOptions

router = APIRouter(prefix="/api/topics", tags=["topics"])

RUN_ID = r"^\d{8}-\d{6}-\d{6}$"
RunQuery = Annotated[
    str | None,
    Query(pattern=RUN_ID, description="A stored run's id (default: the newest)."),
]
TopicPath = Annotated[int, PathParam(ge=1, le=100_000, description="The topic number in the run.")]


class DiscoverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["hdbscan", "agglomerative"] = TopicOptions.method  # type: ignore[assignment]
    #: Fewest calls per topic (default: 1% of the pool, 5 to 20; under 25 calls a fifth, >= 3).
    min_size: int | None = Field(None, ge=2, le=100_000)
    bm25_weight: float = Field(TopicOptions.bm25_weight, ge=0.0, le=1.0)
    #: all: unlabeled or classified unknown; or only one of the two.
    scope: Literal["all", "unlabeled", "unknown"] = "all"
    max_calls: int = Field(topics.MAX_CALLS, ge=2, le=topics.MAX_CALLS)
    #: Name topics with the LLM when one is configured.
    llm: bool = True


class LabelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80, description="The label the calls get.")
    run: str | None = Field(None, pattern=RUN_ID)
    #: Calls of the topic to leave out.
    exclude: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=10_000
    )
    dry_run: bool = False


@contextmanager
def _not_found() -> Iterator[None]:
    try:
        yield
    except topics.NoSuchTopic as exc:
        raise HTTPException(404, detail={"code": "not_found", "message": str(exc)}) from None


@router.post("")
def discover(body: DiscoverRequest, runtime: RuntimeDep) -> dict[str, Any]:
    """Cluster the calls without a label (or classified unknown) and store the run."""
    options = TopicOptions(method=body.method, min_size=body.min_size, bm25_weight=body.bm25_weight)
    return topics.discover(
        runtime, options, scope=body.scope, max_calls=body.max_calls, use_llm=body.llm
    )


@router.get("/runs")
def list_runs(
    runtime: RuntimeDep,
    include_empty: Annotated[
        bool, Query(description="Also the runs that found no topic (left out by default).")
    ] = False,
) -> list[dict[str, Any]]:
    """The stored discovery runs, newest first."""
    return topics.list_runs(runtime.settings, include_empty=include_empty)


@router.get("", responses=errors(404))
def get_run(runtime: RuntimeDep, run: RunQuery = None) -> dict[str, Any]:
    """A stored run with all its topics (the newest without ``run``)."""
    with _not_found():
        return topics.load_run(runtime.settings, run)


@router.get("/{topic}", responses=errors(404))
def show(topic: TopicPath, runtime: RuntimeDep, run: RunQuery = None) -> dict[str, Any]:
    """One topic: its terms, name and calls (closest to the centroid first), labels now."""
    with _not_found():
        return topics.show(runtime, topic, run)


@router.post("/{topic}/label", responses=errors(404))
def label(topic: TopicPath, body: LabelRequest, runtime: RuntimeDep) -> dict[str, Any]:
    """Give the topic's calls a new label (labeled examples from now on; history kept)."""
    with _not_found():
        return topics.label_topic(
            runtime,
            topic,
            body.name,
            run_id=body.run,
            exclude=body.exclude,
            dry_run=body.dry_run,
            by="api",
        )
