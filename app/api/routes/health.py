"""Liveness and readiness probes: no API key, so load balancers and compose can use them."""

from __future__ import annotations

import threading

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import RuntimeDep
from app.core.errors import CallScopeError
from app.runtime import Runtime

router = APIRouter(tags=["health"])

# Runtime's cached properties have no lock; two first requests must not open the store twice.
_warm_lock = threading.Lock()


def warm_up(runtime: Runtime) -> None:
    """Load the embedding model and open both collections (raises CallScopeError if not)."""
    with _warm_lock:
        runtime.embedder.embed(["warm-up"], query=True)
        runtime.store  # noqa: B018 - opening is the point
        runtime.calls  # noqa: B018


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up (says nothing about models or the store)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "Not ready; the error says why"}})
def ready(runtime: RuntimeDep) -> JSONResponse:
    """The embedder is loaded, the store opens and the ledger is sound: the API can answer."""
    try:
        warm_up(runtime)
        calls = runtime.calls.count()
        runtime.ledger  # noqa: B018 - opening checks it: a damaged ledger is not ready
    except CallScopeError as exc:
        return JSONResponse(
            status_code=503, content={"error": {"code": "not_ready", "message": str(exc)}}
        )
    return JSONResponse(
        {
            "ready": True,
            "embedding_model": runtime.embedder.model_id,
            "collection": runtime.settings.qdrant.collection,
            "calls": calls,
        }
    )
