"""Measure ways to index and search the turns of long multi-session conversations (no LLM).

Every turn is one Qdrant Edge point; its dense MiniLM vectors and BM25 sparse vectors (several
named vectors per point) are all computed once at ingest: at query time only the question is
embedded. Payload = call_id, turn index, speaker, session, date. Each question is searched
within its own call (payload filter on ``call_id``).

What varies (one table row per variant):

* the text behind a vector: the turn alone, ``Speaker: turn``, ``[date] Speaker: turn``, or
  the turn with neighbouring turns of the same session (previous / next / +-1 / +-2 / +-3,
  one ``Speaker: text`` line each; a window never crosses a session boundary);
* "pooled" dense context: the normalised mean of the ``Speaker: turn`` vectors of the +-1/2/3
  turns around a turn (same session). It costs no extra model call at ingest;
* BM25 length normalisation (engine default avg_len=256 vs the real mean document length);
* how the searches are combined: RRF (k, weights), DBSF, a weighted sum of raw scores
  (``Formula`` over ``$score[i]``), prefetch limits, a MaxSim multivector over
  [turn, context] vectors;
* post-retrieval: neighbour-turn expansion (each turn's fused score plus beta x the scores of
  the turns just before and after it, from one deeper query; no new embeddings) and MMR.

Reported per variant, overall and per conversation (conv26 = 150 questions, conv30 = 81):
recall@1/5/10/25/50 of the evidence turns (share of a question's evidence ids in the top k,
averaged over questions) and MRR (first evidence turn within the top 50, else 0); the index
cost of what the variant needs (document embedding + BM25 + upsert, summed from measured
parts; a pooled vector costs the turn embedding it is made from); the mean query time (engine
only, and with the question's dense embedding and BM25 encoding, one question at a time).
Then a paired bootstrap of the recommended recipe against the reference script (dense
``Speaker: turn`` + BM25 turn, RRF k=60), and an end-to-end run of the recommended recipe in
a fresh shard holding only its vectors (indexing + all questions, model load excluded), timed
back to back with the same run of the reference.

    python -m eval.tune_turns --data /work/shared/data/locomo_dev [--cache /tmp/tt] [--quick]

``--quick`` embeds only the turn texts (skips the dense vectors of date / window texts and
the rows that need them: ~3 minutes instead of ~6 on 2 heavily shared cores). ``--cache DIR``
keeps the document embeddings so a second run skips them (their printed cost is then the
one measured when the cache was filled). Timings depend on the machine's load: the load
average is printed. The data is for measurement only; nothing of it is written into the
project.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as q

KS = (1, 5, 10, 25, 50)
COLS = ["R@1", "R@5", "R@10", "R@25", "R@50", "MRR"]
DEPTH = 50  # results kept per question (recall@50 and MRR are computed on these)


# ---------------------------------------------------------------------------- data


@dataclass
class Turn:
    idx: int  # position in the corpus = point id
    id: str
    text: str
    call_id: str
    speaker: str
    date: str
    session: int = 0
    pos: int = 0  # index of the turn inside its call


def load(data: Path) -> tuple[list[Turn], list[dict]]:
    turns = []
    for i, line in enumerate((data / "corpus.jsonl").read_text(encoding="utf-8").splitlines()):
        r = json.loads(line)
        turns.append(Turn(i, r["id"], r["text"], r["call_id"], r["speaker"], r["date"]))
    last: dict[str, tuple[str, int, int]] = {}
    for t in turns:  # a change of date inside a call starts a new session
        date, session, pos = last.get(t.call_id, (t.date, 0, -1))
        if t.date != date:
            session += 1
        t.session, t.pos = session, pos + 1
        last[t.call_id] = (t.date, session, pos + 1)
    lines = (data / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return turns, [json.loads(x) for x in lines if x.strip()]


def short_date(date: str) -> str:
    """'1:56 pm on 8 May, 2023' -> '8 May 2023' (the time of day is not useful as text)."""
    m = re.search(r"(\d{1,2} \w+),? (\d{4})", date)
    return f"{m.group(1)} {m.group(2)}" if m else date


def neighbours(turns: list[Turn], t: Turn, before: int, after: int) -> list[Turn]:
    """The turns around ``t`` (``t`` included) in the same session of the same call."""
    lo, hi = t.idx - before, t.idx + after
    return [
        u for u in turns[max(0, lo) : hi + 1] if u.call_id == t.call_id and u.session == t.session
    ]


def line(t: Turn) -> str:
    return f"{t.speaker}: {t.text}"


def window(before: int, after: int) -> Callable[[list[Turn], Turn], str]:
    return lambda turns, t: "\n".join(line(u) for u in neighbours(turns, t, before, after))


# The texts a vector can be computed from.
TEXTS: dict[str, Callable[[list[Turn], Turn], str]] = {
    "turn": lambda turns, t: t.text,
    "spk": lambda turns, t: line(t),
    "date": lambda turns, t: f"[{short_date(t.date)}] {line(t)}",
    "prev": window(1, 0),
    "next": window(0, 1),
    "w1": window(1, 1),
    "w2": window(2, 2),
    "w3": window(3, 3),
}
DENSE_QUICK = ["turn", "spk"]
DENSE_FULL = ["turn", "spk", "date", "prev", "next", "w1", "w2"]
POOLED = {"p1": (1, 1), "p2": (2, 2), "p3": (3, 3)}  # mean of the spk vectors of the window
SPARSE_SETS = ["turn", "spk", "date", "prev", "next", "w1", "w2", "w3"]
# "L" + name: BM25 with avg_len = the mean number of tokens of those documents instead of the
# engine default 256 (turns are ~15 tokens, so the default does almost no length normalisation).
SPARSE_TUNED = ["turn", "spk", "prev"]
MULTI = {
    "m_turn_w1": ["turn", "w1"],
    "m_spk_prev_next": ["spk", "prev", "next"],
    "m_spk_p2": ["spk", "p2"],
}


# ---------------------------------------------------------------------------- encoding


class Encoders:
    def __init__(self) -> None:
        from app.core.config import EmbeddingSettings
        from retrieval.index.embedding import make_embedder

        started = time.perf_counter()
        self.emb = make_embedder(EmbeddingSettings())
        self.emb.embed(["warm up"])
        self.load_s = time.perf_counter() - started

    @staticmethod
    def bm25(avg_len: float | None = None) -> q.Bm25:
        # The configuration of retrieval.index.sparse.Bm25Encoder("english").
        stop = q.StopwordsSet(languages={q.Language.English, q.Language.Chinese})
        return q.Bm25(
            q.Bm25Config(
                language="english",
                tokenizer=q.TokenizerType.Multilingual,
                stopwords=stop,
                avg_len=avg_len,
            )
        )


@dataclass
class Index:
    dense: dict[str, np.ndarray] = field(default_factory=dict)
    sparse: dict[str, list[q.SparseVector]] = field(default_factory=dict)
    cost: dict[str, float] = field(default_factory=dict)  # seconds to compute each vector set


def pool(turns: list[Turn], base: np.ndarray, before: int, after: int) -> np.ndarray:
    """Normalised mean of the ``base`` vectors of each turn's same-session window."""
    out = np.zeros_like(base)
    for t in turns:
        out[t.idx] = base[[u.idx for u in neighbours(turns, t, before, after)]].sum(axis=0)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def embed_cached(enc: Encoders, name: str, texts: list[str], cache: Path | None) -> tuple:
    if cache and (cache / f"dense_{name}.npy").exists():
        cost = json.loads((cache / "cost.json").read_text())[name]
        return np.load(cache / f"dense_{name}.npy"), cost, True
    started = time.perf_counter()
    vecs = enc.emb.embed(texts)
    cost = time.perf_counter() - started
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(cache / f"dense_{name}.npy", vecs)
        costs_file = cache / "cost.json"
        old = json.loads(costs_file.read_text()) if costs_file.exists() else {}
        costs_file.write_text(json.dumps({**old, name: cost}))
    return vecs, cost, False


