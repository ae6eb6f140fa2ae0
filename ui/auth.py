"""Who may open the UI: the same rule as the API's ``X-API-Key`` (``app/core/access.py``).

- API keys configured: a login page; the password must be one of the keys (any user name).
- ``API__DEV_MODE=true``: no login (a laptop on purpose).
- Neither: the UI refuses (fail closed) and says how to configure it.
"""

from __future__ import annotations

from collections.abc import Callable

from app.core.access import Access, access_mode, api_keys, key_matches
from app.core.config import ApiSettings

__all__ = ["Access", "access_mode", "api_keys", "login_check"]


def login_check(settings: ApiSettings) -> Callable[[str, str], bool]:
    """Gradio's ``auth`` callable: the password must be one of the API keys."""
    keys = api_keys(settings)

    def check(username: str, password: str) -> bool:
        return bool(keys) and bool(password) and key_matches(password, keys)

    return check
