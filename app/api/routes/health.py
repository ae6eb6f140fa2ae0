"""Liveness and readiness probes: no API key, so load balancers and compose can use them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import RuntimeDep
from app.core.errors import CallScopeError
from app.services.status import readiness

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up (says nothing about models or the store)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "Not ready; the error says why"}})
def ready(runtime: RuntimeDep) -> JSONResponse:
    """The embedder is loaded, the store opens and the ledger is sound: the API can answer."""
    try:
        found = readiness(runtime)
    except CallScopeError as exc:
        return JSONResponse(
            status_code=503, content={"error": {"code": "not_ready", "message": str(exc)}}
        )
    return JSONResponse(
        {
            "ready": True,
            "embedding_model": found.embedding_model,
            "index": found.index,
            "calls": found.calls,
        }
    )
