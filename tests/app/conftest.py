"""Fixtures of the API tests: a Runtime with three small text calls indexed (real MiniLM, real
Qdrant Edge) and the real app over it. A test module may define its own ``runtime``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.core.config import Settings
from app.core.models import CallSource
from app.runtime import Runtime
from tests.textcalls import text_sources

KEY = "test-key-0123456789"
AUTH = {"X-API-Key": KEY}

CALLS = {
    "c-courier": (
        ["delivery_delay"],
        "2026-10-02",
        [
            ("agent", "Thanks for calling, how can I help?"),
            ("customer", "The courier left my parcel at the wrong house and nobody picks it up."),
            ("agent", "I'm sorry. I will call you back tomorrow before noon with an update."),
        ],
    ),
    "c-refund": (
        ["refund"],
        "2026-10-20",
        [
            ("agent", "Billing department, good morning."),
            ("customer", "I returned the blender three weeks ago and the money never came back."),
            ("agent", "The refund of 89 dollars was issued today, it takes five days."),
        ],
    ),
    "c-password": (
        ["account"],
        "2026-11-01",
        [
            ("customer", "I cannot log in, the app says my password is wrong."),
            ("agent", "I have sent you a reset link by email, it is valid for one hour."),
        ],
    ),
}


def _sources() -> list[CallSource]:
    return text_sources(CALLS)


@pytest.fixture
def runtime(make_settings: Callable[..., Settings], embedder) -> Iterator[Runtime]:
    settings = make_settings(api={"api_keys": [KEY]})
    with Runtime(settings, embedder=embedder) as rt:
        assert {r.status for r in rt.pipeline().run(_sources())} == {"indexed"}
        yield rt


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=runtime)) as c:
        yield c