def build_vectors(
    turns: list[Turn], enc: Encoders, dense_sets: list[str], cache: Path | None
) -> Index:
    ix = Index()
    for name in dense_sets:
        texts = [TEXTS[name](turns, t) for t in turns]
        ix.dense[name], ix.cost["d_" + name], cached = embed_cached(enc, name, texts, cache)
        print(
            f"  dense {name:5s} {ix.cost['d_' + name]:6.1f} s{' (cached)' if cached else ''}",
            flush=True,
        )
    for name, (b, a) in POOLED.items():
        started = time.perf_counter()
        ix.dense[name] = pool(turns, ix.dense["spk"], b, a)
        ix.cost["d_" + name] = time.perf_counter() - started
    default = enc.bm25()
    for name in SPARSE_SETS:
        started = time.perf_counter()
        ix.sparse[name] = [default.embed_document(TEXTS[name](turns, t)) for t in turns]
        ix.cost["s_" + name] = time.perf_counter() - started
    for name in SPARSE_TUNED:
        started = time.perf_counter()
        avg = statistics.mean(len(v.indices) for v in ix.sparse[name])
        tuned = enc.bm25(avg_len=avg)
        ix.sparse["L" + name] = [tuned.embed_document(TEXTS[name](turns, t)) for t in turns]
        ix.cost["s_L" + name] = time.perf_counter() - started
    return ix


