"""Faults during a batch: the LLM endpoint dies half way (every call still gets the kNN answer,
flagged), and a second process on the same state dir is refused with a clear error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from app.core.config import Settings
from app.core.models import CallSource, Transcript, Turn
from app.runtime import Runtime
from app.services import calls as calls_service
from app.services.classify import classify_sources
from retrieval.index.embedding import Embedder
from tests.llm_fixtures import fast_llm_settings, llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply

TRAIN = {
    "refund": ["I want my money back for the blender", "Please refund my order"],
    "delivery": ["My parcel has not arrived", "The courier never came"],
}


def _call(call_id: str, text: str, labels: list[str]) -> CallSource:
    return CallSource(
        call_id=call_id,
        kind="text",
        origin=call_id,
        transcript=Transcript([Turn("customer", text)]),
        labels=labels,
    )


def test_the_llm_failing_mid_batch_falls_back_to_knn_and_the_batch_completes(
    make_settings: Callable[..., Settings], embedder: Embedder, llm_server: FakeLLMServer
) -> None:
    settings = make_settings()
    settings = settings.with_changes(llm=fast_llm_settings(llm_server).model_dump())
    answer = {"label": "refund", "secondary_labels": [], "confidence": 0.9, "reason": "money"}
    llm_server.enqueue(Reply.json(answer), Reply.json(answer))
    llm_server.default = Reply.error(500)  # then the endpoint fails for good
    batch = [_call(f"new-{i}", f"I would like a refund for order {i}", []) for i in range(6)]
    with Runtime(settings, embedder=embedder) as rt:
        train = [
            _call(f"{label}-{i}", text, [label])
            for label, texts in TRAIN.items()
            for i, text in enumerate(texts)
        ]
        calls_service.ingest_sources(rt, train)
        results = classify_sources(rt, batch, source="test")
    assert len(results) == 6 and all(r.classification is not None for r in results)
    by = [r.classification.decided_by for r in results]
    assert by.count("llm") == 2 and by.count("knn") == 4
    failed = [r.classification for r in results if r.classification.decided_by == "knn"]
    assert all(any(f.startswith("llm_error") for f in c.flags) for c in failed)
    assert all(c.label == "refund" for c in failed)  # the kNN answer, not nothing


def test_a_second_process_on_the_same_state_dir_gets_a_clear_error(
    make_settings: Callable[..., Settings], embedder: Embedder, tmp_path: Path
) -> None:
    settings = make_settings()
    text = tmp_path / "late.txt"
    text.write_text("Customer: my parcel is late.\nAgent: I will chase it.\n")
    with Runtime(settings, embedder=embedder) as rt:
        calls_service.ingest_sources(rt, [_call("held", "my card was charged twice", [])])
        env = {
            **os.environ,
            "PATHS__STATE_DIR": str(settings.paths.state_dir),
            "PATHS__MODELS_DIR": str(settings.paths.models),
            "HF_HUB_OFFLINE": "1",
        }
        cli = Path(sys.executable).with_name("callscope")
        done = subprocess.run(
            [str(cli), "ingest", str(text)], env=env, capture_output=True, text=True, timeout=300
        )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "already open" in output and "Traceback" not in output
