"""API-key auth for the HTTP API: one ``X-API-Key`` header, compared in constant time.

The API serves call transcripts, so it fails closed: without configured keys every protected
route answers 503 unless ``API__DEV_MODE=true`` says the open door is on purpose.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from app.config import ApiSettings

# auto_error=False: we answer missing keys ourselves, in our error shape and with 401, and the
# scheme still shows up in the OpenAPI docs (the "Authorize" button at /docs).
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def key_matches(given: str, keys: list[str]) -> bool:
    """True when ``given`` is one of ``keys``; every key is compared, so timing tells nothing."""
    given_bytes = given.encode()
    results = [secrets.compare_digest(given_bytes, key.encode()) for key in keys]
    return any(results)


def require_api_key(
    request: Request, api_key: Annotated[str | None, Depends(api_key_header)]
) -> None:
    """Dependency of every protected router: pass, or raise 401/503 in the one error shape."""
    settings: ApiSettings = request.app.state.settings.api
    keys = [k.get_secret_value() for k in settings.api_keys if k.get_secret_value()]
    if not keys and settings.dev_mode:
        return  # a configured key always counts, dev mode or not (the UI does the same)
    if not keys:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail={
                "code": "auth_not_configured",
                "message": "no API keys are configured: set API__API_KEYS (for example "
                "API__API_KEYS='[\"a-long-random-key\"]') or, on a trusted machine only, "
                "API__DEV_MODE=true",
            },
        )
    if not api_key or not key_matches(api_key, keys):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail={
                "code": "unauthorized",
                "message": "missing or invalid API key: send it in the X-API-Key header",
            },
        )
