"""The Status tab and `status` say where the LLM may decide classifications, as measured, in
the page's language; before a measurement they say when it will happen."""

from __future__ import annotations

import json

from fastapi import FastAPI

from app.runtime import Runtime
from app.services.status import status
from retrieval.classify.trust import BandResult, LLMTrust
from ui.context import UIContext
from ui.status import trust_text


def test_the_measured_trust_is_said_in_english_and_chinese(make_settings, embedder) -> None:
    settings = make_settings(llm={"base_url": "http://127.0.0.1:9/v1", "model": "qwen-small"})
    with Runtime(settings, embedder=embedder) as runtime:
        app = FastAPI()
        app.state.runtime = runtime
        ctx = UIContext(app, settings)
        assert "Not yet measured" in trust_text(ctx, "en")
        assert "尚未" in trust_text(ctx, "zh-CN") and status(runtime).llm_trust is None

        bands = (
            BandResult("low", 10, 3, 9, llm_only=6),
            BandResult("mid", 10, 7, 7),
            BandResult("high", 20, 19, 15),
        )
        trust = LLMTrust("qwen-small", "http://127.0.0.1:9/v1", "f", bands, 95.0)
        (settings.paths.state_dir / "llm_trust.json").write_text(json.dumps(trust.to_dict()))
        en, zh = trust_text(ctx, "en"), trust_text(ctx, "zh-CN")
        assert "40 labeled calls" in en and "right on 29" in en and "kNN + LLM on 31" in en
        assert "the LLM decides only when kNN's confidence is low" in en
        assert "40 个已标注通话" in zh and "大模型只在 kNN 置信度低（低于 0.5）时作决定" in zh
        line = status(runtime).llm_trust
        assert line and "decides in the low band(s)" in line and "with the rule 35/40" in line
