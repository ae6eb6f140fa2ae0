"""``GET /api/llm/trust``: where the configured LLM may decide classifications, as measured on
the labeled calls (``callscope llm trust`` and the Status tab show the same), and how far a
measurement running in the background has got. Reading it never measures: the server's first
classification with an LLM starts that in the background, or ``callscope llm trust`` does it."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from app.api.deps import RuntimeDep
from app.services.llm_trust import trust_state

router = APIRouter(prefix="/api/llm", tags=["llm"])


class BandOut(BaseModel):
    #: kNN confidence band: low (under 0.5), mid (0.5-0.8), high (0.8 and over).
    band: str
    calls: int
    knn_right: int
    llm_right: int
    #: Calls only the LLM got right, and only kNN: the LLM decides where it wins these by a
    #: margin a sign test says is not luck (p < 0.05).
    llm_only: int = 0
    knn_only: int = 0
    #: Whether the LLM decides calls in this band.
    llm_decides: bool


class MeasuringOut(BaseModel):
    #: Labeled calls the LLM has been asked about so far, of ``total``.
    done: int
    total: int
    #: Unix time it started.
    started: float
    #: Why it failed (it is tried again at the next classification); None while it runs.
    error: str | None = None


class TrustOut(BaseModel):
    #: ``measured``; ``not_measured`` (yet, or for another model); ``always``/``never`` when
    #: LLM__TRUST says so; ``no_llm`` without an LLM.
    state: Literal["measured", "not_measured", "always", "never", "no_llm"]
    model: str | None = None
    summary: str | None = None
    bands: list[BandOut] = []
    seconds: float | None = None
    #: The measurement was made before the labeled calls last changed.
    stale: bool = False
    #: A measurement running (or failed) in the background.
    measuring: MeasuringOut | None = None


@router.get("/trust")
def llm_trust(runtime: RuntimeDep) -> TrustOut:
    """Where the LLM may decide classifications, as last measured."""
    s = runtime.settings.llm
    if not s.enabled:
        return TrustOut(state="no_llm")
    if s.trust != "measure":
        return TrustOut(state=s.trust, model=s.model)
    state = trust_state(runtime)
    running = state.measuring
    measuring = (
        MeasuringOut(done=running.done, total=running.total, started=running.started,
                     error=running.error)
        if running is not None else None
    )  # fmt: skip
    found = state.measured
    if found is None:
        return TrustOut(state="not_measured", model=s.model, measuring=measuring)
    bands = [
        BandOut(band=b.band, calls=b.calls, knn_right=b.knn_right, llm_right=b.llm_right,
                llm_only=b.llm_only, knn_only=b.knn_only, llm_decides=b.trusted)
        for b in found.bands
    ]  # fmt: skip
    return TrustOut(
        state="measured", model=found.model, summary=found.summary(), bands=bands,
        seconds=found.seconds, stale=state.stale, measuring=measuring,
    )  # fmt: skip
