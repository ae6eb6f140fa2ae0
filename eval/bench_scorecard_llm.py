"""Scorecard questions answered by a local LLM (issue 26): agreement with a reviewer's answers
and the cost per call.

16 demo calls (12 English, 4 Chinese, drawn with ``Random(3)``), three questions a QA team
asks that no keyword rule answers well, answered by the LLM through the product's
``score_calls``; the reviewer's answers below were written by reading each call (before the
model ran), entered through ``review_answer`` and compared by the product's ``agreement``.

    python -m eval.bench_scorecard_llm --model qwen2.5-coder-0.5b \
        --json docs/bench_scorecard_llm_05b.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from app.core.config import load_settings
from app.runtime import temporary_runtime
from app.services import calls, scorecard_reviews, scorecards
from app.services.local_llm import start_local_llm
from ingest.labels import load_labeled

DEMO = Path(__file__).resolve().parents[1] / "app" / "demo" / "calls.jsonl"

CARD = """
scorecards:
  - name: qa_llm
    title: LLM questions · 大模型评分题
    sections:
      - title: Conduct 服务规范
        questions:
          - id: named
            text: >-
              Did the agent give their own name at the start of the call?
              坐席开场是否报了自己的名字？
            weight: 30
            ask_llm: true
          - id: apologised
            text: >-
              If the customer reported a problem or complained, did the agent apologise? Answer
              not_applicable when the customer reported no problem.
              客户反映问题或投诉时，坐席是否致歉？客户没有反映问题时答 not_applicable。
            weight: 30
            ask_llm: true
          - id: identified
            text: >-
              Before changing anything on the customer's order or account, did the agent identify
              it (name, order number, phone or account number)? Answer not_applicable when nothing
              was changed.
              坐席在修改订单或账户之前是否先核实了客户（姓名、订单号、手机号或账号）？
              没有修改时答 not_applicable。
            weight: 40
            ask_llm: true
"""

#: The reviewer's answers (read from the calls): named, apologised, identified.
REVIEWER = {
    "demo-040": ("yes", "no", "yes"),
    "demo-084": ("yes", "not_applicable", "no"),
    "demo-094": ("yes", "yes", "yes"),
    "demo-053": ("yes", "not_applicable", "yes"),
    "demo-117": ("yes", "yes", "not_applicable"),
    "demo-024": ("yes", "no", "no"),
    "demo-036": ("yes", "not_applicable", "yes"),
    "demo-080": ("yes", "no", "no"),
    "demo-029": ("yes", "not_applicable", "yes"),
    "demo-060": ("yes", "yes", "not_applicable"),
    "demo-085": ("yes", "not_applicable", "yes"),
    "demo-016": ("yes", "no", "no"),
    "demo-072": ("no", "no", "yes"),
    "demo-091": ("no", "yes", "no"),
    "demo-052": ("no", "yes", "yes"),
    "demo-099": ("no", "not_applicable", "no"),
}
QUESTIONS = ("named", "apologised", "identified")


def measure(base_url: str, model: str, context: int) -> dict[str, Any]:
    settings = load_settings(
        llm={"base_url": base_url, "model": model, "context_window": context, "timeout": 600,
             "concurrency": 1, "max_retries": 1}
    )  # fmt: skip
    sources, _ = load_labeled(DEMO)
    picked = [s for s in sources if s.call_id in REVIEWER]
    with temporary_runtime(settings, prefix="bench-card-llm") as runtime:
        calls.ingest_sources(runtime, picked)
        scorecards.save_scorecards(runtime, CARD, by="bench")
        started = time.perf_counter()
        done = scorecards.score_calls(runtime, "qa_llm")
        seconds = time.perf_counter() - started
        usage = runtime.llm.usage()  # type: ignore[union-attr]
        answers = {}
        for call_id, wanted in REVIEWER.items():
            [(card, result)] = scorecards.call_scores(runtime, call_id)
            data = scorecards.card_dict(card, result)
            got = {a["question"]: a for a in data["answers"]}
            answers[call_id] = {q: {"llm": got[q]["answer"], "reviewer": w, "note": got[q]["note"]}
                                for q, w in zip(QUESTIONS, wanted, strict=True)}  # fmt: skip
            for q, value in zip(QUESTIONS, wanted, strict=True):
                scorecard_reviews.review_answer(runtime, call_id, "qa_llm", q, value, by="reviewer")
        agreement = scorecard_reviews.agreement(runtime, "qa_llm")
    n = max(done["scored"], 1)
    return {
        "model": model,
        "calls": done["scored"],
        "agreement": agreement,
        "seconds_per_call": round(seconds / n, 1),
        "prompt_tokens_per_call": round(usage.prompt_tokens / n),
        "completion_tokens_per_call": round(usage.completion_tokens / n),
        "answers": answers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--base-url", help="An endpoint already serving --model.")
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.base_url:
        result = measure(args.base_url, args.model, args.context)
    else:
        settings = load_settings()
        with tempfile.TemporaryDirectory() as logs, start_local_llm(
            args.model, models_dir=settings.paths.models, log_dir=Path(logs),
            context_window=args.context,
        ) as server:  # fmt: skip
            result = measure(server.base_url, args.model, args.context)
    text = json.dumps(result, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