def edge_config(dim: int, dense: list[str], sparse: list[str], multi: list[str]) -> q.EdgeConfig:
    vectors = {f"d_{n}": q.EdgeVectorParams(size=dim, distance=q.Distance.Cosine) for n in dense}
    for n in multi:
        vectors[n] = q.EdgeVectorParams(
            size=dim,
            distance=q.Distance.Cosine,
            multivector_config=q.MultiVectorConfig(q.MultiVectorComparator.MaxSim),
        )
    return q.EdgeConfig(
        vectors=vectors,
        sparse_vectors={
            f"s_{n}": q.EdgeSparseVectorParams(modifier=q.Modifier.Idf) for n in sparse
        },
    )


def fill_shard(
    path: Path, turns: list[Turn], ix: Index, dense: list[str], sparse: list[str], multi: list[str]
) -> tuple[q.EdgeShard, float]:
    """A new shard with the given named vectors for every turn; returns it and the seconds."""
    started = time.perf_counter()
    dim = next(iter(ix.dense.values())).shape[1]
    shard = q.EdgeShard.create(str(path), edge_config(dim, dense, sparse, multi))
    shard.update(q.UpdateOperation.create_field_index("call_id", q.PayloadSchemaType.Keyword))
    points = []
    for t in turns:
        vec: dict[str, Any] = {f"d_{n}": ix.dense[n][t.idx].tolist() for n in dense}
        for n in multi:
            vec[n] = [ix.dense[p][t.idx].tolist() for p in MULTI[n]]
        for n in sparse:
            sv = ix.sparse[n][t.idx]
            if len(sv.indices):
                vec[f"s_{n}"] = sv
        payload = {
            "call_id": t.call_id,
            "turn": t.pos,
            "speaker": t.speaker,
            "session": t.session,
            "date": t.date,
            "turn_id": t.id,
        }
        points.append(q.Point(id=t.idx, vector=vec, payload=payload))
    for i in range(0, len(points), 256):
        shard.update(q.UpdateOperation.upsert_points(points[i : i + 256]))
    shard.flush()
    return shard, time.perf_counter() - started


# ---------------------------------------------------------------------------- variants


@dataclass
class Variant:
    name: str
    searches: list[str]  # named vectors: d_* dense, s_* sparse, m_* multivector
    fusion: str = "rrf"  # rrf | dbsf | sum (weighted raw scores); ignored for one search
    k: int = 60
    weights: list[float] | None = None
    prefetch: int = 100
    expand: float = 0.0  # neighbour expansion: score += expand * (left + right neighbour)
    expand_depth: int = 100
    mmr: float | None = None  # lambda for MMR (over the dense turn vector) after the fusion
    group: str = ""

    def needs(self) -> set[str]:
        """Named vector sets this variant reads, with the ones they are computed from."""
        out: set[str] = set()
        for s in self.searches:
            parts = ["d_" + p for p in MULTI[s]] if s.startswith("m_") else [s]
            for p in parts:
                out.add(p)
                if p[2:] in POOLED:
                    out.add("d_spk")
        if self.mmr is not None:
            out.add("d_spk")
        return out


