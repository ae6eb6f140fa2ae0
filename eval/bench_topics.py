"""Topic discovery benchmark: hide some labels, discover topics, and see how purely the hidden
reasons come back as clusters.

Two data sets, each indexed once through the production pipeline (real MiniLM, real Qdrant
Edge; the demo's 20 recordings as their scripted turns, nothing transcribed):

* the demo corpus (``app/demo/calls.jsonl``, 120 calls, 8 labels, a Chinese fifth): 2 of the 8
  labels hidden, every one of the 28 pairs; a call left with no label is in the pool;
* Banking77 (``../shared/data/banking77/train.csv``, one-line requests, 77 intents):
  10 intents hidden, three seeded draws.

For each draw the pool is the calls of the hidden labels (their truth is the hidden label), and
every variant (HDBSCAN vs agglomerative; call vectors only vs vectors + BM25 at several weights;
centred by language or not) clusters the same stored vectors (``retrieval.topics.discover``). The
main variants run again on a pool with distractors: a few seeded calls of every label not hidden
(2 per label on the demo, 4 on Banking77) come in unlabeled too, as real unlabeled calls would; a
distractor's truth is its own label, so joining a hidden reason's cluster costs purity.

Scores over the pool: ``purity`` (clustered calls that share their cluster's majority label; 0
when nothing is clustered), ``coverage`` (calls in some cluster; the rest are left unclustered),
``ari`` (adjusted Rand index of clusters vs hidden labels, each unclustered call its own
singleton: leaving calls out costs), ``best_f1`` (per hidden label, the F1 of its best-matching
cluster, averaged) and the seconds (features + clustering + terms). The headline draw of each
data set then runs end to end through ``app.services.topics.discover`` on a store where the hidden
labels really are absent (the pool read from the store, terms named, the run stored).

    python -m eval.bench_topics --json docs/bench_topics.json [--state /tmp/bench_topics]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

from app.core.config import load_settings
from app.core.models import CallSource, Transcript, Turn
from app.runtime import Runtime, temporary_runtime
from app.services import calls as calls_service
from app.services import topics as topics_service
from retrieval.index.embedding import make_embedder
from retrieval.topics import PoolCall, TopicOptions, discover, language_centres

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "app" / "demo" / "calls.jsonl"
BANKING = ROOT.parent / "shared" / "data" / "banking77" / "train.csv"
CROSSWOZ = ROOT.parent / "shared" / "data" / "crosswoz_zh" / "dev.csv"

#: (name, method, bm25 weight, vectors centred by language, smallest topic as a share of the
#: pool or None for the product's rule): the variants every draw runs.
VARIANTS: list[tuple[str, str, float, bool, float | None]] = (
    [
        (f"{method}/{'vectors' if w == 0 else f'vectors+bm25 {w}'}", method, w, True, None)
        for method in ("hdbscan", "agglomerative")
        for w in (0.0, 0.1, 0.3, 0.5, 0.7)
    ]
    + [
        (f"{method}/vectors, not centred", method, 0.0, False, None)
        for method in ("hdbscan", "agglomerative")
    ]
    + [("hdbscan/vectors, min size 2%", "hdbscan", 0.0, True, 0.02)]
)


# ------------------------------------------------------------------------------------ data
def demo_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEMO.read_text("utf-8").splitlines()]


def banking_rows() -> list[dict[str, Any]]:
    with BANKING.open(encoding="utf-8", newline="") as f:
        return [
            {"id": f"b{i:05d}", "labels": [r["category"]], "turns": [("customer", r["text"])]}
            for i, r in enumerate(csv.DictReader(f))
        ]


def crosswoz_rows() -> list[dict[str, Any]]:
    """The 500 Chinese dialogues, labeled by the service asked about first (``first``)."""
    from ingest.sources import parse_text_turns

    with CROSSWOZ.open(encoding="utf-8", newline="") as f:
        return [
            {
                "id": r["id"],
                "labels": [r["first"]],
                "turns": [(t.speaker, t.text) for t in parse_text_turns(r["text"])],
            }
            for r in csv.DictReader(f)
        ]


def demo_as_rows() -> list[dict[str, Any]]:
    return [
        {
            "id": r["id"],
            "labels": list(r["labels"]),
            "date": r.get("date"),
            "turns": [(t["speaker"], t["text"]) for t in r["turns"]],
        }
        for r in demo_rows()
    ]


def hidden_truth(rows: list[dict[str, Any]], hidden: Sequence[str]) -> dict[str, str]:
    """The calls left with no label when ``hidden`` labels are removed, and their truth (the
    call's first hidden label)."""
    out = {}
    for row in rows:
        if all(label in hidden for label in row["labels"]):
            out[row["id"]] = row["labels"][0]
    return out


def sources(rows: list[dict[str, Any]], hidden: Sequence[str]) -> list[CallSource]:
    """Text sources with the ``hidden`` labels removed (turn i at 10*i s)."""
    return [
        CallSource(
            call_id=row["id"],
            kind="text",
            origin="bench",
            labels=[label for label in row["labels"] if label not in hidden],
            date=row.get("date"),
            transcript=Transcript(
                [Turn(s, t, i * 10.0, i * 10.0 + 8) for i, (s, t) in enumerate(row["turns"])]
            ),
        )
        for row in rows
    ]


@contextmanager
def indexed(
    name: str, rows: list[dict[str, Any]], hidden: Sequence[str], state: Path | None
) -> Iterator[tuple[Runtime, float]]:
    """A runtime over ``rows`` indexed with ``hidden`` labels removed, and the indexing seconds
    (0 when a kept ``state`` dir already had them)."""
    settings = load_settings()
    embedder = make_embedder(settings.embedding)
    if state is None:
        with temporary_runtime(settings, prefix=f"topics_{name}", embedder=embedder) as rt:
            yield rt, _index(rt, rows, hidden)
        return
    own = settings.with_changes(
        paths={"state_dir": state / name, "models_dir": settings.paths.models}
    )
    with Runtime(own, embedder=embedder) as rt:
        yield rt, _index(rt, rows, hidden)


def _index(runtime: Runtime, rows: list[dict[str, Any]], hidden: Sequence[str]) -> float:
    started = time.perf_counter()
    results = calls_service.ingest_sources(runtime, sources(rows, hidden), by="bench")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise SystemExit(f"{len(failed)} calls failed to index, e.g. {failed[0].error}")
    fresh = any(r.status == "indexed" for r in results)
    return round(time.perf_counter() - started, 1) if fresh else 0.0


def stored_calls(runtime: Runtime) -> dict[str, PoolCall]:
    """Every call point as discovery sees it (the stored vectors; nothing embedded)."""
    return {
        str(p.payload["call_id"]): PoolCall(
            str(p.payload["call_id"]),
            np.asarray(p.dense, dtype=np.float32),
            p.sparse,
            str(p.payload.get("text") or ""),
            p.payload.get("language"),
        )
        for p in runtime.calls.scroll(with_vectors=True)
    }


# --------------------------------------------------------------------------------- scoring
def score(
    truth: dict[str, str], clusters: dict[str, int], hidden: set[str] | None = None
) -> dict[str, float]:
    """Purity, coverage, ARI (unclustered calls as singletons) and best-match F1 averaged over
    the ``hidden`` labels (default: every label in ``truth``)."""
    ids = sorted(truth)
    clustered = [c for c in ids if clusters.get(c, -1) >= 0]
    by_cluster: dict[int, Counter[str]] = {}
    for c in clustered:
        by_cluster.setdefault(clusters[c], Counter())[truth[c]] += 1
    majority = sum(max(counts.values()) for counts in by_cluster.values())
    singleton = iter(range(10**6, 10**7))
    predicted = [clusters[c] if clusters.get(c, -1) >= 0 else next(singleton) for c in ids]
    sizes = Counter(truth.values())
    f1s = []
    for label, size in sizes.items():
        if hidden is not None and label not in hidden:
            continue
        best = 0.0
        for counts in by_cluster.values():
            hit = counts[label]
            if hit:
                p, r = hit / sum(counts.values()), hit / size
                best = max(best, 2 * p * r / (p + r))
        f1s.append(best)
    return {
        "purity": round(majority / len(clustered), 4) if clustered else 0.0,
        "coverage": round(len(clustered) / len(ids), 4),
        "ari": round(float(adjusted_rand_score([truth[c] for c in ids], predicted)), 4),
        "best_f1": round(float(np.mean(f1s)), 4),
        "clusters": len(by_cluster),
    }


def run_variants(
    calls: dict[str, PoolCall],
    truth: dict[str, str],
    background: list[str],
    only: Sequence[str] | None = None,
    hidden: set[str] | None = None,
    runtime: Runtime | None = None,
) -> dict[str, dict[str, float]]:
    pool = [calls[c] for c in sorted(truth)]
    if runtime is not None:  # the pool as the product sees it: boilerplate turns left out
        pool, _ = topics_service.with_content_vectors(runtime, pool)
    centres = language_centres((c.language, c.dense) for c in calls.values())
    out = {}
    for name, method, weight, centred, share in VARIANTS:
        if only is not None and name not in only:
            continue
        started = time.perf_counter()
        min_size = max(5, round(len(pool) * share)) if share else None
        options = TopicOptions(method=method, bm25_weight=weight, min_size=min_size)
        found = discover(pool, options, background, centres if centred else None)
        seconds = time.perf_counter() - started
        clusters = {m.call_id: t.id for t in found.topics for m in t.members}
        out[name] = {**score(truth, clusters, hidden), "seconds": round(seconds, 3)}
    return out


#: The variants also run on pools with distractors (calls of known reasons left unlabeled).
WITH_DISTRACTORS = (
    "agglomerative/vectors",
    "agglomerative/vectors+bm25 0.3",
    "hdbscan/vectors",
    "hdbscan/vectors, min size 2%",
)


def with_distractors(
    rows: list[dict[str, Any]], truth: dict[str, str], per_label: int, seed: int
) -> dict[str, str]:
    """``truth`` plus ``per_label`` seeded calls of every label not hidden (their truth: their
    own label), as if they had come in unlabeled too."""
    rng = random.Random(seed)
    by_label: dict[str, list[str]] = {}
    for row in rows:
        if row["id"] not in truth:
            by_label.setdefault(row["labels"][0], []).append(row["id"])
    out = dict(truth)
    for label in sorted(by_label):
        for call_id in rng.sample(by_label[label], min(per_label, len(by_label[label]))):
            out[call_id] = label
    return out


def summarise(draws: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean (and the worst draw's purity/ARI) of each variant over the draws."""
    out = {}
    for name, *_ in VARIANTS:
        if name not in draws[0]:
            continue
        rows = [d[name] for d in draws]
        mean = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}
        mean["min_ari"] = min(r["ari"] for r in rows)
        mean["min_purity"] = min(r["purity"] for r in rows)
        out[name] = mean
    return out


def headline(runtime: Runtime, truth: dict[str, str]) -> dict[str, Any]:
    """The product path: ``services.topics.discover`` with its defaults on the store itself."""
    run = topics_service.discover(runtime, use_llm=False)
    clusters = {c["call_id"]: t["id"] for t in run["topics"] for c in t["calls"]}
    in_pool = {c for t in run["topics"] for c in (x["call_id"] for x in t["calls"])}
    in_pool |= set(run["unclustered"])
    topics = []
    for t in run["topics"]:
        counts = Counter(truth.get(c["call_id"], "?") for c in t["calls"])
        label, hits = counts.most_common(1)[0]
        terms = [x["term"] for x in t["terms"][:6]]
        topics.append({"id": t["id"], "size": t["size"], "majority": label, "hits": hits,
                       "terms": terms})  # fmt: skip
    return {
        "pool": run["pool"],
        "pool_is_the_hidden_calls": in_pool == set(truth),
        "method": run["method"],
        "bm25_weight": run["bm25_weight"],
        "min_size": run["min_size"],
        **score(truth, clusters),
        "seconds": run["seconds"],
        "topics": topics,
    }


# -------------------------------------------------------------------------------- the sets
def bench_demo(state: Path | None) -> dict[str, Any]:
    rows = demo_as_rows()
    labels = sorted({row["labels"][0] for row in rows})
    pairs = list(itertools.combinations(labels, 2))
    first = ("address_change", "product_defect")  # the headline pair, hidden in the store
    with indexed("demo", rows, first, state) as (runtime, index_seconds):
        calls = stored_calls(runtime)
        draws, noisy, per_pair = [], [], {}
        for n, pair in enumerate(pairs):
            truth = hidden_truth(rows, pair)
            background = [calls[r["id"]].text for r in rows if r["id"] not in truth]
            draws.append(run_variants(calls, truth, background, runtime=runtime))
            per_pair["+".join(pair)] = {k: draws[-1][k]["ari"] for k in draws[-1]}
            pool = with_distractors(rows, truth, per_label=2, seed=n)
            rest = [calls[r["id"]].text for r in rows if r["id"] not in pool]
            noisy.append(
                run_variants(calls, pool, rest, WITH_DISTRACTORS, set(pair), runtime=runtime)
            )
        return {
            "calls": len(rows),
            "hidden_per_draw": 2,
            "draws": len(pairs),
            "index_seconds": index_seconds,
            "variants": summarise(draws),
            "distractors_per_known_label": 2,
            "with_distractors": summarise(noisy),
            "ari_per_pair": per_pair,
            "headline": {"hidden": list(first), **headline(runtime, hidden_truth(rows, first))},
        }


def bench_banking(state: Path | None, seeds: Sequence[int]) -> dict[str, Any]:
    rows = banking_rows()
    intents = sorted({row["labels"][0] for row in rows})
    hidden_sets = [sorted(random.Random(seed).sample(intents, 10)) for seed in seeds]
    with indexed("banking77", rows, hidden_sets[0], state) as (runtime, index_seconds):
        calls = stored_calls(runtime)
        draws, noisy = [], []
        for seed, hidden in zip(seeds, hidden_sets, strict=True):
            truth = hidden_truth(rows, hidden)
            rest = [r["id"] for r in rows if r["id"] not in truth]
            background = [calls[c].text for c in random.Random(0).sample(rest, 2000)]
            draws.append(run_variants(calls, truth, background, runtime=runtime))
            pool = with_distractors(rows, truth, per_label=4, seed=seed)
            noisy.append(
                run_variants(
                    calls, pool, background, WITH_DISTRACTORS, set(hidden), runtime=runtime
                )
            )
            print(f"banking77 draw {seed} done", flush=True)
        scale = bench_scale(rows, calls)
        return {
            "calls": len(rows),
            "hidden_per_draw": 10,
            "hidden": hidden_sets,
            "seeds": list(seeds),
            "pool_sizes": [len(hidden_truth(rows, h)) for h in hidden_sets],
            "index_seconds": index_seconds,
            "variants": summarise(draws),
            "distractors_per_known_label": 4,
            "with_distractors": summarise(noisy),
            "at_max_calls": scale,
            "headline": {
                "hidden": hidden_sets[0],
                **headline(runtime, hidden_truth(rows, hidden_sets[0])),
            },
        }


def bench_crosswoz(state: Path | None) -> dict[str, Any]:
    """Chinese only, where the English-only MiniLM says little: 2 of the 3 first services hidden
    (each of the 3 pairs)."""
    rows = crosswoz_rows()
    labels = sorted({row["labels"][0] for row in rows})
    pairs = list(itertools.combinations(labels, 2))
    with indexed("crosswoz", rows, pairs[0], state) as (runtime, index_seconds):
        calls = stored_calls(runtime)
        draws = []
        for pair in pairs:
            truth = hidden_truth(rows, pair)
            background = [calls[r["id"]].text for r in rows if r["id"] not in truth]
            draws.append(run_variants(calls, truth, background))
        return {
            "calls": len(rows),
            "hidden_per_draw": 2,
            "draws": len(pairs),
            "pool_sizes": [len(hidden_truth(rows, p)) for p in pairs],
            "index_seconds": index_seconds,
            "variants": summarise(draws),
            "headline": {
                "hidden": list(pairs[0]),
                **headline(runtime, hidden_truth(rows, pairs[0])),
            },
        }


def bench_scale(rows: list[dict[str, Any]], calls: dict[str, PoolCall]) -> dict[str, Any]:
    """The cost at the largest pool a run takes (``services.topics.MAX_CALLS`` calls, all 77
    intents, none hidden: how purely do they come apart, and in how many seconds)."""
    n = topics_service.MAX_CALLS
    picked = random.Random(7).sample(rows, n)
    truth = {row["id"]: row["labels"][0] for row in picked}
    background = [calls[r["id"]].text for r in rows if r["id"] not in truth][:2000]
    found = run_variants(
        calls,
        truth,
        background,
        ("agglomerative/vectors", "hdbscan/vectors", "hdbscan/vectors, min size 2%"),
    )
    return {"pool": n, "labels": len(set(truth.values())), "variants": found}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--state", type=Path, help="keep the indexed stores here (re-runs reuse)")
    parser.add_argument(
        "--only", choices=("demo", "banking77", "crosswoz"), help="one data set only"
    )
    parser.add_argument("--seeds", default="0,1,2", help="Banking77 draws of 10 hidden intents")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"variants": [name for name, *_ in VARIANTS]}
    if args.only in (None, "demo"):
        results["demo"] = bench_demo(args.state)
        print(json.dumps(results["demo"]["variants"], indent=1), flush=True)
    if args.only == "crosswoz":  # opt-in: no variant finds the first service (docs)
        results["crosswoz"] = bench_crosswoz(args.state)
        print(json.dumps(results["crosswoz"]["variants"], indent=1), flush=True)
    if args.only in (None, "banking77"):
        seeds = [int(s) for s in args.seeds.split(",")]
        results["banking77"] = bench_banking(args.state, seeds)
        print(json.dumps(results["banking77"]["variants"], indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
