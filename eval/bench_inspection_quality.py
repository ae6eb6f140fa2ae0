"""Rule correctness (issue 26): precision and recall of quality-inspection rules per rule
type, on calls we did not write for the rules.

The calls: the 381 Chinese conversations of ``../shared/data/crosswoz_retrieval_dev`` that hold
a labeled request (客户/客服 as their speakers wrote them), the 100 demo calls given as
text (English and Chinese), and 360 Banking77 customer requests as one-turn calls (6 intents
x 30, 180 of the others): 841 calls, indexed through the product path (``ingest_sources``) and
checked by the product's ``save_rules`` apply. Nothing is copied from ``../shared``.

What is right comes from outside the rules:

* **meaning** conditions, turn by turn, from human labels: CrossWOZ's dialogue acts
  (``crosswoz_requests_zh``: a customer turn whose one act asks for a phone number, an address,
  ...) and Banking77's intents. A turn counts as found when it is in the rule's evidence; the
  labeled turns of other kinds are the negatives. The examples in the rules are our own words,
  not sentences of the sets.
* **keyword, regex, role, window, order, negation, metric and label** conditions, call by call,
  from a plain Python reading of each call written for this benchmark (one function per rule:
  the "plain loop" a team would write without the product), compared with the product's
  matches; every disagreement is printed so a person can say which side is right.

    python -m eval.bench_inspection_quality --json docs/bench_inspection_quality.json
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from app.core.config import load_settings
from app.core.models import CallSource, Transcript, Turn
from app.runtime import temporary_runtime
from app.services import calls, inspection
from eval.retrieval import corpus_calls, read_jsonl
from ingest.labels import load_labeled

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CROSSWOZ = SHARED / "crosswoz_retrieval_dev" / "corpus.jsonl"
REQUESTS = SHARED / "crosswoz_requests_zh" / "requests.csv"
BANKING = SHARED / "banking77" / "train.csv"
DEMO = Path(__file__).resolve().parents[1] / "app" / "demo" / "calls.jsonl"

#: Meaning rules: (name, speaker, our examples, the labels that are right).
MEANING_RULES = [
    ("zh_phone", ["请问他们的电话是多少？", "能告诉我联系电话吗？"],
     {"餐馆-电话", "景点-电话", "酒店-电话"}),
    ("zh_address", ["它的地址在哪里？", "这个地方在什么位置？"],
     {"餐馆-地址", "景点-地址", "酒店-地址"}),
    ("zh_nearby_food", ["附近有什么好吃的餐馆？", "周边有哪些饭店？"],
     {"餐馆-周边餐馆", "景点-周边餐馆", "酒店-周边餐馆"}),
    ("zh_hours", ["这家店几点开门？", "营业时间是什么时候？"],
     {"餐馆-营业时间"}),
    ("zh_ticket", ["门票要多少钱？", "需要买票吗？"],
     {"景点-门票"}),
    ("zh_rating", ["它的评分是多少？", "大家给它打几分？"],
     {"餐馆-评分", "景点-评分", "酒店-评分"}),
    ("en_card_arrival", ["My new card still hasn't come in the post",
                         "When will my card get here?"],
     {"card_arrival"}),
    ("en_lost_card", ["Someone stole my card", "I can't find my card anywhere, I think I lost it"],
     {"lost_or_stolen_card"}),
    ("en_refund", ["I want my money back for this purchase", "Can I get a refund?"],
     {"request_refund"}),
    ("en_exchange_rate", ["What rate do you use to convert currencies?",
                          "How much is the euro worth in pounds today?"], {"exchange_rate"}),
    ("en_pin_blocked", ["My PIN is locked after too many tries", "I blocked my pin"],
     {"pin_blocked"}),
    ("en_cancel_transfer", ["Please stop the payment I just sent", "I need to cancel a transfer"],
     {"cancel_transfer"}),
]  # fmt: skip
BANKING_INTENTS = sorted({label for *_, labels in MEANING_RULES[6:] for label in labels})

AGENT = {"agent", "客服"}
CUSTOMER = {"customer", "客户"}


def _said(call: dict[str, Any], words: list[str], roles: set[str] | None = None,
          turns: slice | None = None) -> bool:  # fmt: skip
    """Whether a turn (of ``roles``, among ``turns``) holds a word: Chinese anywhere, Latin at
    a word start, any case. Written plainly, not with the product's code."""
    chosen = call["turns"][turns] if turns else call["turns"]
    for t in chosen:
        if roles and t["speaker"] not in roles:
            continue
        low = t["text"].lower()
        for w in words:
            if re.search(r"[\u4e00-\u9fff]", w):
                if w in low:
                    return True
            elif re.search(r"(?<!\w)" + re.escape(w.lower()), low):
                return True
    return False


