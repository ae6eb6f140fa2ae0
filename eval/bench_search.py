"""Search latency on a large turn index, against a plain Qdrant query script in the same run.

    python -m eval.bench_search [--turns 100000] [--queries 200] [--engine-points 1000000]
        [--optimize] [--skip-search]

Part 1, end to end (query embedding included, no LLM): a store of ``--turns`` turn points laid
out twice, as long calls (500 turns each) and as short calls (10 turns each), every other call
in Chinese. Each point gets the six vectors of the turn index: BM25 of its own generated
sentence, of the previous one with it and of the lines around it, a dense vector from a pool of
real embeddings of such sentences by the configured embedder (embedding 100k texts would take
the whole run; the engine's work per query is the same), another from the pool as its context
vector, and the previous turn's. Half the questions are searched inside one call (``call_id``
filter), half over the whole store; every other question is Chinese (answered meaning first:
two fused queries across calls). Timed before and after the engine's search index is built
(``services.search_index``, as the command-line imports do when they finish). ``ours`` =
``app.services.search.search`` (what the CLI, API and UI call: hybrid RRF, the weak-retrieval
probes, passages); ``plain`` = the question embedded and one Qdrant Edge hybrid RRF query (dense
+ BM25), nothing else. p50/p99 in ms.

Part 2, engine only: ``--engine-points`` random 384-d points (synthetic vectors, 2,000 calls),
one dense query each, inside one call and over everything; how long loading took and, with
``--optimize``, how long building the HNSW index (``EdgeShard.optimize()``) took.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from app.core.config import load_settings
from app.core.filters import CallFilter
from app.runtime import Runtime
from app.services.search import search
from app.services.search_index import build_search_index
from retrieval.index.store import (
    DENSE_CONTEXT,
    DENSE_PREVIOUS,
    SPARSE_CONTEXT,
    SPARSE_PREVIOUS,
    StoredPoint,
)

SUBJECTS = [
    "my parcel",
    "the refund",
    "my card",
    "the invoice",
    "my password",
    "the courier",
    "my order",
    "the subscription",
    "the app",
    "my account",
    "the delivery",
    "the bill",
]
VERBS = [
    "has not arrived",
    "was charged twice",
    "is blocked",
    "went to the wrong address",
    "needs to be cancelled",
    "does not work",
    "was damaged",
    "is late again",
    "shows the wrong amount",
    "was never received",
]
TAILS = [
    "since last Monday",
    "after the update",
    "and I called twice",
    "with order 4471",
    "according to the tracking page",
    "even after the reset",
    "for the third time",
    "",
]
SUBJECTS_ZH = [
    "我的快递",
    "退款",
    "我的银行卡",
    "发票",
    "我的密码",
    "快递员",
    "我的订单",
    "会员",
    "宽带",
]
VERBS_ZH = [
    "还没到",
    "被扣了两次钱",
    "被冻结了",
    "送错地址了",
    "要取消",
    "用不了",
    "坏了",
    "又晚了",
    "金额不对",
]
TAILS_ZH = [
    "从上周一开始",
    "升级以后",
    "我已经打了两次电话",
    "订单号4471",
    "物流页面显示",
    "重置以后还是这样",
    "",
]
QUESTIONS_ZH = [
    "客户为什么被扣了两次钱",
    "快递员把包裹放在哪里了",
    "客户登录不了应用",
    "退款还没到账",
    "取消会员",
    "发票金额不对",
    "客服说退款什么时候到",
]
QUESTIONS = [
    "why was the customer charged twice",
    "where did the courier leave the parcel",
    "customer cannot log in to the app",
    "refund has not arrived",
    "cancel subscription",
    "wrong amount on the invoice",
    "damaged delivery",
    "card blocked abroad",
]


def sentence(rng: random.Random, chinese: bool = False) -> str:
    if chinese:
        tail = rng.choice(TAILS_ZH)
        return f"{rng.choice(SUBJECTS_ZH)}{rng.choice(VERBS_ZH)}" + (f"，{tail}" if tail else "")
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(TAILS)}".strip()


def percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        "n": len(ordered),
    }


def build(
    runtime: Runtime, turns: int, per_call: int, pools: dict[bool, np.ndarray], seed: int
) -> list[str]:
    rng = random.Random(seed)
    calls = [f"call-{i:06d}" for i in range(turns // per_call)]
    chinese = [(i // per_call) % 2 == 1 for i in range(turns)]
    texts = [sentence(rng, zh) for zh in chinese]
    first = [i % per_call == 0 for i in range(turns)]
    before = [t if f else f"{p} {t}" for p, t, f in zip([""] + texts, texts, first, strict=False)]
    around = [" ".join(texts[max(0, i - 2) : i + 3]) for i in range(turns)]
    encode = runtime.sparse.encode_documents
    sparse, sparse_prev, sparse_ctx = encode(texts), encode(before), encode(around)
    dense = [pools[zh][rng.randrange(len(pools[zh]))] for zh in chinese]
    points = []
    for i, text in enumerate(texts):
        call = calls[i // per_call]
        points.append(
            StoredPoint(
                id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"{call}:{i}")),
                dense=dense[i],
                sparse=sparse[i],
                payload={
                    "call_id": call,
                    "turn": i % per_call,
                    "text": f"Customer: {text}",
                    "speakers": ["customer" if i % 2 else "agent"],
                    "labels": ["demo"],
                    "start": float(i % per_call) * 5,
                    "end": float(i % per_call) * 5 + 4,
                },
                more={
                    DENSE_CONTEXT: pools[chinese[i]][rng.randrange(len(pools[chinese[i]]))],
                    DENSE_PREVIOUS: dense[i] if first[i] else dense[i - 1],
                    SPARSE_PREVIOUS: sparse_prev[i],
                    SPARSE_CONTEXT: sparse_ctx[i],
                },
            )
        )
    for start in range(0, len(points), 2048):
        runtime.turns.upsert(points[start : start + 2048])
    return calls


def time_queries(runtime: Runtime, calls: list[str], n: int, seed: int) -> dict[str, Any]:
    import qdrant_edge as q

    rng = random.Random(seed)
    shard = runtime.turns._shard  # type: ignore[attr-defined] - Edge is the default engine
    s = runtime.settings.search
    scopes = [f"{where}, {lang}" for where in ("one call", "all calls") for lang in ("en", "zh")]
    ours: dict[str, list[float]] = {scope: [] for scope in scopes}
    plain: dict[str, list[float]] = {scope: [] for scope in scopes}
    for i in range(n):
        chinese = (i // 2) % 2 == 1
        if chinese:
            question = f"{rng.choice(QUESTIONS_ZH)}{rng.choice(TAILS_ZH)}"
        else:
            question = f"{rng.choice(QUESTIONS)} {rng.choice(TAILS)}".strip()
        where = "one call" if i % 2 else "all calls"
        scope = f"{where}, {'zh' if chinese else 'en'}"
        # A call of the question's language (every other call is Chinese).
        call = rng.choice(calls[int(chinese) :: 2])
        flt = CallFilter(call_ids=(call,)) if where == "one call" else None
        t = time.perf_counter()
        search(runtime, question, filters=flt, k=10)
        ours[scope].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        dense = runtime.embedder.embed([question], query=True)[0]
        sv = runtime.sparse.encode_query(question)
        edge_filter = (
            q.Filter(must=[q.FieldCondition(key="call_id", match=q.MatchValue(call))])
            if where == "one call"
            else None
        )
        shard.query(
            q.QueryRequest(
                limit=10,
                prefetches=[
                    q.Prefetch(
                        limit=s.prefetch_limit,
                        query=q.Query.Nearest(list(map(float, dense)), using="dense"),
                        filter=edge_filter,
                    ),
                    q.Prefetch(
                        limit=s.prefetch_limit,
                        query=q.Query.Nearest(q.SparseVector(sv.indices, sv.values), using="bm25"),
                        filter=edge_filter,
                    ),
                ],
                query=q.Fusion.Rrf(k=s.rrf_k),
                filter=edge_filter,
                with_payload=True,
            )
        )
        plain[scope].append((time.perf_counter() - t) * 1000)
    return {
        scope: {
            "ours": percentiles(ours[scope]),
            "plain": percentiles(plain[scope]),
            "ratio_p50": round(statistics.median(plain[scope]) / statistics.median(ours[scope]), 2),
        }
        for scope in ours
    }


def engine_only(points: int, n: int, seed: int, tmp: Path, optimize: bool) -> dict[str, Any]:
    import qdrant_edge as q

    rng = np.random.default_rng(seed)
    path = tmp / "engine"
    # payload_m=0: no extra per-call HNSW links (a query inside one call, a few hundred points,
    # is served by the call_id payload index; the extra graphs multiply the build time).
    cfg = q.EdgeConfig(
        vectors={"dense": q.EdgeVectorParams(size=384, distance=q.Distance.Cosine)},
        hnsw_config=q.HnswIndexConfig(
            m=16, ef_construct=100, full_scan_threshold=10_000, payload_m=0
        ),
    )
    shard = q.EdgeShard.create(str(path), cfg)
    shard.update(q.UpdateOperation.create_field_index("call_id", q.PayloadSchemaType.Keyword))
    t = time.perf_counter()
    for start in range(0, points, 10_000):
        block = rng.standard_normal((min(10_000, points - start), 384), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        shard.update(
            q.UpdateOperation.upsert_points(
                [
                    q.Point(
                        id=start + j,
                        vector={"dense": v.tolist()},
                        payload={"call_id": f"call-{(start + j) % 2000:04d}"},
                    )
                    for j, v in enumerate(block)
                ]
            )
        )
    shard.flush()
    loading = time.perf_counter() - t
    optimizing = None
    if optimize:
        t = time.perf_counter()
        shard.optimize()
        optimizing = round(time.perf_counter() - t, 1)
    timings: dict[str, list[float]] = {"one call": [], "all calls": []}
    for i in range(n):
        vec = rng.standard_normal(384).astype(np.float32)
        vec /= np.linalg.norm(vec)
        scope = "one call" if i % 2 else "all calls"
        flt = (
            q.Filter(
                must=[q.FieldCondition(key="call_id", match=q.MatchValue(f"call-{i % 2000:04d}"))]
            )
            if scope == "one call"
            else None
        )
        t = time.perf_counter()
        shard.query(
            q.QueryRequest(limit=10, query=q.Query.Nearest(vec.tolist(), using="dense"), filter=flt)
        )
        timings[scope].append((time.perf_counter() - t) * 1000)
    shard.close()
    return {
        "points": points,
        "loading_seconds": round(loading, 1),
        "optimized": optimize,
        "optimize_seconds": optimizing,
        **{scope: percentiles(ms) for scope, ms in timings.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--engine-points", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--optimize", action="store_true", help="Build the HNSW index before the engine queries."
    )
    parser.add_argument("--skip-search", action="store_true", help="Engine-only part alone.")
    parser.add_argument("--json", type=Path, help="Write the results here too.")
    args = parser.parse_args()
    results: dict[str, Any] = {"turns": args.turns, "queries": args.queries}
    with tempfile.TemporaryDirectory(prefix="callscope-bench-search-") as tmp:
        base = load_settings(paths={"state_dir": Path(tmp) / "state"})
        pool_rng = random.Random(args.seed)
        layouts = (
            []
            if args.skip_search
            else [("long calls (500 turns)", 500), ("short calls (10 turns)", 10)]
        )
        for layout, per_call in layouts:
            settings = base.with_changes(qdrant={"index": f"bench_{per_call}"})
            with Runtime(settings) as runtime:
                pools = {
                    zh: runtime.embedder.embed([sentence(pool_rng, zh) for _ in range(1000)])
                    for zh in (False, True)
                }
                t = time.perf_counter()
                calls = build(runtime, args.turns, per_call, pools, args.seed)
                loaded = time.perf_counter() - t
                search(runtime, "warm up", k=10)
                scanned = time_queries(runtime, calls, args.queries, args.seed)
                # What `callscope ingest/batch/reindex` do when they finish.
                t = time.perf_counter()
                build_search_index(runtime)
                indexing = time.perf_counter() - t
                results[layout] = {
                    "calls": len(calls),
                    "loading_seconds": round(loaded, 1),
                    "index_seconds": round(indexing, 1),
                    "indexed": time_queries(runtime, calls, args.queries, args.seed),
                    "before the index is built": scanned,
                }
                print(json.dumps({layout: results[layout]}), flush=True)
        if args.engine_points:
            results["engine only"] = engine_only(
                args.engine_points, args.queries, args.seed, Path(tmp), args.optimize
            )
            print(json.dumps({"engine only": results["engine only"]}), flush=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