def V(name: str, *searches: str, group: str = "", **kw: Any) -> Variant:
    return Variant(name, list(searches), group=group, **kw)


# The reference script: one point per turn, MiniLM dense + BM25, RRF k=60.
REFERENCE = "reference: dense spk + BM25 turn, RRF k=60"
# The recommended recipe (turn + context, dense + BM25, low-k RRF).
RECOMMENDED = "turn+context: d spk, d pooled+-2, s spk, s prev, s +-2; RRF k=10"
BEST4 = ("d_spk", "d_p2", "s_spk", "s_w2")
BEST5 = ("d_spk", "d_p2", "s_spk", "s_prev", "s_w2")

G1, G2, G3, G3B = (
    "1 turn text alone",
    "2 speaker prefix",
    "3 context (embedded text)",
    "3b context (pooled dense)",
)
G4, GL, G6 = "4 session date", "BM25 avg_len", "6 multivector MaxSim"
G5, GC, G7 = "5 fusion", "turn + context combined", "7 post-retrieval"
VARIANTS: list[Variant] = [
    V("turn: dense", "d_turn", group=G1),
    V("turn: BM25", "s_turn", group=G1),
    V("turn: RRF k=60", "d_turn", "s_turn", group=G1),
    V("spk: dense", "d_spk", group=G2),
    V("spk: BM25", "s_spk", group=G2),
    V(REFERENCE, "d_spk", "s_turn", group=G2),
    V("spk: dense spk + BM25 spk, RRF k=60", "d_spk", "s_spk", group=G2),
    V("date+spk: dense", "d_date", group=G4),
    V("date+spk: BM25", "s_date", group=G4),
    V("date+spk: RRF k=60", "d_date", "s_date", group=G4),
    V("prev+turn: dense", "d_prev", group=G3),
    V("turn+next: dense", "d_next", group=G3),
    V("+-1: dense", "d_w1", group=G3),
    V("+-2: dense", "d_w2", group=G3),
    V("prev+turn: BM25", "s_prev", group=G3),
    V("turn+next: BM25", "s_next", group=G3),
    V("+-1: BM25", "s_w1", group=G3),
    V("+-2: BM25", "s_w2", group=G3),
    V("+-3: BM25", "s_w3", group=G3),
    V("+-1: dense w1 + BM25 w1, RRF k=60", "d_w1", "s_w1", group=G3),
    V("+-2: dense w2 + BM25 w2, RRF k=60", "d_w2", "s_w2", group=G3),
    V("pooled +-1: dense", "d_p1", group=G3B),
    V("pooled +-2: dense", "d_p2", group=G3B),
    V("pooled +-3: dense", "d_p3", group=G3B),
    V("turn: BM25 avg_len=mean", "s_Lturn", group=GL),
    V("spk: BM25 avg_len=mean", "s_Lspk", group=GL),
    V("prev+turn: BM25 avg_len=mean", "s_Lprev", group=GL),
    V("MaxSim [turn, +-1]", "m_turn_w1", group=G6),
    V("MaxSim [spk, prev, next]", "m_spk_prev_next", group=G6),
    V("MaxSim [spk, pooled +-2]", "m_spk_p2", group=G6),
    V(
        "MaxSim [spk, pooled +-2] + BM25 spk + BM25 +-2, RRF k=10",
        "m_spk_p2",
        "s_spk",
        "s_w2",
        k=10,
        group=G6,
    ),
    # 5. fusion of the plain turn vectors
    V("spk pair: RRF k=10", "d_spk", "s_spk", k=10, group=G5),
    V("spk pair: RRF k=60, weights dense 1 / BM25 2", "d_spk", "s_spk", weights=[1, 2], group=G5),
    V("spk pair: RRF k=60, weights dense 2 / BM25 1", "d_spk", "s_spk", weights=[2, 1], group=G5),
    V("spk pair: DBSF", "d_spk", "s_spk", fusion="dbsf", group=G5),
    V("spk pair: RRF k=60 prefetch 50", "d_spk", "s_spk", prefetch=50, group=G5),
    V("spk pair: RRF k=60 prefetch 400 (whole call)", "d_spk", "s_spk", prefetch=400, group=G5),
    # turn + context: a turn-level vector (precise) and a window vector (recall), both kinds
    V("BM25 spk + BM25 +-2, score sum", "s_spk", "s_w2", fusion="sum", group=GC),
    V("BM25 spk + BM25 +-2, RRF k=10", "s_spk", "s_w2", k=10, group=GC),
    V("d spk + s spk + s +-2, RRF k=10", "d_spk", "s_spk", "s_w2", k=10, group=GC),
    V("d pooled+-2 + s spk + s +-2, RRF k=10", "d_p2", "s_spk", "s_w2", k=10, group=GC),
    V(
        "d spk, d embedded +-2, s spk, s +-2; RRF k=10",
        "d_spk",
        "d_w2",
        "s_spk",
        "s_w2",
        k=10,
        group=GC,
    ),
    V("d spk, d pooled+-2, s spk, s +-2; RRF k=60", *BEST4, group=GC),
    V("d spk, d pooled+-2, s spk, s +-2; RRF k=10", *BEST4, k=10, group=GC),
    V(
        "d spk, d pooled+-1, s spk, s +-1; RRF k=10",
        "d_spk",
        "d_p1",
        "s_spk",
        "s_w1",
        k=10,
        group=GC,
    ),
    V(
        "d spk, d pooled+-3, s spk, s +-3; RRF k=10",
        "d_spk",
        "d_p3",
        "s_spk",
        "s_w3",
        k=10,
        group=GC,
    ),
    V(RECOMMENDED, *BEST5, k=10, group=GC),
    # fusion settings around the turn + context searches
    V("5-way: RRF k=5", *BEST5, k=5, group=G5),
    V("5-way: RRF k=20", *BEST5, k=20, group=G5),
    V("5-way: RRF k=60", *BEST5, k=60, group=G5),
    V("5-way: DBSF", *BEST5, fusion="dbsf", group=G5),
    V("5-way: RRF k=10, weights dense x2", *BEST5, k=10, weights=[2, 2, 1, 1, 1], group=G5),
    V("5-way: RRF k=10, weights BM25 x2", *BEST5, k=10, weights=[1, 1, 2, 2, 2], group=G5),
    V("5-way: RRF k=10, prefetch 25", *BEST5, k=10, prefetch=25, group=G5),
    V("5-way: RRF k=10, prefetch 400 (whole call)", *BEST5, k=10, prefetch=400, group=G5),
    V("4-way: DBSF", *BEST4, fusion="dbsf", group=G5),
    V(
        "4-way: score sum, BM25 + 10 x cosine",
        *BEST4,
        fusion="sum",
        weights=[10, 10, 1, 1],
        group=G5,
    ),
    # 7. post-retrieval
    V("spk pair RRF k=60 + neighbours 0.3", "d_spk", "s_spk", expand=0.3, group=G7),
    V("5-way RRF k=10 + neighbours 0.1", *BEST5, k=10, expand=0.1, group=G7),
    V("5-way RRF k=10 + neighbours 0.3", *BEST5, k=10, expand=0.3, group=G7),
    V("5-way RRF k=10 + MMR 0.7", *BEST5, k=10, mmr=0.7, group=G7),
]


