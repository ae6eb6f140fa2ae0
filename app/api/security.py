"""API-key auth for the HTTP API: one ``X-API-Key`` header, compared in constant time.

The API serves call transcripts, so it fails closed: without configured keys every protected
route answers 503 unless ``API__DEV_MODE=true`` says the open door is on purpose.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from app.core.access import access_mode, api_keys, key_matches
from app.core.config import ApiSettings

# auto_error=False: we answer missing keys ourselves, in our error shape and with 401, and the
# scheme still shows up in the OpenAPI docs (the "Authorize" button at /docs).
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def require_api_key(
    request: Request, api_key: Annotated[str | None, Depends(api_key_header)]
) -> None:
    """Dependency of every protected router: pass, or raise 401/503 in the one error shape."""
    settings: ApiSettings = request.app.state.settings.api
    mode = access_mode(settings)
    if mode == "open":
        return  # dev mode without keys; a configured key always counts (app.core.access)
    if mode == "closed":
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail={
                "code": "auth_not_configured",
                "message": "no API keys are configured: set API__API_KEYS (for example "
                "API__API_KEYS='[\"a-long-random-key\"]') or, on a trusted machine only, "
                "API__DEV_MODE=true",
            },
        )
    if not api_key or not key_matches(api_key, api_keys(settings)):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail={
                "code": "unauthorized",
                "message": "missing or invalid API key: send it in the X-API-Key header",
            },
        )
