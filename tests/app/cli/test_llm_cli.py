"""``callscope llm``: the bundled models listed, a wrong name or a missing LLM refused in one
line, and `status` saying where the LLM may decide (the server itself is started in
tests/llm_real, where the model runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def state(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATHS__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(models_dir))


def test_models_lists_the_three_bundled_models_with_their_size() -> None:
    result = runner.invoke(app, ["llm", "models"])
    assert result.exit_code == 0, result.output
    for name, size in (("qwen2.5-coder-0.5b", "491 MB"), ("qwen2.5-coder-1.5b", "1,117 MB"),
                       ("smollm2-135m", "98 MB")):  # fmt: skip
        row = next(line for line in result.output.splitlines() if name in line)
        assert size in row and "Apache-2.0" in row


def test_a_wrong_model_or_no_llm_is_one_line_and_exit_1() -> None:
    result = runner.invoke(app, ["llm", "serve", "gpt-9"])
    assert result.exit_code == 1 and "no bundled LLM named 'gpt-9'" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["llm", "trust"])
    assert result.exit_code == 1 and "no LLM configured" in result.output


def test_status_says_the_trust_is_not_measured_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM__BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LLM__MODEL", "qwen2.5-coder-0.5b")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert "LLM trust: not measured yet" in result.output