def _first(call: dict[str, Any], words: list[str], roles: set[str] | None = None) -> int | None:
    for i, t in enumerate(call["turns"]):
        if (roles is None or t["speaker"] in roles) and _said({"turns": [t]}, words):
            return i
    return None


def _agent_turns(call: dict[str, Any]) -> list[int]:
    return [i for i, t in enumerate(call["turns"]) if t["speaker"] in AGENT]


#: Rules checked call by call: (name, type, the rule's condition, the plain reading).
PLAIN_RULES: list[tuple[str, str, dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
    ("greeting_any", "keyword any + role",
     {"said": {"speaker": "agent", "any": ["您好", "你好", "hello", "hi"]}},
     lambda c: _said(c, ["您好", "你好", "hello", "hi"], AGENT)),
    ("customer_thanks", "keyword any + role",
     {"said": {"speaker": "customer", "any": ["谢谢", "thank"]}},
     lambda c: _said(c, ["谢谢", "thank"], CUSTOMER)),
    ("hotel_and_price", "keyword all",
     {"said": {"all": ["酒店", "价格"]}},
     lambda c: _said(c, ["酒店"]) and _said(c, ["价格"])),
    ("two_of_food", "keyword at least N",
     {"said": {"at_least": 2, "of": ["餐馆", "推荐菜", "人均", "好吃"]}},
     lambda c: sum(_said(c, [w]) for w in ["餐馆", "推荐菜", "人均", "好吃"]) >= 2),
    ("refund_en", "keyword any (word start)",
     {"said": {"any": ["refund"]}},
     lambda c: _said(c, ["refund"])),
    ("phone_number", "regex",
     {"said": {"regex": r"\d{3,4}-\d{7,8}|1[3-9]\d{9}"}},
     lambda c: any(re.search(r"\d{3,4}-\d{7,8}|1[3-9]\d{9}", t["text"]) for t in c["turns"])),
    ("price_yuan", "regex + role",
     {"said": {"speaker": "agent", "regex": r"\d+\s*(元|块)"}},
     lambda c: any(re.search(r"\d+\s*(元|块)", t["text"]) for t in c["turns"]
                   if t["speaker"] in AGENT)),
    ("opening_greeting", "window: first turns",
     {"said": {"speaker": "agent", "within": {"first_turns": 2}, "any": ["您好", "你好", "hello"]}},
     lambda c: _said(c, ["您好", "你好", "hello"], AGENT, slice(0, 2))),
    ("closing_bye", "window: last turns",
     {"said": {"within": {"last_turns": 2}, "any": ["再见", "拜拜", "bye", "goodbye"]}},
     lambda c: _said(c, ["再见", "拜拜", "bye", "goodbye"], None, slice(-2, None))),
    ("recommend_then_price", "order (before)",
     {"before": [{"said": {"speaker": "agent", "any": ["推荐"]}},
                 {"said": {"speaker": "customer", "any": ["价格", "多少钱"]}}]},
     lambda c: (a := _first(c, ["推荐"], AGENT)) is not None
     and (b := _first(c, ["价格", "多少钱"], CUSTOMER)) is not None and a < b),
    ("no_agent_thanks", "negation",
     {"not": {"said": {"speaker": "agent", "any": ["谢谢", "thank", "感谢"]}}},
     lambda c: not _said(c, ["谢谢", "thank", "感谢"], AGENT)),
    ("hotel_not_price", "all + negation",
     {"all": [{"said": {"any": ["酒店"]}}, {"not": {"said": {"any": ["价格", "元"]}}}]},
     lambda c: _said(c, ["酒店"]) and not _said(c, ["价格", "元"])),
    ("metro_or_taxi", "any",
     {"any": [{"said": {"any": ["地铁"]}}, {"said": {"any": ["出租", "打车"]}}]},
     lambda c: _said(c, ["地铁"]) or _said(c, ["出租", "打车"])),
    ("long_call", "metric",
     {"metric": "turns>=20"},
     lambda c: len(c["turns"]) >= 20),
    ("refund_label", "label",
     {"label": ["refund"]},
     lambda c: "refund" in c["labels"]),
    ("sorry_on_complaint", "label + keyword",
     {"all": [{"label": ["complaint_escalation"]},
              {"said": {"speaker": "agent", "any": ["sorry", "apologi", "抱歉", "对不起"]}}]},
     lambda c: "complaint_escalation" in c["labels"]
     and _said(c, ["sorry", "apologi", "抱歉", "对不起"], AGENT)),
]  # fmt: skip


def read_calls() -> tuple[list[CallSource], dict[str, dict[str, Any]], dict[tuple[str, int], str]]:
    """Sources to index, each call as plain data (for the plain readings), and the human
    label of each labeled turn ((call id, turn) -> label)."""
    with REQUESTS.open(encoding="utf-8") as f:
        requests = list(csv.DictReader(f))
    labeled_dialogues = {r["dialogue"] for r in requests}
    rows = [r for r in read_jsonl(CROSSWOZ, ("id", "text", "call_id"))
            if r["call_id"] in labeled_dialogues]  # fmt: skip
    zh_sources, _ = corpus_calls(rows)
    sources = list(zh_sources)
    demo, _ = load_labeled(DEMO)
    sources += [s for s in demo if s.transcript is not None]  # 20 are recordings: left out
    with BANKING.open(encoding="utf-8") as f:
        banking = list(csv.DictReader(f))
    rand = random.Random(0)
    picked = []
    for intent in BANKING_INTENTS:
        picked += rand.sample([r for r in banking if r["category"] == intent], 30)
    others = [r for r in banking if r["category"] not in BANKING_INTENTS]
    picked += rand.sample(others, 180)
    labels: dict[tuple[str, int], str] = {}
    for n, r in enumerate(picked):
        call_id = f"b77-{n:03d}"
        turns = Transcript([Turn("customer", r["text"])])
        sources.append(CallSource(call_id=call_id, kind="text", origin="b77", transcript=turns))
        labels[(call_id, 0)] = r["category"]
    plain: dict[str, dict[str, Any]] = {}
    for s in sources:
        assert s.transcript is not None
        plain[s.call_id] = {
            "turns": [{"speaker": t.speaker, "text": t.text} for t in s.transcript.turns],
            "labels": list(s.labels or []),
        }
    for r in requests:
        call = plain.get(r["dialogue"])
        if call is None:
            continue
        for i, t in enumerate(call["turns"]):
            if t["speaker"] == "客户" and t["text"].strip() == r["text"].strip():
                labels[(r["dialogue"], i)] = r["label"]
    return sources, plain, labels


def rules_text(threshold: float | None = None) -> str:
    """Every rule; the meaning rules at ``threshold`` (None: the embedder's own)."""
    rules = [{"name": name, "severity": "info", "when": when} for name, _, when, _ in PLAIN_RULES]
    extra = {} if threshold is None else {"min_similarity": threshold}
    rules += [
        {"name": name, "severity": "info",
         "when": {"meaning": {"speaker": "customer", "examples": examples, **extra}}}
        for name, examples, _ in MEANING_RULES
    ]  # fmt: skip
    return yaml.safe_dump({"rules": rules}, allow_unicode=True, sort_keys=False)


def _pr(tp: int, fp: int, fn: int) -> dict[str, Any]:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    return {"tp": tp, "fp": fp, "fn": fn,
            "precision": None if p is None else round(p, 3),
            "recall": None if r is None else round(r, 3)}  # fmt: skip


#: Stricter thresholds tried for the meaning rules (the default: the embedder's own).
SWEEP = (0.32, 0.36, 0.40, 0.45)


def _found(runtime: Any, plain: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        call_id: {r.rule: r for r, _, _ in runtime.rule_book.results(call_id)} for call_id in plain
    }


def _meaning_scores(
    found: dict[str, dict[str, Any]],
    labels: dict[tuple[str, int], str],
    per_rule: dict[str, Any] | None = None,
) -> dict[str, list[int]]:
    """Turn by turn on the labeled turns: (tp, fp, fn) per language of the meaning rules."""
    by_kind: dict[str, list[int]] = {}
    for name, _, right in MEANING_RULES:
        tp = fp = fn = 0
        for (call_id, turn), label in labels.items():
            if name.startswith("zh_") != call_id.isdigit():
                continue  # Chinese rules on the CrossWOZ turns, English ones on Banking77's
            got = any(e.turn == turn for e in found[call_id][name].evidence)
            want = label in right
            tp, fp, fn = tp + (want and got), fp + (got and not want), fn + (want and not got)
        kind = "meaning (zh)" if name.startswith("zh_") else "meaning (en)"
        if per_rule is not None:
            per_rule[name] = {"type": kind, **_pr(tp, fp, fn)}
        agg = by_kind.setdefault(kind, [0, 0, 0])
        agg[0], agg[1], agg[2] = agg[0] + tp, agg[1] + fp, agg[2] + fn
    return by_kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sources, plain, labels = read_calls()
    out: dict[str, Any] = {"calls": len(sources), "labeled_turns": len(labels)}
    with temporary_runtime(load_settings(), prefix="bench-insp-quality") as runtime:
        started = time.perf_counter()
        results = calls.ingest_sources(runtime, sources)
        failed = [r for r in results if r.status == "failed"]
        out["indexed_s"] = round(time.perf_counter() - started, 1)
        out["failed"] = len(failed)
        started = time.perf_counter()
        inspection.save_rules(runtime, rules_text(), by="bench")
        out["applied_s"] = round(time.perf_counter() - started, 1)
        found = _found(runtime, plain)
        # The meaning rules again at stricter thresholds (only they change: only they are
        # applied again): what a supervisor trades by raising min_similarity.
        sweep = {}
        for threshold in SWEEP:
            inspection.save_rules(runtime, rules_text(threshold), by="bench")
            sweep[threshold] = _meaning_scores(_found(runtime, plain), labels)
        out["meaning_thresholds"] = {
            f"{t:.2f}": {kind: _pr(*agg) for kind, agg in by_kind.items()}
            for t, by_kind in sweep.items()
        }
    per_rule: dict[str, Any] = {}
    by_type: dict[str, list[int]] = {}
    disagreements = []
    for name, kind, _, reading in PLAIN_RULES:
        tp = fp = fn = 0
        for call_id, call in plain.items():
            want, got = reading(call), found[call_id][name].matched
            tp, fp, fn = tp + (want and got), fp + (got and not want), fn + (want and not got)
            if want != got:
                disagreements.append({"rule": name, "call": call_id, "plain": want, "product": got})
        per_rule[name] = {"type": kind, **_pr(tp, fp, fn)}
        agg = by_type.setdefault(kind, [0, 0, 0])
        agg[0], agg[1], agg[2] = agg[0] + tp, agg[1] + fp, agg[2] + fn
    meaning = _meaning_scores(found, labels, per_rule)
    by_type.update(meaning)
    out["by_type"] = {kind: _pr(*agg) for kind, agg in by_type.items()}
    out["rules"] = per_rule
    out["disagreements"] = disagreements
    for row in disagreements[:40]:
        call = plain[row["call"]]
        print(
            row, [f"{t['speaker']}: {t['text'][:60]}" for t in call["turns"][:3]], file=sys.stderr
        )
    text = json.dumps(out, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
