"""``GET /api/llm/trust``: where the LLM may decide classifications, as measured; reading it
never measures."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from app.api.app import create_app
from app.core.config import LLMSettings
from app.runtime import Runtime
from retrieval.classify.trust import BandResult, LLMTrust
from tests.app.conftest import AUTH


def test_the_trust_states_and_the_measured_bands(runtime: Runtime) -> None:
    with TestClient(create_app(runtime=runtime)) as c:
        assert c.get("/api/llm/trust", headers=AUTH).json() == {
            "state": "no_llm", "model": None, "summary": None, "bands": [], "seconds": None,
            "stale": False, "measuring": None,
        }  # fmt: skip
        assert c.get("/api/llm/trust").status_code == 401
        runtime.settings.llm = LLMSettings(base_url="http://127.0.0.1:9/v1", model="small")
        assert c.get("/api/llm/trust", headers=AUTH).json()["state"] == "not_measured"
        bands = (BandResult("low", 8, 2, 7, llm_only=5), BandResult("high", 6, 6, 4, knn_only=2))
        trust = LLMTrust("small", "http://127.0.0.1:9/v1", "f", bands, 12.5)
        path = runtime.settings.paths.state_dir / "llm_trust.json"
        path.write_text(json.dumps(trust.to_dict()))
        body = c.get("/api/llm/trust", headers=AUTH).json()
        assert body["state"] == "measured" and body["seconds"] == 12.5
        assert [(b["band"], b["llm_decides"]) for b in body["bands"]] == [
            ("low", True), ("high", False),
        ]  # fmt: skip
        assert "decides in the low band(s)" in body["summary"]
        runtime.settings.llm = LLMSettings(base_url="http://x/v1", model="small", trust="never")
        assert c.get("/api/llm/trust", headers=AUTH).json()["state"] == "never"
