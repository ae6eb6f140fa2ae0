"""Schema fuzzing: schemathesis generates requests from the app's own OpenAPI document (with a
valid API key, through the ASGI app in-process, no network) and every answer must be one the
document declares, in the one error shape, and never a 500. Bounded: a few examples per
operation, so it fits ``make test``; ``make stress`` runs many more (``FUZZ_EXAMPLES``).

Schemathesis' Python API drives Hypothesis here directly (one ``@given`` per operation), not its
pytest plugin, which breaks under pytest 9."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, status_code_conformance

from app.api.app import create_app
from app.runtime import Runtime
from tests.app.conftest import AUTH

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))


# In `make stress`, not `make test`: every operation fuzzed: ~40 s at 10 examples each.
@pytest.mark.stress
def test_no_request_from_the_schema_gets_a_500(runtime: Runtime) -> None:
    app_settings = runtime.settings.with_changes(api={"ui": False, "max_auth_failures": 10_000})
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(app_settings, runtime=runtime)
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # every route of the API is in the document
    failures: dict[str, str] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(headers=AUTH)
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body

        try:
            fuzz()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then fail
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
