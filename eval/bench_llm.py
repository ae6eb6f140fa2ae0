"""A local LLM in classification and Q&A, against no LLM, in one run (issue 25).

    python -m eval.bench_llm --model qwen2.5-coder-0.5b --json docs/bench_llm_05b.json

Starts the bundled model the way ``callscope llm serve`` does (or uses ``--base-url``), indexes
the labeled rows of TRAIN in a temporary store and classifies TEST three ways from one set of
answers: kNN alone; kNN + LLM deciding every call (``LLM__TRUST=always``); and kNN + LLM with
the trust rule (``measure``: the LLM decides only in the kNN-confidence bands where it got more
right on a sample of TRAIN's labeled calls). The LLM is asked about each test call once; the
rule's answers are picked from the two others exactly as the refiner does. Then a few questions
are asked of the same store, and the share of answers that are generated with valid citations,
fall back to the evidence, or are "not found", and their language, are counted.

TRAIN/TEST default to the demo corpus's splits (``app/demo/split_eval.py``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from app.core.config import load_settings
from app.core.models import Columns
from app.core.text import call_text, has_cjk
from app.runtime import temporary_runtime
from app.services import calls
from app.services.llm_trust import llm_trust
from app.services.local_llm import start_local_llm
from app.services.search import ask
from eval.classify import score
from ingest.labels import load_labeled
from retrieval.classify.refine import LLMRefiner

QUESTIONS = (
    "Why did customers ask for a refund?",
    "What did the agent promise about late deliveries?",
    "Which customers asked to speak to a supervisor?",
    "客户的快递为什么延误了？",
    "客户为什么要求退款？",
    "坐席承诺什么时候回电？",
)


def run(base_url: str, model: str, train: Path, test: Path, sample: int, context: int) -> dict:
    settings = load_settings(
        llm={
            "base_url": base_url,
            "model": model,
            "context_window": context,
            "timeout": 600,
            "concurrency": 1,
            "max_retries": 1,
            "trust": "measure",
            "trust_sample": sample,
        }
    )
    train_rows, _ = load_labeled(train, Columns())
    test_rows, _ = load_labeled(test, Columns())
    for row in train_rows:
        row.split = "train"
    out: dict[str, Any] = {"model": model, "n_train": len(train_rows), "n_test": len(test_rows)}
    with temporary_runtime(settings, prefix="bench-llm") as runtime:
        calls.ingest_sources(runtime, train_rows)
        texts = [call_text(r.transcript) for r in test_rows]  # type: ignore[arg-type]
        gold = [r.labels for r in test_rows]
        knn = runtime.classifier.classify_texts(texts)

        started = time.perf_counter()
        trust = llm_trust(runtime, refresh=True)
        assert trust is not None
        trust_usage = runtime.llm.usage()  # type: ignore[union-attr]
        out["trust"] = {**trust.to_dict(), "summary": trust.summary(),
                        "prompt_tokens": trust_usage.prompt_tokens,
                        "completion_tokens": trust_usage.completion_tokens,
                        "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip

        started = time.perf_counter()
        refine = LLMRefiner(runtime.llm, runtime.settings, runtime.labels())  # type: ignore[arg-type]
        helped = refine(knn, texts)
        seconds = time.perf_counter() - started
        usage = runtime.llm.usage()  # type: ignore[union-attr]
        ruled = [
            h if trust.decides(k.confidence)[0] else k for k, h in zip(knn, helped, strict=True)
        ]
        out["classify"] = {
            "knn": score(gold, knn)["accuracy"],
            "knn_llm_always": score(gold, helped)["accuracy"],
            "knn_llm_trust_rule": score(gold, ruled)["accuracy"],
            "llm_decided_always": sum(h.decided_by == "llm" for h in helped),
            "llm_decided_with_rule": sum(r.decided_by == "llm" for r in ruled),
            "seconds_per_call": round(seconds / max(len(texts), 1), 1),
            "prompt_tokens_per_call": round(
                (usage.prompt_tokens - trust_usage.prompt_tokens) / max(len(texts), 1)),
            "completion_tokens_per_call": round(
                (usage.completion_tokens - trust_usage.completion_tokens) / max(len(texts), 1)),
        }  # fmt: skip

        answers = []
        for question in QUESTIONS:
            started = time.perf_counter()
            answer = ask(runtime, question, k=6)
            kind = (
                "not_found" if answer.not_found else "generated" if answer.generated
                else "evidence"
            )  # fmt: skip
            answers.append({
                "question": question, "kind": kind, "note": answer.note,
                "language_match": has_cjk(answer.text) == has_cjk(question),
                "citations": len(answer.citations),
                "seconds": round(time.perf_counter() - started, 1),
                "text": answer.text[:300],
            })  # fmt: skip
        out["ask"] = answers
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--base-url", help="An endpoint already serving --model.")
    parser.add_argument("--train", type=Path)
    parser.add_argument("--test", type=Path)
    parser.add_argument("--trust-sample", type=int, default=40)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-llm-"))
    if args.train is None or args.test is None:
        from app.demo.split_eval import main as split

        split(folder)
        args.train, args.test = folder / "train.jsonl", folder / "test.jsonl"
    if args.base_url:
        result = run(args.base_url, args.model, args.train, args.test, args.trust_sample,
                     args.context)  # fmt: skip
    else:
        settings = load_settings()
        with start_local_llm(args.model, models_dir=settings.paths.models,
                             log_dir=folder, context_window=args.context) as server:  # fmt: skip
            result = run(server.base_url, args.model, args.train, args.test, args.trust_sample,
                         args.context)  # fmt: skip
            result["server"] = {"prompt_tokens_per_s": round(server.prompt_per_s, 1),
                                "output_tokens_per_s": round(server.output_per_s, 1),
                                "started_in_s": round(server.started_in, 1)}  # fmt: skip
    text = json.dumps(result, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