def call_filter(call_id: str) -> q.Filter:
    return q.Filter(must=[q.FieldCondition(key="call_id", match=q.MatchValue(call_id))])


def run_query(
    shard: q.EdgeShard, v: Variant, qd: list[float], qs: q.SparseVector, call_id: str
) -> list[tuple[int, float]]:
    """Point ids and scores, best first (``DEPTH`` of them, more for neighbour expansion)."""
    flt = call_filter(call_id)
    searches = []
    for s in v.searches:
        vec: Any = qs if s.startswith("s_") else [qd] if s.startswith("m_") else qd
        searches.append(q.Query.Nearest(vec, using=s))
    limit = max(DEPTH, v.expand_depth if v.expand else 0)
    if len(searches) == 1:
        req = q.QueryRequest(limit=limit, query=searches[0], filter=flt)
    else:
        prefetches = [q.Prefetch(limit=v.prefetch, query=s, filter=flt) for s in searches]
        if v.fusion == "dbsf":
            fusion: Any = q.Fusion.Dbsf()
        elif v.fusion == "sum":
            # A weighted sum of the prefetches' raw scores (0 where a point is missing).
            e = q.Expression
            weights = v.weights or [1.0] * len(searches)
            fusion = q.Formula(
                e.Sum(
                    [
                        e.Mult([e.Constant(float(w)), e.Variable(f"$score[{i}]")])
                        for i, w in enumerate(weights)
                    ]
                ),
                defaults={f"$score[{i}]": 0.0 for i in range(len(searches))},
            )
        else:
            fusion = q.Fusion.Rrf(
                k=v.k, weights=[float(w) for w in v.weights] if v.weights else None
            )
        if v.mmr is not None:  # MMR re-ranks the fused candidates by the dense turn vector
            inner = q.Prefetch(limit=v.prefetch, prefetches=prefetches, query=fusion, filter=flt)
            req = q.QueryRequest(
                limit=limit,
                prefetches=[inner],
                query=q.Mmr(qd, lambda_=v.mmr, candidates_limit=v.prefetch, using="d_spk"),
                filter=flt,
            )
        else:
            req = q.QueryRequest(limit=limit, prefetches=prefetches, query=fusion, filter=flt)
    hits = [(int(p.id), float(p.score)) for p in shard.query(req)]
    return hits


