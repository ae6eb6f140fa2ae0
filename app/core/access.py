"""Who may use the service: one rule for the API's ``X-API-Key`` header and the UI's login.

- API keys configured: a key is required (a configured key always counts, dev mode or not).
- ``API__DEV_MODE=true`` and no keys: open (a laptop on purpose).
- Neither: closed (fail closed), with a message saying how to configure access.
"""

from __future__ import annotations

import secrets
from typing import Literal

from app.core.config import ApiSettings

Access = Literal["keys", "open", "closed"]


def api_keys(settings: ApiSettings) -> list[str]:
    """The configured keys, empty ones dropped."""
    return [k.get_secret_value() for k in settings.api_keys if k.get_secret_value()]


def access_mode(settings: ApiSettings) -> Access:
    """Keys win over dev mode (a configured key is never ignored); nothing = closed."""
    if api_keys(settings):
        return "keys"
    if settings.dev_mode:
        return "open"
    return "closed"


def key_matches(given: str, keys: list[str]) -> bool:
    """True when ``given`` is one of ``keys``; every key is compared, so timing tells nothing."""
    given_bytes = given.encode()
    results = [secrets.compare_digest(given_bytes, key.encode()) for key in keys]
    return any(results)
