"""``callscope summary`` on a call ingested by ``callscope ingest``: skipped without an LLM, a
table of cited turns with one (the local OpenAI-compatible test server), JSON, unknown ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.services.summary import NO_LLM
from tests.llm_fixtures import llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply

runner = CliRunner()

CALL = """[00:00] Agent: Thanks for calling, how can I help?
[00:06] Customer: My router keeps dropping the connection every evening.
[01:25] Agent: I will send a technician on Friday morning [red]and[/red] call you before.
"""
ANSWER = {
    "reason": {"text": "The router drops the connection every evening.", "turns": [2]},
    "outcome": {"text": "A technician visit was booked.", "turns": [3, 9]},
    "follow_ups": [
        {"text": "Technician visit", "by": "agent", "due": "Friday morning", "turns": [3]}
    ],
}


@pytest.fixture
def ingested(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATHS__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(models_dir))
    monkeypatch.setenv("COLUMNS", "200")
    (tmp_path / "router-1.txt").write_text(CALL)
    result = runner.invoke(app, ["ingest", str(tmp_path / "router-1.txt")])
    assert result.exit_code == 0, result.output


def test_summary_without_llm_is_skipped_and_unknown_calls_fail(ingested: None) -> None:
    result = runner.invoke(app, ["summary", "router-1"])
    assert result.exit_code == 0, result.output
    assert "summary skipped" in result.output and NO_LLM in result.output

    missing = runner.invoke(app, ["summary", "no-such-call"])
    assert missing.exit_code == 1 and "error: no call 'no-such-call'" in missing.output


def test_summary_with_llm_prints_points_and_cited_turns(
    ingested: None, llm_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM__BASE_URL", llm_server.base_url)
    monkeypatch.setenv("LLM__MODEL", llm_server.model)
    monkeypatch.setenv("LLM__TRUST", "always")
    llm_server.enqueue(Reply.json(ANSWER))
    result = runner.invoke(app, ["summary", "router-1"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "The router drops the connection every evening." in out
    assert "Technician visit (agent, Friday morning)" in out
    assert "[T2 00:06 customer]" in out and "[T3 01:25 agent]" in out
    # The cited turn as said, its brackets shown rather than read as rich markup.
    assert "[T3 01:25 agent] I will send a technician on Friday morning [red]and[/red]" in out
    assert "dropped: 9" in out and "flags: invalid_citations" in out
    assert "1 requests (0 cached" in out

    again = runner.invoke(app, ["summary", "router-1", "--json"])
    assert again.exit_code == 0, again.output
    data = json.loads(again.output)
    assert data["cached"] is True and data["reason"]["citations"][0]["start"] == 6.0
    assert len(llm_server.requests) == 1