def expand(
    hits: list[tuple[int, float]], turns: list[Turn], beta: float
) -> list[tuple[int, float]]:
    """Each turn's score plus ``beta`` x the scores of the turns just before and after it
    (same session). A turn absent from the results but next to a hit gets only that share."""
    score = dict(hits)
    cand = set(score)
    for i in score:
        cand.update(u.idx for u in neighbours(turns, turns[i], 1, 1))
    out = []
    for i in cand:
        nb = [u.idx for u in neighbours(turns, turns[i], 1, 1) if u.idx != i]
        out.append((i, score.get(i, 0.0) + beta * sum(score.get(j, 0.0) for j in nb)))
    out.sort(key=lambda x: (-x[1], x[0]))
    return out


def search(shard, v, turns, qd, qs, call_id) -> list[str]:  # noqa: ANN001
    hits = run_query(shard, v, qd, qs, call_id)
    if v.expand:
        hits = expand(hits, turns, v.expand)
    return [turns[j].id for j, _ in hits[:DEPTH]]


# ---------------------------------------------------------------------------- scoring


def per_question(ranked: list[list[str]], gold: list[list[str]]) -> dict[str, np.ndarray]:
    out = {
        f"R@{k}": np.array(
            [len(set(r[:k]) & set(g)) / len(g) for r, g in zip(ranked, gold, strict=True)]
        )
        for k in KS
    }
    rr = []
    for r, g in zip(ranked, gold, strict=True):
        first = next((i for i, x in enumerate(r) if x in g), None)
        rr.append(0.0 if first is None else 1.0 / (first + 1))
    out["MRR"] = np.array(rr)
    return out


@dataclass
class Result:
    variant: Variant
    ranked: list[list[str]]
    engine_s: float  # mean seconds per question in the engine (+ expansion)
    parts: dict[str, dict[str, float]]  # "all" / call id -> metric -> value


def evaluate(shard, v, turns, queries, qdense, qsparse, calls) -> Result:  # noqa: ANN001
    ranked, took = [], 0.0
    for i, qu in enumerate(queries):
        started = time.perf_counter()
        ranked.append(search(shard, v, turns, qdense[i].tolist(), qsparse[i], qu["call_id"]))
        took += time.perf_counter() - started
    pq = per_question(ranked, [qu["evidence"] for qu in queries])
    parts = {"all": {m: float(x.mean()) for m, x in pq.items()}}
    for call in calls:
        sel = [i for i, qu in enumerate(queries) if qu["call_id"] == call]
        parts[call] = {m: float(x[sel].mean()) for m, x in pq.items()}
    return Result(v, ranked, took / len(queries), parts)


