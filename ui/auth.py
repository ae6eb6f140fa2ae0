"""Who may open the UI: the same rule as the API's ``X-API-Key`` (``app/security.py``).

- API keys configured: a login page; the password must be one of the keys (any user name).
- ``API__DEV_MODE=true``: no login (a laptop on purpose).
- Neither: the UI refuses (fail closed) and says how to configure it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from app.config import ApiSettings
from app.security import key_matches

Access = Literal["keys", "open", "closed"]


def api_keys(settings: ApiSettings) -> list[str]:
    return [k.get_secret_value() for k in settings.api_keys if k.get_secret_value()]


def access_mode(settings: ApiSettings) -> Access:
    """Keys win over dev mode (a configured key is never ignored); nothing = closed."""
    if api_keys(settings):
        return "keys"
    if settings.dev_mode:
        return "open"
    return "closed"


def login_check(settings: ApiSettings) -> Callable[[str, str], bool]:
    """Gradio's ``auth`` callable: the password must be one of the API keys."""
    keys = api_keys(settings)

    def check(username: str, password: str) -> bool:
        return bool(keys) and bool(password) and key_matches(password, keys)

    return check
