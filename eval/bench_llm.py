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

TRAIN/TEST default to the demo corpus's splits (``app/demo/split_eval.py``). ``--set`` names
one of the shared development sets instead (``../shared/data``, never copied into the project):

* ``banking77``: the seeded stratified 80/20 split of docs/benchmarks.md, 10 train rows per
  intent (``sample_shots`` seed 0) and ``--n-test`` dev rows drawn with ``Random(0)``;
* ``crosswoz``: the 250/250 split (``Random(0)`` shuffle) labeled by the first reason, the
  first ``--n-test`` test calls.

``--qa locomo|crosswoz`` asks ``--n-questions`` questions of that retrieval set instead of the
six demo ones and scores the answers' citations (``cited_sentences``: share of answer sentences
carrying a marker that resolves to a listed citation; ``supported_sentences``: of those, the
share whose cited turns share content with the sentence: a fifth of its word (English) or
character-pair (Chinese) tokens; ``evidence_cited``: answers citing a gold evidence turn).
``--summaries N`` summarizes N stored calls of the classification set and counts the points
whose citations survived the check against the turns shown.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from app.core.config import load_settings
from app.core.filters import CallFilter
from app.core.models import CallSource, Columns
from app.core.text import call_text, has_cjk
from app.runtime import temporary_runtime
from app.services import calls
from app.services.llm_trust import llm_trust
from app.services.local_llm import start_local_llm
from app.services.search import ask
from app.services.summary import summarize_call
from eval.classify import sample_shots, score
from eval.retrieval import corpus_calls, read_jsonl
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


SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
QA_SETS = {
    "locomo": (SHARED / "locomo_dev" / "corpus.jsonl", SHARED / "locomo_dev" / "queries.jsonl"),
    "crosswoz": (
        SHARED / "crosswoz_retrieval_dev" / "corpus.jsonl",
        SHARED / "crosswoz_retrieval_dev" / "queries_within.jsonl",
    ),
}


def llm_settings(base_url: str, model: str, sample: int, context: int) -> Any:
    return load_settings(
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


def run(base_url: str, model: str, train: Path, test: Path, sample: int, context: int,
        questions: bool = True, summaries: int = 0) -> dict:  # fmt: skip
    settings = llm_settings(base_url, model, sample, context)
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
            "llm_errors": sum("llm_error" in (h.flags or []) for h in helped),
            "seconds_per_call": round(seconds / max(len(texts), 1), 1),
            "prompt_tokens_per_call": round(
                (usage.prompt_tokens - trust_usage.prompt_tokens) / max(len(texts), 1)),
            "completion_tokens_per_call": round(
                (usage.completion_tokens - trust_usage.completion_tokens) / max(len(texts), 1)),
        }  # fmt: skip
        if questions:
            out["ask"] = [_asked(runtime, q) for q in QUESTIONS]
            for row in out["ask"]:
                row.pop("_answer", None)
        if summaries:
            ids = [r.call_id for r in train_rows][:summaries]
            out["summaries"] = summary_validity(runtime, ids)
    return out


