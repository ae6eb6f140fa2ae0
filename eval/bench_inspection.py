"""Rule evaluation throughput (issue 26): ``--rules`` quality-inspection rules applied to every
call of stores of ``--calls`` calls, the product's apply against the plain loop it replaced.

The stores are built from calls we did not write: the 500 Chinese conversations of
``../shared/data/crosswoz_retrieval_dev`` (read at run time, never copied) and the demo's English
calls, indexed once through the product path (embedded by the configured embedder), then
repeated under new call ids with an agent, a team and a date each until a store holds the wanted
number of calls; the repeats carry the stored turn vectors (no embedding), so meaning conditions
read real vectors. The rules: the starter pack and rules of every kind over the calls' subjects
(keywords any/all/at least N with roles and windows, regexes, meaning in both languages,
order, silence, metrics, labels and metadata, negations).

Measured on each store (fresh results each time, same rules):

* ``apply``: ``app.services.inspection.apply_rules`` as the product runs it: pages of 1,000
  calls, each page's ledger rows, checked versions and turn vectors read in one query, every
  keyword condition first searched in the whole call's text, results written in one
  transaction a page, categories in one flush.
* ``plain loop``: one call at a time, as the first version did: its ledger row, the versions
  checked on it, a scroll of its turn vectors, every condition turn by turn, a transaction of
  its results and a payload write of its categories per distinct set (run on the first
  ``--plain`` calls only and scaled, so a 100k store does not take an hour).

    python -m eval.bench_inspection --calls 10000 100000 --json docs/bench_inspection.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from app.core.config import load_settings
from app.runtime import Runtime, temporary_runtime
from app.services import calls, inspection
from app.services.inspection_calls import CallChecker, call_payloads, stored_call_ids
from eval.retrieval import corpus_calls, read_jsonl
from ingest.labels import load_labeled
from retrieval.index.points import StoredPoint, point_id
from retrieval.inspection import evaluate
from retrieval.inspection.rules import parse_rules

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CROSSWOZ = SHARED / "crosswoz_retrieval_dev" / "corpus.jsonl"
DEMO = Path(__file__).resolve().parents[1] / "app" / "demo" / "calls.jsonl"
AGENTS = [f"A{n:03d}" for n in range(60)]
TEAMS = [
    "北京一组",
    "北京二组",
    "上海一组",
    "上海二组",
    "深圳组",
    "成都组",
    "en-team-1",
    "en-team-2",
]


def bench_rules() -> str:
    """The starter pack and 43 rules more, of every condition kind, as one YAML text."""
    kw = [  # (name, speaker, words, mode)
        ("hotel_asked", "customer", ["酒店", "住宿", "hotel"], "any"),
        ("price_asked", "customer", ["价格", "多少钱", "人均", "price", "how much"], "any"),
        ("rating_asked", "customer", ["评分", "几分", "rating"], "any"),
        ("metro_asked", "customer", ["地铁", "地铁站", "subway", "metro"], "any"),
        ("taxi_asked", "customer", ["出租", "打车", "taxi"], "any"),
        ("phone_given", "agent", ["电话", "phone number"], "any"),
        ("address_given", "agent", ["地址", "位于", "address"], "any"),
        ("ticket_asked", "customer", ["门票", "免费", "ticket"], "any"),
        ("wifi_asked", "customer", ["wifi", "无线网", "网络"], "any"),
        ("breakfast_asked", "customer", ["早餐", "breakfast"], "any"),
        ("hotel_and_price", "customer", ["酒店", "价格"], "all"),
        ("two_of_food", "customer", ["菜", "餐馆", "吃", "好吃", "推荐菜"], "at_least"),
        ("refund_words", "customer", ["退款", "退货", "refund", "return"], "any"),
        ("manager_asked", "customer", ["经理", "主管", "supervisor", "manager"], "any"),
        ("thanks_closing", "customer", ["谢谢", "感谢", "thank"], "any"),
    ]
    rules: list[dict[str, Any]] = []
    for name, speaker, words, mode in kw:
        said: dict[str, Any] = {"speaker": speaker}
        if mode == "at_least":
            said["at_least"], said["of"] = 2, words
        else:
            said[mode] = words
        rules.append({"name": name, "severity": "info", "when": {"said": said}})
    windows = [
        ("greet_first_turn", {"said": {"speaker": "agent", "within": {"first_turns": 1},
                                       "any": ["您好", "你好", "hello"]}}),
        ("bye_last_30s", {"said": {"speaker": "any", "within": {"last_seconds": 30},
                                   "any": ["再见", "拜拜", "bye"]}}),
        ("help_last_turns", {"said": {"speaker": "agent", "within": {"last_turns": 2},
                                      "any": ["还有什么", "anything else"]}}),
        ("price_first_20s", {"said": {"speaker": "customer", "within": {"first_seconds": 20},
                                      "any": ["价格", "price"]}}),
    ]  # fmt: skip
    regexes = [
        ("digits_said", r"\d{3,}"),
        ("money_yuan", r"\d+\s*(元|块)"),
        ("star_rating", r"\d(\.\d)?\s*分"),
        ("time_of_day", r"\d{1,2}[:：]\d{2}"),
        ("phone_like", r"1[3-9]\d{9}|\d{3,4}-\d{7,8}"),
        ("en_amount", r"\$\s?\d+|\d+ dollars"),
        ("address_road", r"(路|街|大道)\d*号?"),
        ("question_marks", r"[？?].*[？?]"),
    ]
    for name, pattern in regexes:
        rules.append({"name": name, "severity": "low", "when": {"said": {"regex": pattern}}})
    for name, when in windows:
        rules.append({"name": name, "severity": "low", "when": when})
    meanings = [
        ("asks_recommendation", "customer", ["可以帮我推荐一个酒店吗", "Can you recommend one?"]),
        ("asks_nearby", "customer", ["这个地方周边有什么景点", "What is near there?"]),
        ("agent_apology", "agent", ["对不起，没有找到", "I'm sorry about that"]),
        ("asks_book", "customer", ["帮我预订一下", "I would like to book it"]),
        ("customer_angry", "customer", ["你们的服务太差了", "This is unacceptable"]),
        ("asks_opening_hours", "customer", ["几点开门", "What time do you open?"]),
    ]
    for name, speaker, examples in meanings:
        rules.append({"name": name, "severity": "medium",
                      "when": {"meaning": {"speaker": speaker, "examples": examples}}})  # fmt: skip

    def said(*words: str, speaker: str = "any", **within: int) -> dict[str, Any]:
        body: dict[str, Any] = {"speaker": speaker, "any": list(words)}
        return {"said": {**body, "within": within} if within else body}

    composite = [
        ("recommend_before_price",
         {"before": [said("推荐", "recommend", speaker="agent"),
                     said("价格", "price", speaker="customer")]}),
        ("address_before_phone", {"before": [said("地址", "address"), said("电话", "phone")]}),
        ("hotel_no_price", {"all": [said("酒店", "hotel"), {"not": said("价格", "元", "price")}]}),
        ("team_bj_no_thanks", {"all": [{"metadata": {"team": ["北京一组", "北京二组"]}},
                                       {"not": said("谢谢", "thank", speaker="agent")}]}),
        ("agent_a001_hotel", {"all": [{"metadata": {"agent": ["A001"]}}, said("酒店")]}),
        ("long_call", {"metric": "turns>=20"}),
        ("agent_talks_most", {"metric": "agent_talk_share>=0.7"}),
        ("customer_silence", {"silence": {"waiting": "customer", "min_seconds": 10}}),
        ("labeled_no_greeting",
         {"all": [{"label": ["complaint_escalation", "refund_request"]},
                  {"not": said("您好", "hello", "hi", speaker="agent", first_turns=2)}]}),
        ("no_metro_or_taxi", {"not": {"any": [said("地铁", "metro"), said("出租", "taxi")]}}),
    ]  # fmt: skip
    for name, when in composite:
        rules.append({"name": name, "severity": "high", "when": when})
    starter = yaml.safe_load(inspection.starter_rules())["rules"]
    return yaml.safe_dump({"rules": starter + rules}, allow_unicode=True, sort_keys=False)


def base_sources() -> list[Any]:
    rows = read_jsonl(CROSSWOZ, ("id", "text", "call_id"))
    zh, _ = corpus_calls(rows)
    demo, _ = load_labeled(DEMO)
    return zh + [s for s in demo if not any("\u4e00" <= ch <= "\u9fff" for ch in str(s.transcript))]


def grow(base: Runtime, target: Runtime, n: int, seed: int = 0) -> None:
    """``n`` calls in ``target``: the base store's calls repeated under new ids, with their
    turn vectors (dense and BM25) and ledger rows, each with an agent, a team and a date."""
    rand = random.Random(seed)
    turns: dict[str, list[StoredPoint]] = {}
    for p in base.turns.scroll(with_vectors=True):
        turns.setdefault(p.payload["call_id"], []).append(p)
    call_points = {p.payload["call_id"]: p for p in base.calls.scroll(with_vectors=True)}
    rows = base.ledger.get_many(sorted(call_points))
    ids = sorted(i for i in call_points if i in rows and i in turns)
    batch_turns: list[StoredPoint] = []
    batch_calls: list[StoredPoint] = []

    def flush() -> None:
        target.turns.upsert(batch_turns)
        target.calls.upsert(batch_calls)
        batch_turns.clear()
        batch_calls.clear()

    for k in range(n):
        source = ids[k % len(ids)]
        call_id = f"{source}~{k:06d}"
        extra = {"call_id": call_id, "agent": rand.choice(AGENTS), "team": rand.choice(TEAMS),
                 "date": f"2026-{rand.randint(9, 11):02d}-{rand.randint(1, 28):02d}"}  # fmt: skip
        for p in turns[source]:
            batch_turns.append(StoredPoint(point_id(call_id, p.payload.get("turn", 0), p.id),
                                           p.dense, p.sparse, {**p.payload, **extra}))  # fmt: skip
        c = call_points[source]
        batch_calls.append(StoredPoint(point_id(call_id, 0, "call"), c.dense, c.sparse,
                                       {**c.payload, **extra}))  # fmt: skip
        row = rows[source]
        target.ledger.upsert(
            call_id, collection=row.collection, kind=row.kind, origin=row.origin,
            content_hash=f"{row.content_hash}~{k}", state=row.state, labels=row.labels,
            n_turn_points=row.n_turn_points, duration=row.duration, language=row.language,
            transcript=row.transcript,
        )  # fmt: skip
        if len(batch_calls) >= 500:
            flush()
    flush()


def plain_loop(runtime: Runtime, ids: list[str]) -> float:
    """The first version's apply: one call at a time (a ledger read, a read of its checked
    versions, a scroll of its turn vectors per meaning condition, a transaction of results,
    a payload write per call)."""
    started = time.perf_counter()
    current = runtime.rule_book.rules()
    checker = CallChecker(runtime)
    payloads = call_payloads(runtime, ids)
    for call_id in ids:
        row = runtime.ledger.get(call_id)
        if row is None or row.transcript is None:
            continue
        done = runtime.rule_book.checked(call_id)
        todo = [(r, v) for r, v in current if done.get(r.name) != v]
        view = checker.view(row, payloads[call_id])
        checker._vectors.clear()  # the first version scrolled a call's vectors per condition
        results = [(evaluate(r, view), v) for r, v in todo]
        runtime.rule_book.store(call_id, results)
        names = sorted(r.rule for r, _ in results if r.matched)
        for store in (runtime.calls, runtime.turns):
            store.set_payload({"call_id": call_id}, {"categories": names}, annotation=True)
    return time.perf_counter() - started


@contextmanager
def base_runtime(settings: Any, folder: Path | None) -> Iterator[Runtime]:
    if folder is None:
        with temporary_runtime(settings, prefix="bench-insp-base") as runtime:
            yield runtime
        return
    kept = settings.with_changes(paths={"state_dir": folder, "models_dir": settings.paths.models},
                                 qdrant={"index": "bench_insp_base"})  # fmt: skip
    with Runtime(kept) as runtime:
        yield runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[10_000])
    parser.add_argument("--plain", type=int, default=1000, help="Calls the plain loop runs on.")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--base", type=Path, help="Keep the indexed base calls here (re-runs).")
    args = parser.parse_args()
    settings = load_settings()
    rules_text = bench_rules()
    out: dict[str, Any] = {"rules": len(parse_rules(yaml.safe_load(rules_text))), "stores": []}
    with base_runtime(settings, args.base) as base:
        started = time.perf_counter()
        sources = base_sources()
        calls.ingest_sources(base, sources)  # a kept base comes back "unchanged"
        out["base"] = {"calls": len(sources), "turn_points": base.turns.count(),
                       "indexed_s": round(time.perf_counter() - started, 1)}  # fmt: skip
        print(out["base"], file=sys.stderr, flush=True)
        for n in args.calls:
            with temporary_runtime(settings, prefix=f"bench-insp-{n}") as target:
                started = time.perf_counter()
                grow(base, target, n)
                built = time.perf_counter() - started
                inspection.save_rules(target, rules_text, by="bench", apply=False)
                ids = stored_call_ids(target)
                plain_ids = ids[: args.plain]
                plain = plain_loop(target, plain_ids)
                # The product's apply on every call, from no results (the plain loop's removed).
                for name in target.rule_book.names():
                    inspection.delete_rule(target, name, by="bench")
                inspection.save_rules(target, rules_text, by="bench", apply=False)
                started = time.perf_counter()
                applied = inspection.apply_rules(target)
                took = time.perf_counter() - started
                row = {
                    "calls": n,
                    "turn_points": target.turns.count(),
                    "store_built_s": round(built, 1),
                    "apply_s": round(took, 1),
                    "apply_ms_per_call": round(1000 * took / n, 3),
                    "checked": applied.checked,
                    "plain_calls": len(plain_ids),
                    "plain_ms_per_call": round(1000 * plain / len(plain_ids), 3),
                    "plain_s_scaled": round(plain / len(plain_ids) * n, 1),
                    "speedup": round(plain / len(plain_ids) * n / took, 1),
                    "matched": dict(sorted(applied.matched.items())),
                }
                out["stores"].append(row)
                print({k: v for k, v in row.items() if k != "matched"}, file=sys.stderr, flush=True)
    text = json.dumps(out, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
