"""The ``llm_server`` fixture and fast LLM settings for it.

Import explicitly where needed: ``from tests.llm_fixtures import llm_server_fixture  # noqa: F401``
and ask for ``llm_server`` in the test. The function has another name than the fixture so that
the parameter does not shadow the import (ruff F811, which a noqa on the import cannot silence).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.core.config import LLMSettings
from tests.llm_server import FakeLLMServer


@pytest.fixture(name="llm_server")
def llm_server_fixture() -> Iterator[FakeLLMServer]:
    """A fresh scripted OpenAI-compatible server on 127.0.0.1 for one test."""
    with FakeLLMServer() as server:
        yield server


#: The same fixture under its own name, for ``from tests.llm_fixtures import llm_server``.
llm_server = llm_server_fixture


def fast_llm_settings(server: FakeLLMServer, **overrides: Any) -> LLMSettings:
    """LLMSettings pointed at ``server`` with waits and timeouts small enough for tests."""
    values: dict[str, Any] = {
        "base_url": server.base_url,
        "model": server.model,
        "timeout": 2.0,
        "max_retries": 2,
        "backoff_initial": 0.001,
        "backoff_max": 0.01,
        "retry_after_max": 60.0,
        # The scripted server tests the LLM path itself; the trust measurement (which sends
        # requests of its own first) has its tests in tests/app/services/test_llm_trust.py.
        "trust": "always",
    }
    values.update(overrides)
    return LLMSettings(**values)
