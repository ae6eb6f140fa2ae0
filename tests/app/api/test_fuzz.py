"""Schema fuzzing: schemathesis generates requests from the app's own OpenAPI document (with a
valid API key, through the ASGI app in-process, no network) and every answer must be one the
document declares, in the one error shape, and never a 500. Bounded: a few examples per
operation, so it fits ``make test``; ``make stress`` runs many more (``FUZZ_EXAMPLES``)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, status_code_conformance

from app.api.app import create_app
from app.runtime import Runtime
from tests.app.conftest import AUTH

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))


@pytest.fixture
def api_schema(runtime: Runtime):  # noqa: ANN201 - schemathesis' schema object
    settings_ = runtime.settings.with_changes(api={"ui": False, "max_auth_failures": 10_000})
    app = create_app(settings_, runtime=runtime)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_from_the_schema_gets_a_500(case: schemathesis.Case) -> None:
    response = case.call(headers=AUTH)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