def bootstrap(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> tuple:
    """Mean of a - b and its 95% paired-bootstrap interval over questions."""
    rng = np.random.default_rng(seed)
    d = a - b
    means = [d[rng.integers(0, len(d), len(d))].mean() for _ in range(n)]
    return float(d.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, help="directory to keep document embeddings in")
    parser.add_argument("--quick", action="store_true", help="embed the turn texts only")
    parser.add_argument("--only", help="run only the variants whose name contains this")
    args = parser.parse_args()

    turns, queries = load(args.data)
    calls = sorted({t.call_id for t in turns})
    n_q = {c: sum(x["call_id"] == c for x in queries) for c in calls}
    sessions = len({(t.call_id, t.session) for t in turns})
    print(
        f"{len(turns)} turns in {len(calls)} calls ({sessions} sessions), {len(queries)} "
        f"questions ({', '.join(f'{c}: {n_q[c]}' for c in calls)}); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    enc = Encoders()
    print(f"embedder loaded in {enc.load_s:.1f} s; embedding document texts:", flush=True)
    dense_sets = DENSE_QUICK if args.quick else DENSE_FULL
    ix = build_vectors(turns, enc, dense_sets, args.cache)

    # Questions: embedded one at a time, as a search request would.
    rows, q_embed = [], []
    for qu in queries:
        started = time.perf_counter()
        rows.append(enc.emb.embed([qu["question"]], query=True)[0])
        q_embed.append(time.perf_counter() - started)
    qdense = np.stack(rows)
    bm = enc.bm25()
    started = time.perf_counter()
    qsparse = [bm.embed_query(qu["question"]) for qu in queries]
    q_bm25 = (time.perf_counter() - started) / len(queries)
    print(
        f"question encoding, one at a time: dense mean {statistics.mean(q_embed) * 1000:.1f} ms "
        f"(median {statistics.median(q_embed) * 1000:.1f}), BM25 {q_bm25 * 1000:.2f} ms"
    )

    available = {"d_" + n for n in ix.dense} | {"s_" + n for n in ix.sparse}
    multi = [m for m, parts in MULTI.items() if all(p in ix.dense for p in parts)]
    available |= set(multi)
    variants = [
        v
        for v in VARIANTS
        if (not args.only or args.only in v.name) and all(s in available for s in v.searches)
    ]
    skipped = [v.name for v in VARIANTS if v not in variants]
    tmp = Path(tempfile.mkdtemp(prefix="tune_turns_"))
    try:
        sparse_names = list(ix.sparse)
        shard, upsert_s = fill_shard(tmp / "all", turns, ix, list(ix.dense), sparse_names, multi)
        n_vec = len(ix.dense) + len(sparse_names) + sum(len(MULTI[m]) for m in multi)
        print(f"one shard with all {n_vec} vector sets: upsert {upsert_s:.2f} s\n", flush=True)
        results = [evaluate(shard, v, turns, queries, qdense, qsparse, calls) for v in variants]
        shard.close()
        print_table(results, calls, ix, upsert_s / n_vec, statistics.mean(q_embed), q_bm25)
        if skipped:
            print(f"skipped (need vectors not computed with --quick): {len(skipped)} variants\n")
        by_name = {r.variant.name: r for r in results}
        best = max(results, key=lambda r: r.parts["all"]["R@10"] + r.parts["all"]["R@50"])
        print(f"highest R@10 + R@50 of the {len(results)} rows: {best.variant.name}")
        cross_half(results, calls)
        if REFERENCE in by_name and RECOMMENDED in by_name:
            compare(by_name[RECOMMENDED], by_name[REFERENCE], queries, calls)
        # Both timed back to back in this process, so they see the same machine load.
        for name in (REFERENCE, RECOMMENDED):
            if name in by_name:
                end_to_end(by_name[name].variant, turns, queries, enc, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def print_table(results, calls, ix, per_vec, q_dense, q_bm25) -> None:  # noqa: ANN001
    head = "| variant | questions | " + " | ".join(COLS) + " | index s | query ms (engine) |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    group = None
    for r in results:
        v = r.variant
        if v.group != group:
            group = v.group
            print(f"| **{group}** |" + " |" * (head.count("|") - 2))
        needs = v.needs()
        index_s = sum(ix.cost[p] for p in needs) + per_vec * len(v.searches)
        encode = (q_dense if any(not s.startswith("s_") for s in v.searches) else 0.0) + (
            q_bm25 if any(s.startswith("s_") for s in v.searches) else 0.0
        )
        for part in ["all", *calls]:
            m = r.parts[part]
            first = part == "all"
            print(
                f"| {v.name if first else ''} | {part} | "
                + " | ".join(f"{m[c]:.3f}" for c in COLS)
                + (
                    f" | {index_s:.1f} | {(r.engine_s + encode) * 1000:.1f} "
                    f"({r.engine_s * 1000:.2f}) |"
                    if first
                    else " | | |"
                )
            )
    print()


def cross_half(results: list[Result], calls: list[str]) -> None:
    """Selection bias check: pick the row with the best R@10 + R@50 on one conversation and
    show what it gets on the other one (which played no part in picking it)."""

    def key(r: Result, c: str) -> float:
        return r.parts[c]["R@10"] + r.parts[c]["R@50"]

    for pick in calls:
        best = max(results, key=lambda r: key(r, pick))
        for other in (c for c in calls if c != pick):
            top = max(results, key=lambda r: key(r, other))
            print(
                f"  best on {pick}: {best.variant.name} -> on {other}: R@10 "
                f"{best.parts[other]['R@10']:.3f} R@50 {best.parts[other]['R@50']:.3f} "
                f"(the best row there by the same sum: R@10 {top.parts[other]['R@10']:.3f} "
                f"R@50 {top.parts[other]['R@50']:.3f}, {top.variant.name})"
            )


def compare(a: Result, b: Result, queries: list[dict], calls: list[str]) -> None:
    gold = [qu["evidence"] for qu in queries]
    pa, pb = per_question(a.ranked, gold), per_question(b.ranked, gold)
    print(f"{a.variant.name}\n  minus {b.variant.name} (paired bootstrap, 95% interval):")
    for part in ["all", *calls]:
        sel = np.array([part == "all" or qu["call_id"] == part for qu in queries])
        cells = []
        for m in ("R@10", "R@50", "MRR"):
            d, lo, hi = bootstrap(pa[m][sel], pb[m][sel])
            cells.append(f"{m} {d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        print(f"  {part:6s} " + "  ".join(cells))


def end_to_end(
    v: Variant, turns: list[Turn], queries: list[dict], enc: Encoders, tmp: Path
) -> None:
    """Index only what ``v`` needs into a fresh shard and answer every question, timed."""
    started, cpu = time.perf_counter(), time.process_time()
    ix = Index()
    needs = v.needs()
    ix.dense["spk"] = enc.emb.embed([TEXTS["spk"](turns, t) for t in turns])
    embedded = time.perf_counter() - started
    for n in sorted(x[2:] for x in needs if x.startswith("d_") and x != "d_spk"):
        ix.dense[n] = pool(turns, ix.dense["spk"], *POOLED[n])  # recipe uses pooled vectors only
    bm = enc.bm25()
    sparse = sorted(x[2:] for x in needs if x.startswith("s_"))
    for n in sparse:
        ix.sparse[n] = [bm.embed_document(TEXTS[n](turns, t)) for t in turns]
    dense = [s[2:] for s in v.searches if s.startswith("d_")]
    shard, _ = fill_shard(tmp / f"e2e{len(list(tmp.iterdir()))}", turns, ix, dense, sparse, [])
    indexed = time.perf_counter() - started
    ranked = []
    for qu in queries:
        qd = enc.emb.embed([qu["question"]], query=True)[0].tolist()
        ranked.append(search(shard, v, turns, qd, bm.embed_query(qu["question"]), qu["call_id"]))
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    shard.close()
    pq = per_question(ranked, [qu["evidence"] for qu in queries])
    print(
        f"\nend to end, {v.name}:\n  indexing {len(turns)} turns {indexed:.1f} s (of which "
        f"embedding {embedded:.1f} s); indexing + {len(queries)} questions one at a time "
        f"{total:.1f} s wall, {cpu:.1f} s CPU (all threads); R@10 {pq['R@10'].mean():.3f} "
        f"R@50 {pq['R@50'].mean():.3f} MRR {pq['MRR'].mean():.3f}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