def _asked(runtime: Any, question: str, filters: CallFilter | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    answer = ask(runtime, question, k=6, filters=filters)
    kind = "not_found" if answer.not_found else "generated" if answer.generated else "evidence"
    return {
        "question": question, "kind": kind, "note": answer.note,
        "language_match": has_cjk(answer.text) == has_cjk(question),
        "citations": len(answer.citations),
        "seconds": round(time.perf_counter() - started, 1),
        "text": answer.text[:300],
        **({"sentences": cited_sentences(answer)} if answer.generated else {}),
        "_answer": answer,
    }  # fmt: skip


_MARKER = re.compile(r"\[(\d{1,3})\]")
_SENTENCE = re.compile(r"(?<=[.!?。！？；;\n])")


def _tokens(text: str) -> set[str]:
    """Content tokens: character pairs of Chinese text, words of 4+ letters otherwise."""
    text = _MARKER.sub(" ", text.lower())
    if has_cjk(text):
        chars = [c for c in text if "\u4e00" <= c <= "\u9fff" or c.isalnum()]
        return {a + b for a, b in zip(chars, chars[1:], strict=False)}
    return {w for w in re.findall(r"[a-z0-9]+", text) if len(w) >= 4}


def cited_sentences(answer: Any) -> dict[str, int]:
    """Sentences of a generated answer: how many, how many carry a marker that resolves to a
    listed citation, and of those how many share content with the turns they cite."""
    by_n = {c.n: c.passage for c in answer.citations}
    sentences = [s for s in _SENTENCE.split(answer.text) if len(_tokens(s)) >= 2]
    cited = supported = 0
    for sentence in sentences:
        numbers = [int(n) for n in _MARKER.findall(sentence) if int(n) in by_n]
        if not numbers:
            continue
        cited += 1
        said = _tokens(sentence)
        held = set().union(*(_tokens(by_n[n].text) for n in numbers))
        supported += len(said & held) >= max(1, len(said) / 5)
    return {"sentences": len(sentences), "cited": cited, "supported": supported}


def qa_validity(base_url: str, model: str, qa: str, n: int, context: int) -> dict[str, Any]:
    """Ask ``n`` questions of a retrieval set (seeded sample) and score the answers."""
    corpus, queries = QA_SETS[qa]
    rows = read_jsonl(corpus, ("id", "text", "call_id"))
    asked = read_jsonl(queries, ("question", "evidence"))
    picked = random.Random(0).sample(asked, min(n, len(asked)))
    sources, ids_by_call = corpus_calls(rows)
    settings = llm_settings(base_url, model, 40, context)
    answers = []
    with temporary_runtime(settings, prefix="bench-llm-qa") as runtime:
        calls.ingest_sources(runtime, sources)
        for q in picked:
            filters = CallFilter(call_ids=(q["call_id"],)) if q.get("call_id") else None
            row = _asked(runtime, q["question"], filters)
            answer = row.pop("_answer")
            gold = set(map(str, q["evidence"]))
            cited = {ids_by_call[c.passage.call_id][c.passage.turn] for c in answer.citations}
            row["evidence_cited"] = bool(gold & cited)
            answers.append(row)
    return {"set": qa, "n": len(answers), **_tally(answers), "answers": answers}


def _tally(answers: list[dict[str, Any]]) -> dict[str, Any]:
    kinds = [a["kind"] for a in answers]
    sentences = [a["sentences"] for a in answers if "sentences" in a]
    total = sum(s["sentences"] for s in sentences)
    cited = sum(s["cited"] for s in sentences)
    return {
        "generated": kinds.count("generated"),
        "evidence": kinds.count("evidence"),
        "not_found": kinds.count("not_found"),
        "language_match": round(sum(a["language_match"] for a in answers) / len(answers), 3),
        "evidence_cited": round(sum(a.get("evidence_cited", 0) for a in answers) / len(answers), 3),
        "cited_sentences": round(cited / total, 3) if total else None,
        "supported_sentences": round(
            sum(s["supported"] for s in sentences) / cited, 3) if cited else None,
        "seconds_per_question": round(sum(a["seconds"] for a in answers) / len(answers), 1),
        "notes": sorted({a["note"] for a in answers if a["note"]}),
    }  # fmt: skip


def summary_validity(runtime: Any, call_ids: list[str]) -> dict[str, Any]:
    """Summaries of ``call_ids``: points with a kept citation, flags, seconds per call."""
    points = kept = dropped = 0
    flags: dict[str, int] = {}
    failed = 0
    started = time.perf_counter()
    examples = []
    for call_id in call_ids:
        try:
            result = summarize_call(runtime, call_id)
        except Exception as exc:  # noqa: BLE001 - a failed summary is a measured outcome
            failed += 1
            examples.append({"call_id": call_id, "error": str(exc)[:200]})
            continue
        summary = result.summary
        if summary is None:
            continue
        for point in summary.points:
            points += 1
            kept += bool(point.citations)
            dropped += len(point.invalid)
        for flag in summary.flags:
            flags[flag] = flags.get(flag, 0) + 1
        if len(examples) < 3:
            examples.append({"call_id": call_id, "reason": summary.reason.text,
                             "outcome": summary.outcome.text})  # fmt: skip
    n = len(call_ids)
    return {
        "calls": n, "failed": failed, "points": points,
        "points_with_valid_citation": round(kept / points, 3) if points else None,
        "invalid_citations_dropped": dropped,
        "flags": flags, "seconds_per_call": round((time.perf_counter() - started) / n, 1),
        "examples": examples,
    }  # fmt: skip


def prepare_set(name: str, n_test: int, folder: Path) -> tuple[Path, Path]:
    """TRAIN/TEST csv files (id, text, label) of a shared development set."""
    from eval.tune_calls import CROSSWOZ, load_banking

    if name == "banking77":
        train_calls, dev_calls = load_banking()
        train = [(c.id, " ".join(t.text for t in c.turns), c.labels[0]) for c in train_calls]
        shots = sample_shots(
            [CallSource(call_id=i, kind="text", origin="b77", labels=[lab]) for i, _, lab in train],
            10,
            0,
        )
        keep = {s.call_id for s in shots}
        train = [r for r in train if r[0] in keep]
        dev = [(c.id, " ".join(t.text for t in c.turns), c.labels[0]) for c in dev_calls]
        test = random.Random(0).sample(dev, n_test)
    elif name == "crosswoz":
        with CROSSWOZ.open(encoding="utf-8") as f:
            rows = [(r["id"], r["text"], r["first"]) for r in csv.DictReader(f)]
        random.Random(0).shuffle(rows)
        train, test = rows[:250], rows[250:][:n_test]
    else:
        raise SystemExit(f"unknown set {name!r}")
    paths = folder / f"{name}-train.csv", folder / f"{name}-test.csv"
    for path, table in zip(paths, (train, test), strict=True):
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(("id", "text", "label"))
            writer.writerows(table)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--base-url", help="An endpoint already serving --model.")
    parser.add_argument("--train", type=Path)
    parser.add_argument("--test", type=Path)
    parser.add_argument("--set", choices=("demo", "banking77", "crosswoz"), default="demo")
    parser.add_argument("--n-test", type=int, default=200)
    parser.add_argument("--qa", choices=sorted(QA_SETS), help="Score answers on this set only.")
    parser.add_argument("--n-questions", type=int, default=20)
    parser.add_argument("--summaries", type=int, default=0)
    parser.add_argument("--trust-sample", type=int, default=40)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-llm-"))
    if args.set != "demo":
        args.train, args.test = prepare_set(args.set, args.n_test, folder)
    elif args.train is None or args.test is None:
        from app.demo.split_eval import main as split

        split(folder)
        args.train, args.test = folder / "train.jsonl", folder / "test.jsonl"

    def measure(base_url: str) -> dict[str, Any]:
        if args.qa:
            return qa_validity(base_url, args.model, args.qa, args.n_questions, args.context)
        return run(base_url, args.model, args.train, args.test, args.trust_sample, args.context,
                   questions=args.set == "demo", summaries=args.summaries)  # fmt: skip

    if args.base_url:
        result = measure(args.base_url)
    else:
        settings = load_settings()
        with start_local_llm(args.model, models_dir=settings.paths.models,
                             log_dir=folder, context_window=args.context) as server:  # fmt: skip
            result = measure(server.base_url)
            result["server"] = {"prompt_tokens_per_s": round(server.prompt_per_s, 1),
                                "output_tokens_per_s": round(server.output_per_s, 1),
                                "started_in_s": round(server.started_in, 1)}  # fmt: skip
    for row in result.get("ask", []):
        row.pop("_answer", None)
    text = json.dumps(result, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
