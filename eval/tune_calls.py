"""How to build a call vector from turn vectors, and how to threshold multi-label output.

Measures no-LLM few-shot call classification with the bundled MiniLM (the real
``FlagEmbedder``) and the product's BM25 encoder (``Bm25Encoder`` as the runtime builds it,
``qdrant.bm25_language``), on three data sets:

* ``crosswoz_zh/dev.csv`` (500 long Chinese dialogues): "first reason" accuracy (label =
  ``first``) and multi-label exact-set accuracy / micro-F1 / macro-F1 (label set = ``labels``);
  a seeded 250/250 split (stratified by ``first``) and 5-fold cross-validation (mean ± sd);
  plus a robustness copy where a random half of the calls open with a greeting turn pair.
* ``banking77/train.csv`` (short English utterances): seeded stratified 80/20 split (seed 42,
  floor(20%) of each intent to dev); 10 shots per intent (mean of 3 seeded draws) and full.
* the demo corpus ``app/demo/calls.jsonl``: held-back ``test`` accuracy (20 calls, 4 Chinese)
  and 5-fold CV over all 120 calls.

Every turn is embedded once, as ``Speaker: text`` (what the turn index embeds); a call vector
is one function of a call's turn vectors and speakers (``call_vector``), used alike for stored
and new calls. Variants: mean of all turns, of customer turns, of the first 1/2/3 customer
turns, position-weighted and length-weighted means, mixes; BM25 of the whole call / customer
turns / opening turns; Chinese-character TF-IDF blocks; per-language weights; one-vs-rest
logistic regression with fixed or cross-validated per-label thresholds vs today's rule
(secondary labels with blended score >= 0.3) vs the kNN label share. ``WINNER`` is the
recommended recipe.

"today" reproduces the product classifier at HEAD (``retrieval/classify/knn.py`` +
``label_model.py``, ``ClassifySettings`` defaults): stored call = mean of its ~200-token chunk
vectors, new call = the whole ``Speaker: text`` transcript embedded as one text (cut at 512
tokens), BM25 of the whole transcript, a 10+10 neighbour vote (softmax, T=0.05; dense 0.8 /
BM25 0.2, Chinese 0.3 / 0.7) blended at 0.7 with a multinomial logistic regression on dense +
IDF-weighted BM25 (x0.5). "in-progress turn index" is the working tree during this study
(stored call = plain mean of its turn vectors, new call still one whole text). Neighbours are
computed exactly with numpy (cosine) and scipy (BM25 dot product, Qdrant's IDF formula), not
Qdrant; fed the same vectors, the product's ``neighbour_vote`` + ``LabelModel`` + decision
rule give the same primary label and label set as ``TODAY`` here on all 250 test calls.

Embeddings are cached by text under ``--cache`` (default /tmp/callscope_tune_calls): a cold
run first embeds ~40k texts (about 30 min on 2 busy CPUs); with the cache all tables take
4-7 min on 2 CPUs (``--quick``: one CV fold, fewer rows).

    python -m eval.tune_calls                # all tables
    python -m eval.tune_calls --only crosswoz --no-throughput
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import sparse as sp

from app.core.config import EmbeddingSettings, load_settings
from app.core.models import Transcript, Turn
from app.core.text import call_text, encoding, has_cjk
from ingest.sources import parse_text_turns, transcript_from_json
from retrieval.index.sparse import Bm25Encoder
from retrieval.index.store import SparseVec

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CROSSWOZ = SHARED / "crosswoz_zh" / "dev.csv"
BANKING = SHARED / "banking77" / "train.csv"
DEMO = ROOT / "app" / "demo" / "calls.jsonl"


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------
@dataclass
class Call:
    id: str
    turns: list[Turn]
    labels: list[str]  # primary first
    zh: bool
    split: str | None = None


def load_crosswoz() -> list[Call]:
    import pandas as pd

    df = pd.read_csv(CROSSWOZ)
    out = []
    for row in df.itertuples():
        first = str(row.first)
        rest = sorted(set(str(row.labels).split(";")) - {first})
        turns = parse_text_turns(str(row.text))
        out.append(Call(str(row.id), turns, [first, *rest], True))
    return out


def load_demo() -> list[Call]:
    out = []
    for line in DEMO.read_text("utf-8").splitlines():
        row = json.loads(line)
        transcript, _ = transcript_from_json({"turns": row["turns"]}, row["id"])
        text = " ".join(t.text for t in transcript.turns)
        out.append(
            Call(row["id"], transcript.turns, list(row["labels"]), has_cjk(text), row["split"])
        )
    return out


def load_banking() -> tuple[list[Call], list[Call]]:
    """Seeded stratified 80/20 split: per intent (sorted), shuffle with Random(42) and send
    floor(20%) to dev."""
    import pandas as pd

    df = pd.read_csv(BANKING)
    by: dict[str, list[int]] = defaultdict(list)
    for i, cat in enumerate(df["category"]):
        by[str(cat)].append(i)
    rng = random.Random(42)
    train, dev = [], []
    for cat in sorted(by):
        rows = by[cat][:]
        rng.shuffle(rows)
        n_dev = math.floor(0.2 * len(rows))
        dev += rows[:n_dev]
        train += rows[n_dev:]

    def call(i: int) -> Call:
        text = str(df["text"][i])
        return Call(f"b{i}", parse_text_turns(text), [str(df["category"][i])], has_cjk(text))

    return [call(i) for i in sorted(train)], [call(i) for i in sorted(dev)]


def shots(calls: list[Call], n: int, seed: int) -> list[Call]:
    by: dict[str, list[Call]] = defaultdict(list)
    for c in calls:
        by[c.labels[0]].append(c)
    rng = random.Random(seed)
    return [c for lab in sorted(by) for c in rng.sample(by[lab], min(n, len(by[lab])))]


# ------------------------------------------------------------------------------------------
# embeddings (cached by text)
# ------------------------------------------------------------------------------------------
class Embeddings:
    def __init__(self, cache_dir: Path) -> None:
        from retrieval.index.embedding import make_embedder

        self.embedder = make_embedder(EmbeddingSettings())
        key = hashlib.sha1(self.embedder.model_id.encode()).hexdigest()[:8]
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / f"emb-{key}.npz"
        self.vecs: dict[str, np.ndarray] = {}
        if self.path.exists():
            z = np.load(self.path, allow_pickle=True)
            self.vecs = dict(zip(z["keys"].tolist(), z["vecs"], strict=True))

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self.vecs})
        for i in range(0, len(todo), 1024):
            batch = todo[i : i + 1024]
            started = time.perf_counter()
            self.vecs.update(zip(batch, self.embedder.embed(batch), strict=True))
            print(
                f"  embedded {i + len(batch)}/{len(todo)} new texts "
                f"({len(batch) / (time.perf_counter() - started):.0f}/s)",
                flush=True,
            )
            self._save()
        if not texts:
            return np.zeros((0, self.embedder.dim), np.float32)
        return np.stack([self.vecs[t] for t in texts])

    def _save(self) -> None:
        keys = list(self.vecs)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(
            tmp, keys=np.array(keys, dtype=object), vecs=np.stack([self.vecs[k] for k in keys])
        )
        os.replace(tmp, self.path)


# ------------------------------------------------------------------------------------------
# the call vector: ONE function of a call's turn vectors, for stored and new calls alike
# ------------------------------------------------------------------------------------------
def customer_turns(turns: Sequence[Turn]) -> list[int]:
    """Indices of the customer's turns; all turns when no speaker is called ``customer``
    (single utterances, mono recordings)."""
    idx = [i for i, t in enumerate(turns) if t.speaker == "customer"]
    return idx or list(range(len(turns)))


def _unit(v: np.ndarray) -> np.ndarray:
    """L2-normalised, float32 (as the store keeps vectors)."""
    return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)


def call_vector(vecs: np.ndarray, turns: Sequence[Turn], view: str) -> np.ndarray:
    """``view``: ``all`` (mean of all turns), ``cust`` (customer turns), ``openN`` (first N
    customer turns), ``posH`` (customer turns weighted 0.5 ** (i / H), i = customer-turn
    index), ``allposH`` (all turns, same weights), ``lenV`` (view V with each turn weighted by
    its length in characters), ``A+B@w`` (w * unit(A) + (1-w) * unit(B))."""
    if "+" in view:
        pair, _, w = view.partition("@")
        a, b = pair.split("+")
        wt = float(w or 0.5)
        return _unit(wt * call_vector(vecs, turns, a) + (1 - wt) * call_vector(vecs, turns, b))
    if view.startswith("pfx:"):  # handled by Dataset (prefixed turn vectors)
        view = view[4:]
    cust = customer_turns(turns)
    if view.startswith("len"):  # the same view, each turn weighted by its length in characters
        sizes = np.array([len(t.text) for t in turns], np.float64)
        return call_vector(vecs * sizes[:, None], turns, view[3:])
    if view == "all":
        return _unit(vecs.mean(axis=0))
    if view == "cust":
        return _unit(vecs[cust].mean(axis=0))
    if view.startswith("open"):
        return _unit(vecs[cust[: int(view[4:])]].mean(axis=0))
    if view.startswith("allpos"):
        h = float(view[6:])
        w = 0.5 ** (np.arange(len(vecs)) / h)
        return _unit((w[:, None] * vecs).sum(axis=0))
    if view.startswith("pos"):
        h = float(view[3:])
        w = 0.5 ** (np.arange(len(cust)) / h)
        return _unit((w[:, None] * vecs[cust]).sum(axis=0))
    raise ValueError(view)


def view_text(turns: Sequence[Turn], view: str) -> str:
    """Text of a view for BM25 / TF-IDF, as ``Speaker: text`` lines (the form the product
    indexes, so a one-utterance call gives the same text for every view): ``call`` (all
    turns), ``cust`` (customer turns), ``agent`` (the other turns), ``openN`` (the first N
    customer turns)."""
    if view == "call":
        return call_text(Transcript(turns=list(turns)))
    cust = customer_turns(turns)
    if view == "cust":
        keep = cust
    elif view == "agent":
        keep = [i for i in range(len(turns)) if i not in set(cust)]
    elif view.startswith("open"):
        keep = cust[: int(view[4:])]
    else:
        raise ValueError(view)
    return call_text(Transcript(turns=[turns[i] for i in keep]))


def old_windows(turns: Sequence[Turn], max_tokens: int = 200, overlap: int = 40) -> list[str]:
    """The ~200-token windows (40 overlapping) whose mean vector was a stored call's vector
    before this study (the removed ``ingest/chunking.py``), kept to reproduce "today"."""
    enc = encoding("cl100k_base")
    pieces: list[tuple[str, int]] = []
    for t in turns:
        if not t.text.strip():
            continue
        label = f"{t.speaker.capitalize()}: "
        ids = enc.encode(label + t.text.strip())
        if len(ids) <= max_tokens:
            pieces.append((label + t.text.strip(), len(ids)))
            continue
        body, width = enc.encode(t.text.strip()), max_tokens - len(enc.encode(label))
        for off in range(0, len(body), max(width - overlap, 1)):
            pieces.append((label + enc.decode(body[off : off + width]).strip(), width))
            if off + width >= len(body):
                break
    out, i = [], 0
    while i < len(pieces):
        j, size = i, 0
        while j < len(pieces) and (j == i or size + pieces[j][1] <= max_tokens):
            size += pieces[j][1]
            j += 1
        out.append("\n".join(p for p, _ in pieces[i:j]))
        if j >= len(pieces):
            break
        back, k = 0, j
        while k - 1 > i and back + pieces[k - 1][1] <= overlap:
            k -= 1
            back += pieces[k][1]
        i = k
    return out or [" "]


# ------------------------------------------------------------------------------------------
# per-data-set feature store
# ------------------------------------------------------------------------------------------
class Dataset:
    """Calls with their turn vectors; views are computed once and cached."""

    def __init__(
        self,
        name: str,
        calls: list[Call],
        emb: Embeddings,
        bm25: Bm25Encoder,
        today: bool = True,
        prefixed: bool = False,
    ) -> None:
        self.name = name
        self.calls = calls
        self.emb = emb
        self.bm25 = bm25
        self.index = {c.id: i for i, c in enumerate(calls)}
        texts = [t.text for c in calls for t in c.turns]
        flat = emb(texts)
        self.turn_vecs, n = [], 0
        for c in calls:
            self.turn_vecs.append(flat[n : n + len(c.turns)])
            n += len(c.turns)
        self.prefixed_vecs: list[np.ndarray] | None = None
        if prefixed:
            flat = emb([f"{t.speaker.capitalize()}: {t.text}" for c in calls for t in c.turns])
            self.prefixed_vecs, n = [], 0
            for c in calls:
                self.prefixed_vecs.append(flat[n : n + len(c.turns)])
                n += len(c.turns)
        self._dense: dict[str, np.ndarray] = {}
        self._sparse: dict[str, list[SparseVec]] = {}
        self._texts: dict[str, list[str]] = {}
        if today:
            # Today's product: a new call is one text cut at max length; a stored call is the
            # mean of its chunk vectors.
            whole = [call_text(Transcript(turns=c.turns)) for c in calls]
            self._dense["today_whole"] = emb(whole)
            per = [old_windows(c.turns) for c in calls]
            flat = emb([t for p in per for t in p])
            out, n = [], 0
            for p in per:
                out.append(_unit(flat[n : n + len(p)].mean(axis=0)))
                n += len(p)
            self._dense["today_chunks"] = np.stack(out)

    def dense(self, view: str) -> np.ndarray:
        if view not in self._dense:
            if view.startswith("pfx:"):
                assert self.prefixed_vecs is not None
                vecs, v = self.prefixed_vecs, view[4:]
            else:
                vecs, v = self.turn_vecs, view
            self._dense[view] = np.stack(
                [call_vector(tv, c.turns, v) for tv, c in zip(vecs, self.calls, strict=True)]
            )
        return self._dense[view]

    def texts(self, view: str) -> list[str]:
        if view not in self._texts:
            self._texts[view] = [view_text(c.turns, view) for c in self.calls]
        return self._texts[view]

    def sparse(self, view: str) -> list[SparseVec]:
        if view not in self._sparse:
            self._sparse[view] = self.bm25.encode_documents(self.texts(view))
        return self._sparse[view]


# ------------------------------------------------------------------------------------------
# BM25 with Qdrant's IDF modifier, as sparse matrices
# ------------------------------------------------------------------------------------------
class Bm25Index:
    """IDF over the training calls (Qdrant: ln(1 + (N - n + 0.5) / (n + 0.5))); the query of
    a new call is its document vector (``classify_texts`` uses ``encode_documents``)."""

    def __init__(self, train: Sequence[SparseVec]) -> None:
        df: Counter[int] = Counter()
        for sv in train:
            df.update(set(sv.indices))
        self.vocab = {tok: col for col, tok in enumerate(sorted(df))}
        n = len(train)
        self.idf = np.array(
            [math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in sorted(df)], np.float64
        )
        self.docs = self.matrix(train).multiply(self.idf[None, :]).tocsr()

    def matrix(self, vecs: Sequence[SparseVec]) -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for r, sv in enumerate(vecs):
            for i, v in zip(sv.indices, sv.values, strict=True):
                c = self.vocab.get(i)
                if c is not None:
                    rows.append(r)
                    cols.append(c)
                    vals.append(v)
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(vecs), len(self.vocab)))

    def scores(self, queries: Sequence[SparseVec]) -> np.ndarray:
        return (self.matrix(queries) @ self.docs.T).toarray()

    def features(self, vecs: Sequence[SparseVec]) -> sp.csr_matrix:
        """As ``LabelModel._features``: TF x IDF, rows L2-normalised."""
        m = self.matrix(vecs).multiply(self.idf[None, :]).tocsr()
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.diags(1 / norms) @ m


# ------------------------------------------------------------------------------------------
# recipes
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    name: str
    # neighbour vote: dense view / BM25 text view (None = off)
    vote_dense: str | None = "cust"
    vote_bm25: str | None = "call"
    dense_weight: float = 0.8
    dense_weight_zh: float = 0.3
    k: int = 10
    temperature: float = 0.05
    #: today: a neighbour's vote is split over all its labels; else only its primary label.
    vote_all_labels: bool = False
    # light model (logistic regression) feature blocks
    lr_dense: tuple[str, ...] = ("cust",)
    lr_bm25: tuple[str, ...] = ("call",)
    bm25_weight: float = 0.5
    lr_tfidf: tuple[str, ...] = ()
    tfidf_weight: float = 1.0
    tfidf_ngrams: tuple[int, int] = (1, 3)
    tfidf_analyzer: str = "char_wb"
    #: tfidf blocks only for Chinese calls' corpora (a data set that has any Chinese call)
    tfidf_zh_only: bool = False
    c: float = 10.0
    #: Chinese calls get no dense vector at all (zeros in the light model, no dense vote):
    #: the English MiniLM is then never run on them.
    zh_no_dense: bool = False
    model_weight: float = 0.7
    model_weight_zh: float | None = None
    # multi-label: "today" (blended score >= 0.3), "ovr@T" (OvR LR fixed threshold T),
    # "ovr-cv" (per-label thresholds maximising F1 in inner 5-fold CV), "share-cv" (kNN
    # label share, thresholds by leave-one-out), "mix-cv" (mean of OvR and share, inner CV),
    # "ovr-cv-exact" (one global threshold maximising exact-set accuracy in inner CV)
    multi: str = "ovr-cv"


#: TURN_MEAN_TODAY is the working tree during this study: stored call = mean of its
#: ``Speaker: text`` turn vectors (ingest/turns.py call_vector), new call still one whole
#: text (knn.classify_texts).
TODAY = Recipe(
    "today (product)",
    vote_dense="today_chunks|today_whole",
    vote_bm25="call",
    vote_all_labels=True,
    lr_dense=("today_chunks|today_whole",),
    lr_bm25=("call",),
    multi="today",
)
TURN_MEAN_TODAY = replace(
    TODAY,
    name="in-progress turn index (stored = turn mean, new = whole text)",
    vote_dense="pfx:all|today_whole",
    lr_dense=("pfx:all|today_whole",),
)


@dataclass
class Result:
    primary: list[str]
    sets: list[list[str]]
    fit_s: float = 0.0
    predict_s: float = 0.0
    extra: dict = field(default_factory=dict)


def _dense_pair(
    ds: Dataset, view: str, tr: np.ndarray, te: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    a, b = sides(view)
    return ds.dense(a)[tr], ds.dense(b)[te]


def sides(view: str) -> tuple[str, str]:
    """``A|B``: view A for stored (training) calls, view B for new calls; else the same."""
    a, _, b = view.partition("|")
    return a, b or a


def _vote(
    sims: np.ndarray,
    train_labels: list[list[str]],
    labels: list[str],
    k: int,
    t: float,
    relative: bool,
    mode: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax-weighted vote of the k most similar training calls per row.

    mode: "split" (a neighbour's weight divided over its labels: today), "primary" (to its
    primary label), "share" (to each of its labels in full: the share of neighbours having
    a label). Returns (scores (n, L), present (n,) bool: any neighbour)."""
    col = {lab: j for j, lab in enumerate(labels)}
    n = sims.shape[0]
    out = np.zeros((n, len(labels)))
    present = np.zeros(n, bool)
    kk = min(k, sims.shape[1])
    top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
    for r in range(n):
        idx = top[r]
        s = sims[r, idx]
        if relative:  # BM25: only calls sharing a term are hits; scale by the best
            keep = s > 0
            idx, s = idx[keep], s[keep]
            if len(s) == 0:
                continue
            s = s / (s.max() or 1.0)
        present[r] = True
        w = np.exp((s - s.max()) / t)
        w /= w.sum()
        for j, wj in zip(idx, w, strict=True):
            labs = train_labels[j]
            if mode == "split":
                for lab in labs:
                    out[r, col[lab]] += wj / len(labs)
            elif mode == "primary":
                out[r, col[labs[0]]] += wj
            else:
                for lab in labs:
                    out[r, col[lab]] += wj
    return out, present


_SCRIPT_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W\d_]+|\d+")


_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def cjk_tokens(text: str) -> list[str]:
    """Chinese characters only (one token each; runs split at anything else): a call without
    Chinese has no features here, so the block is inert for English."""
    return [ch for run in _CJK_CHAR.findall(text) for ch in run]


def script_tokens(text: str) -> list[str]:
    """One token per CJK character and per word of other scripts (lowercased): n-grams over
    them are character n-grams in Chinese and word n-grams in English."""
    return [t.lower() for t in _SCRIPT_TOKEN.findall(text)]


class Features:
    """The light model's feature matrix for one train/test split (transforms fitted on train)."""

    def __init__(self, ds: Dataset, recipe: Recipe, tr: np.ndarray) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.ds, self.r, self.tr = ds, recipe, tr
        self.bm25 = {v: Bm25Index([ds.sparse(v)[i] for i in tr]) for v in recipe.lr_bm25}
        use_tfidf = recipe.lr_tfidf and (
            not recipe.tfidf_zh_only or any(ds.calls[i].zh for i in tr)
        )
        self.tfidf = {}
        if use_tfidf:
            for v in recipe.lr_tfidf:
                tok = {"script": script_tokens, "cjk": cjk_tokens}.get(recipe.tfidf_analyzer)
                script = tok is not None
                vec = TfidfVectorizer(
                    analyzer="word" if script else recipe.tfidf_analyzer,
                    tokenizer=tok,
                    token_pattern=None,
                    ngram_range=recipe.tfidf_ngrams,
                    sublinear_tf=True,
                    lowercase=not script,
                )
                try:
                    vec.fit([ds.texts("cust" if "pos" in v else v)[i] for i in tr])
                except ValueError:  # empty vocabulary (no Chinese in the training calls)
                    continue
                self.tfidf[v] = vec

    def x(self, rows: np.ndarray, train_side: bool) -> sp.csr_matrix:
        ds, r = self.ds, self.r
        blocks = []
        for v in r.lr_dense:
            d = ds.dense(sides(v)[0 if train_side else 1])[rows]
            if r.zh_no_dense:
                d = d * np.array([not ds.calls[i].zh for i in rows], np.float32)[:, None]
            blocks.append(sp.csr_matrix(d))
        for v, idx in self.bm25.items():
            blocks.append(r.bm25_weight * idx.features([ds.sparse(v)[i] for i in rows]))
        for v, vec in self.tfidf.items():
            if v.startswith(("pos", "lenpos")):
                m = self._positional(vec, rows, float(v.removeprefix("len")[3:]), v[:3] == "len")
            else:
                m = vec.transform([ds.texts(v)[i] for i in rows])
            blocks.append(r.tfidf_weight * m)
        return sp.hstack(blocks, format="csr")

    def _positional(
        self, vec, rows: np.ndarray, h: float, by_length: bool = False
    ) -> sp.csr_matrix:
        """Customer turns' TF-IDF vectors weighted 0.5 ** (i / h) (i = customer-turn index;
        ``by_length``: times the turn's length in characters, so a short greeting weighs
        little), summed, L2-normalised: the opening counts most without betting on turn one."""
        out = []
        for r in rows:
            turns = self.ds.calls[r].turns
            cust = customer_turns(turns)
            m = vec.transform([turns[i].text for i in cust])
            w = 0.5 ** (np.arange(len(cust)) / h)
            if by_length:
                w = w * np.array([len(turns[i].text) for i in cust])
            v = sp.csr_matrix(w[None, :]) @ m
            norm = np.sqrt(v.multiply(v).sum()) or 1.0
            out.append(v / norm)
        return sp.vstack(out, format="csr")


def _lr(c: float, binary: bool = False):
    """Multinomial LR as ``LabelModel`` fits it (lbfgs); binary one-vs-rest models use
    liblinear, 10x faster here on sparse n-gram features."""
    from sklearn.linear_model import LogisticRegression

    if binary:
        return LogisticRegression(C=c, solver="liblinear", max_iter=1000)
    return LogisticRegression(C=c, max_iter=1000)


GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


#: A label needs this many training calls where it is a secondary label before it is ever
#: added as one (below that its threshold is out of reach).
MIN_SECONDARY = 3


def _best_thresholds(
    scores: np.ndarray, y: np.ndarray, primary: np.ndarray | None = None, objective: str = "f1"
) -> np.ndarray:
    """Per label, the grid threshold maximising F1 (or accuracy) of the label's decision
    (ties: the one closest to 0.5). With ``primary`` (column index of each row's primary
    label), rows where the label is the primary are left out: the threshold decides
    *secondary* labels only, and a label seldom secondary (< MIN_SECONDARY) is never added."""
    out = np.full(y.shape[1], 0.5)
    for j in range(y.shape[1]):
        rows = np.ones(len(y), bool) if primary is None else primary != j
        yj, sj = y[rows, j], scores[rows, j]
        if primary is not None and yj.sum() < MIN_SECONDARY:
            out[j] = np.inf
            continue
        best = (-1.0, 0.0)
        for t in GRID:
            p = sj >= t
            tp = float((p & (yj == 1)).sum())
            if objective == "acc":
                f1 = float((p == (yj == 1)).mean())
            else:
                f1 = 2 * tp / (p.sum() + yj.sum()) if (p.sum() + yj.sum()) else 0.0
            key = (round(f1, 9), -abs(t - 0.5))
            if key > best:
                best, out[j] = key, t
    return out


def _best_global_exact(scores: np.ndarray, y: np.ndarray, primary: np.ndarray) -> float:
    best, thr = -1.0, 0.5
    for t in GRID:
        pred = scores >= t
        pred[np.arange(len(primary)), primary] = True
        acc = float((pred == (y == 1)).all(axis=1).mean())
        if acc > best + 1e-12:
            best, thr = acc, t
    return thr


class Model:
    """One recipe fitted on training calls ``tr`` of a data set; ``predict`` on other calls.

    ``primary_only_labels``: the training calls carry only their primary label (today's
    ``--label-col first``)."""

    def __init__(
        self, ds: Dataset, recipe: Recipe, tr: np.ndarray, primary_only_labels: bool = False
    ) -> None:
        started = time.perf_counter()
        self.ds, self.r, self.tr = ds, recipe, tr
        calls = ds.calls
        self.train_labels = [
            calls[i].labels[:1] if primary_only_labels else calls[i].labels for i in tr
        ]
        self.labels = sorted({lab for labs in self.train_labels for lab in labs})
        self.col = {lab: j for j, lab in enumerate(self.labels)}
        self.ymat = np.zeros((len(tr), len(self.labels)), int)
        for r, labs in enumerate(self.train_labels):
            for lab in labs:
                self.ymat[r, self.col[lab]] = 1
        self.zh_tr = np.array([calls[i].zh for i in tr])
        # neighbour indexes
        self.dtr = None
        if recipe.vote_dense or recipe.multi.startswith(("share", "mix")):
            view = recipe.vote_dense or "cust"
            self.dtr = ds.dense(sides(view)[0])[tr]
        self.bindex = None
        if recipe.vote_bm25:
            self.bindex = Bm25Index([ds.sparse(recipe.vote_bm25)[i] for i in tr])
        # light model on the primary label
        self.feats = Features(ds, recipe, tr)
        self.xtr = self.feats.x(tr, True)
        ytr = [labs[0] for labs in self.train_labels]
        self.clf = None
        if len(set(ytr)) >= 2 and (recipe.model_weight > 0 or (recipe.model_weight_zh or 0) > 0):
            self.clf = _lr(recipe.c).fit(self.xtr, ytr)
        # multi-label scorer and its thresholds
        self.single = self.ymat.sum(axis=1).max() <= 1
        self.kind, _, thr = recipe.multi.partition("@")
        self.thresholds = None
        self.ovr: list = []
        if not self.single and self.kind != "today":
            base = self.kind.split("-")[0]
            oof = []
            if base in ("ovr", "mix"):
                self.ovr = _ovr_fit(self.xtr, self.ymat, recipe.c)
                if not thr:
                    oof.append(self._ovr_oof())
            if base in ("share", "mix") and not thr:
                oof.append(self._share_loo())
            if thr:
                t = np.full(len(self.labels), float(thr))
            else:
                scores = np.mean(oof, axis=0)
                prim = np.array([self.col[labs[0]] for labs in self.train_labels])
                if self.kind.endswith("-exact"):
                    t = np.full(len(self.labels), _best_global_exact(scores, self.ymat, prim))
                elif self.kind.endswith("-all"):  # plain per-label F1 over all rows
                    t = _best_thresholds(scores, self.ymat)
                elif self.kind.endswith("-acc"):
                    t = _best_thresholds(scores, self.ymat, prim, "acc")
                else:
                    t = _best_thresholds(scores, self.ymat, prim)
            self.thresholds = t
        self.fit_s = time.perf_counter() - started

    # -- fitting helpers ------------------------------------------------------------------
    def _ovr_oof(self) -> np.ndarray:
        from sklearn.model_selection import KFold

        oof = np.zeros(self.ymat.shape, float)
        for a, b in KFold(5, shuffle=True, random_state=0).split(self.xtr):
            oof[b] = _ovr_predict(_ovr_fit(self.xtr[a], self.ymat[a], self.r.c), self.xtr[b])
        return oof

    def _share_loo(self) -> np.ndarray:
        r = self.r
        loo = self.dtr @ self.dtr.T
        np.fill_diagonal(loo, -np.inf)
        out = _vote(loo, self.train_labels, self.labels, r.k, r.temperature, False, "share")[0]
        if self.bindex is not None:
            bl = self.bindex.scores([self.ds.sparse(r.vote_bm25)[i] for i in self.tr])
            np.fill_diagonal(bl, 0)
            bs = _vote(bl, self.train_labels, self.labels, r.k, r.temperature, True, "share")[0]
            dw = np.where(self.zh_tr, r.dense_weight_zh, r.dense_weight)[:, None]
            out = dw * out + (1 - dw) * bs
        return out

    # -- prediction -----------------------------------------------------------------------
    def predict(self, te: np.ndarray) -> Result:
        started = time.perf_counter()
        ds, r, labels = self.ds, self.r, self.labels
        n = len(te)
        zh = np.array([ds.calls[i].zh for i in te])
        mode = "split" if r.vote_all_labels else "primary"
        dense_sims = bm25_sims = None
        if self.dtr is not None:
            view = r.vote_dense or "cust"
            dense_sims = ds.dense(sides(view)[1])[te] @ self.dtr.T
        if self.bindex is not None:
            bm25_sims = self.bindex.scores([ds.sparse(r.vote_bm25)[i] for i in te])
        dw = np.where(zh, 0.0 if r.zh_no_dense else r.dense_weight_zh, r.dense_weight)
        vote = np.zeros((n, len(labels)))
        dpres = bpres = np.zeros(n, bool)
        if r.vote_dense:
            dv, dpres = _vote(
                dense_sims, self.train_labels, labels, r.k, r.temperature, False, mode
            )
            if r.zh_no_dense:
                dpres = dpres & ~zh
            vote += dw[:, None] * dv
        if r.vote_bm25:
            bv, bpres = _vote(bm25_sims, self.train_labels, labels, r.k, r.temperature, True, mode)
            vote += (1 - dw)[:, None] * bv
        tot = vote.sum(axis=1, keepdims=True)
        renorm = ~(dpres & bpres)[:, None] & (tot > 0)
        vote = np.where(renorm, vote / np.where(tot > 0, tot, 1), vote)
        xte = self.feats.x(te, False)
        mw = np.where(
            zh, r.model_weight if r.model_weight_zh is None else r.model_weight_zh, r.model_weight
        )
        probs = np.zeros((n, len(labels)))
        if self.clf is not None:
            p = self.clf.predict_proba(xte)
            for j, lab in enumerate(self.clf.classes_):
                probs[:, self.col[str(lab)]] = p[:, j]
        else:
            mw = np.zeros(n)
        scores = (1 - mw)[:, None] * vote + mw[:, None] * probs
        pidx = scores.argmax(axis=1)
        primary = [labels[j] for j in pidx]
        if self.single:
            sets = [[p] for p in primary]
        elif self.kind == "today":
            sets = [
                [labels[j]]
                + [labels[i] for i in np.argsort(-scores[q]) if i != j and scores[q, i] >= 0.3]
                for q, j in enumerate(pidx)
            ]
        else:
            base = self.kind.split("-")[0]
            ml = []
            if base in ("ovr", "mix"):
                ml.append(_ovr_predict(self.ovr, xte))
            if base in ("share", "mix"):
                sh = _vote(
                    dense_sims, self.train_labels, labels, r.k, r.temperature, False, "share"
                )[0]
                if bm25_sims is not None:
                    bs = _vote(
                        bm25_sims, self.train_labels, labels, r.k, r.temperature, True, "share"
                    )[0]
                    sh = dw[:, None] * sh + (1 - dw)[:, None] * bs
                ml.append(sh)
            ms = np.mean(ml, axis=0)
            t = self.thresholds
            sets = []
            for q, j in enumerate(pidx):
                extra = {labels[i] for i in range(len(labels)) if ms[q, i] >= t[i]} - {labels[j]}
                sets.append([labels[j], *sorted(extra)])
        return Result(primary, sets, fit_s=self.fit_s, predict_s=time.perf_counter() - started)


def _ovr_fit(x: sp.csr_matrix, y: np.ndarray, c: float) -> list:
    """One binary LR per label column (a constant column keeps its constant)."""
    out = []
    for j in range(y.shape[1]):
        col = y[:, j]
        out.append(float(col[0]) if col.min() == col.max() else _lr(c, True).fit(x, col))
    return out


def _ovr_predict(models: list, x: sp.csr_matrix) -> np.ndarray:
    out = np.zeros((x.shape[0], len(models)))
    for j, m in enumerate(models):
        out[:, j] = m if isinstance(m, float) else m.predict_proba(x)[:, 1]
    return out


def run_recipe(
    ds: Dataset, recipe: Recipe, tr: np.ndarray, te: np.ndarray, primary_only_labels: bool = False
) -> Result:
    return Model(ds, recipe, tr, primary_only_labels).predict(te)


# ------------------------------------------------------------------------------------------
# metrics
# ------------------------------------------------------------------------------------------
def metrics(gold: list[list[str]], res: Result) -> dict[str, float]:
    labels = sorted({lab for g in gold for lab in g} | {lab for s in res.sets for lab in s})
    acc = float(np.mean([g[0] == p for g, p in zip(gold, res.primary, strict=True)]))
    exact = float(np.mean([set(g) == set(s) for g, s in zip(gold, res.sets, strict=True)]))
    tp = Counter()
    fp = Counter()
    fn = Counter()
    for g, s in zip(gold, res.sets, strict=True):
        for lab in labels:
            tp[lab] += lab in g and lab in s
            fp[lab] += lab not in g and lab in s
            fn[lab] += lab in g and lab not in s
    ttp, tfp, tfn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    micro = 2 * ttp / (2 * ttp + tfp + tfn) if ttp else 0.0
    f1s = [2 * tp[lab] / (2 * tp[lab] + fp[lab] + fn[lab]) if tp[lab] else 0.0 for lab in labels]
    return {"acc": acc, "exact": exact, "micro": micro, "macro": float(np.mean(f1s))}


def fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{100 * values[0]:.1f}"
    return f"{100 * np.mean(values):.1f} ± {100 * np.std(values):.1f}"


# ------------------------------------------------------------------------------------------
# evaluation drivers
# ------------------------------------------------------------------------------------------
def crosswoz_splits(calls: list[Call], seed: int = 0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The 250/250 split (stratified by the first reason) and 5 stratified CV folds."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    y = np.array([c.labels[0] for c in calls])
    idx = np.arange(len(calls))
    tr, te = train_test_split(idx, test_size=0.5, stratify=y, random_state=seed)
    out = [("split", np.sort(tr), np.sort(te))]
    for f, (a, b) in enumerate(StratifiedKFold(5, shuffle=True, random_state=seed).split(idx, y)):
        out.append((f"cv{f}", a, b))
    return out


def evaluate(ds: Dataset, recipe: Recipe, splits, primary_only_labels: bool = False) -> dict:
    """Metrics per split name; 'cv' = the list over the cv folds."""
    out: dict = {"cv": []}
    for name, tr, te in splits:
        res = run_recipe(ds, recipe, tr, te, primary_only_labels)
        m = metrics([ds.calls[i].labels for i in te], res)
        if name.startswith("cv"):
            out["cv"].append(m)
        else:
            out[name] = m
    return out


#: The recipe this study recommends (see the module docstring and the printed tables).
WINNER = Recipe(
    "recommended",
    # call vector: mean of the call's `Speaker: text` turn vectors weighted by turn length
    vote_dense="pfx:lenall",
    # BM25 neighbours by the first customer turn
    vote_bm25="open1",
    dense_weight=0.8,
    dense_weight_zh=0.3,
    # light model: call vector + BM25 of the whole call (x0.5, as today) + Chinese-character
    # TF-IDF blocks (x2): opening (customer turns weighted by length x 0.5**(2i)), customer
    # turns, whole call
    lr_dense=("pfx:lenall",),
    lr_bm25=("call",),
    bm25_weight=0.5,
    lr_tfidf=("lenpos0.5", "cust", "call"),
    tfidf_analyzer="cjk",
    tfidf_ngrams=(1, 1),
    tfidf_weight=2.0,
    c=10.0,
    model_weight=0.7,
    # secondary labels: one-vs-rest LR, per-label thresholds from 5-fold CV on training calls
    multi="ovr-cv-acc",
)


def _row(name: str, e: dict, cols: Sequence[str] = ("acc", "exact", "micro", "macro")) -> str:
    cells = []
    for c in cols:
        cells.append(f"{100 * e['split'][c]:.1f}")
        cells.append(fmt([m[c] for m in e["cv"]]))
    return f"| {name} | " + " | ".join(cells) + " |"


CW_HEADER = (
    "| recipe | first reason 250/250 | first reason 5-fold | exact set 250/250 | exact set 5-fold "
    "| micro-F1 250/250 | micro-F1 5-fold | macro-F1 250/250 | macro-F1 5-fold |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def crosswoz_tables(emb: Embeddings, bm25: Bm25Encoder, quick: bool) -> Dataset:
    calls = load_crosswoz()
    ds = Dataset("crosswoz", calls, emb, bm25, today=True, prefixed=True)
    splits = crosswoz_splits(calls)
    if quick:
        splits = splits[:2]  # the split and one fold
    w = WINNER

    def table(title: str, rows: list[tuple[str, Recipe, bool]], data: Dataset = ds) -> None:
        print(f"\n### {title}\n\n{CW_HEADER}", flush=True)
        for name, recipe, pol in rows:
            print(_row(name, evaluate(data, recipe, splits, pol)), flush=True)

    def dense_only(v: str) -> Recipe:
        return replace(
            w,
            vote_dense=v,
            vote_bm25=None,
            lr_dense=(v,),
            lr_bm25=(),
            lr_tfidf=(),
            dense_weight_zh=1.0,
        )

    def bm25_only(v: str) -> Recipe:
        return replace(
            w,
            vote_dense=None,
            vote_bm25=v,
            lr_dense=(),
            lr_bm25=(v,),
            bm25_weight=1.0,
            lr_tfidf=(),
            dense_weight_zh=0.0,
        )

    def tfidf_only(*views: str, **kw) -> Recipe:
        return replace(
            w,
            vote_dense=None,
            vote_bm25=None,
            lr_dense=(),
            lr_bm25=(),
            lr_tfidf=views,
            model_weight=1.0,
            **kw,
        )

    table(
        "CrossWOZ-zh: today",
        [
            ("today (product), trained on `first` only", TODAY, True),
            ("today (product), trained on [first, *others]", TODAY, False),
            (
                "in-progress turn index: stored = turn mean, new = whole text",
                TURN_MEAN_TODAY,
                False,
            ),
            ("**recommended**", w, False),
        ],
    )
    table(
        "CrossWOZ-zh: the dense call vector alone (dense vote + LR on the vector; "
        "turn vectors of `Speaker: text`)",
        [
            (f"`{v[4:]}`", dense_only(v), False)
            for v in (
                "pfx:all",
                "pfx:cust",
                "pfx:open1",
                "pfx:open2",
                "pfx:open3",
                "pfx:pos1",
                "pfx:pos2",
                "pfx:allpos1",
                "pfx:lenall",
                "pfx:open1+lenall@0.5",
                "pfx:open1+cust@0.5",
            )
        ]
        + [("`all` on turn text without `Speaker:`", dense_only("all"), False)],
    )
    table(
        "CrossWOZ-zh: BM25 alone (BM25 vote + LR on IDF-weighted BM25) by text view",
        [(f"BM25 of `{v}`", bm25_only(v), False) for v in ("call", "cust", "open1", "open2")],
    )
    table(
        "CrossWOZ-zh: Chinese-character TF-IDF + LR alone (no vote) by block",
        [
            ("`open1`", tfidf_only("open1"), False),
            ("`lenpos0.5` (opening, greeting-proof)", tfidf_only("lenpos0.5"), False),
            ("`cust`", tfidf_only("cust"), False),
            ("`call`", tfidf_only("call"), False),
            ("`lenpos0.5` + `cust` + `call`", tfidf_only("lenpos0.5", "cust", "call"), False),
            (
                "same, char 1-2-grams",
                tfidf_only("lenpos0.5", "cust", "call", tfidf_ngrams=(1, 2)),
                False,
            ),
            (
                "same blocks as IDF-weighted BM25 words instead",
                replace(
                    tfidf_only(), lr_tfidf=(), lr_bm25=("open1", "cust", "call"), bm25_weight=2.0
                ),
                False,
            ),
        ],
    )
    table(
        "CrossWOZ-zh: ablations of the recommended recipe",
        [
            ("recommended", w, False),
            ("no MiniLM for Chinese calls (`zh_no_dense`)", replace(w, zh_no_dense=True), False),
            ("without BM25 in the LR", replace(w, lr_bm25=()), False),
            ("TF-IDF weight 1 instead of 2", replace(w, tfidf_weight=1.0), False),
            ("TF-IDF char 1-2-grams", replace(w, tfidf_ngrams=(1, 2)), False),
            ("opening block = `open1`", replace(w, lr_tfidf=("open1", "cust", "call")), False),
            ("BM25 vote on `call` (today)", replace(w, vote_bm25="call"), False),
            ("no vote (LR only)", replace(w, model_weight=1.0), False),
            (
                "call vector = plain mean `all`",
                replace(w, vote_dense="pfx:all", lr_dense=("pfx:all",)),
                False,
            ),
        ],
    )
    table(
        "CrossWOZ-zh: multi-label output (recommended features; the primary label is always "
        "in the set)",
        [
            (
                "today's rule: primary + labels with blended score >= 0.3",
                replace(w, multi="today"),
                False,
            ),
            ("OvR LR, fixed threshold 0.5", replace(w, multi="ovr@0.5"), False),
            ("OvR LR, fixed threshold 0.3", replace(w, multi="ovr@0.3"), False),
            (
                "OvR LR, per-label CV threshold max F1 (all rows)",
                replace(w, multi="ovr-cv-all"),
                False,
            ),
            (
                "OvR LR, per-label CV threshold max F1 (secondary rows)",
                replace(w, multi="ovr-cv"),
                False,
            ),
            ("**OvR LR, per-label CV threshold max accuracy (secondary rows)**", w, False),
            (
                "OvR LR, one CV threshold max exact-set accuracy",
                replace(w, multi="ovr-cv-exact"),
                False,
            ),
            (
                "kNN label share (dense+BM25), per-label LOO threshold",
                replace(w, multi="share-cv"),
                False,
            ),
            ("mean of OvR and kNN share, CV thresholds", replace(w, multi="mix-cv"), False),
        ],
    )
    # robustness: half the calls open with a greeting turn before the request
    rng = random.Random(0)
    greet = ["喂，你好。", "你好，在吗？", "您好。", "喂？听得到吗？"]
    reply = ["您好，请讲。", "您好，很高兴为您服务。"]
    greeted = []
    for c in calls:
        if rng.random() < 0.5:
            extra = [Turn("customer", rng.choice(greet)), Turn("agent", rng.choice(reply))]
            c = Call(c.id, extra + list(c.turns), c.labels, c.zh)
        greeted.append(c)
    gds = Dataset("crosswoz+greeting", greeted, emb, bm25, today=True, prefixed=True)
    table(
        "CrossWOZ-zh with a greeting turn pair prepended to a random half of the calls",
        [
            ("today (product)", TODAY, False),
            ("recommended (opening block `lenpos0.5`)", w, False),
            ("opening block `open1`", replace(w, lr_tfidf=("open1", "cust", "call")), False),
            ("opening block `open2`", replace(w, lr_tfidf=("open2", "cust", "call")), False),
            (
                "opening block `pos1` (no length weight)",
                replace(w, lr_tfidf=("pos1", "cust", "call")),
                False,
            ),
        ],
        gds,
    )
    m = Model(ds, w, crosswoz_splits(calls)[0][1])
    t = {
        lab: (round(float(v), 2) if np.isfinite(v) else "never")
        for lab, v in zip(m.labels, m.thresholds, strict=True)
    }
    print(f"\nSecondary-label thresholds learned on the 250 training calls: {t}")
    return ds


def banking_table(emb: Embeddings, bm25: Bm25Encoder, quick: bool) -> None:
    btr, bdev = load_banking()
    ds = Dataset("banking77", btr + bdev, emb, bm25, today=True, prefixed=True)
    ntr = len(btr)
    dev = np.arange(ntr, ntr + len(bdev))
    pos = {c.id: i for i, c in enumerate(ds.calls)}
    draws = [np.array(sorted(pos[c.id] for c in shots(btr, 10, s))) for s in (0, 1, 2)]
    w = WINNER
    print(f"\n### Banking77 (train {ntr}, dev {len(bdev)}; 10 shots = mean ± sd of 3 draws)\n")
    print("| recipe | 10-shot acc | full acc | full: dev rows right only here / only today |")
    print("|---|---|---|---|")
    gold = [c.labels[0] for c in bdev]
    base = run_recipe(ds, TODAY, np.arange(ntr), dev).primary
    for name, recipe in [
        ("today (product)", TODAY),
        ("**recommended**", w),
        ("recommended without BM25 in the LR", replace(w, lr_bm25=())),
        (
            "recommended on turn text without `Speaker:`",
            replace(w, vote_dense="lenall", lr_dense=("lenall",)),
        ),
    ]:
        if quick and recipe is not w and recipe is not TODAY:
            continue
        shot = [
            metrics([ds.calls[i].labels for i in dev], run_recipe(ds, recipe, d, dev))["acc"]
            for d in draws
        ]
        full = base if recipe is TODAY else run_recipe(ds, recipe, np.arange(ntr), dev).primary
        acc = float(np.mean([p == g for p, g in zip(full, gold, strict=True)]))
        gain = sum(p == g != b for p, g, b in zip(full, gold, base, strict=True))
        loss = sum(b == g != p for p, g, b in zip(full, gold, base, strict=True))
        print(f"| {name} | {fmt(shot)} | {100 * acc:.1f} | {gain} / {loss} |", flush=True)


def demo_table(emb: Embeddings, bm25: Bm25Encoder) -> None:
    from sklearn.model_selection import StratifiedKFold

    calls = load_demo()
    ds = Dataset("demo", calls, emb, bm25, today=True, prefixed=True)
    tr = np.array([i for i, c in enumerate(calls) if c.split != "test"])
    te = np.array([i for i, c in enumerate(calls) if c.split == "test"])
    y = np.array([c.labels[0] for c in calls])
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    w = WINNER
    print(
        "\n### Demo corpus (100 train / 20 held-back test, 4 Chinese; CV = 5-fold over all 120)\n"
    )
    print(
        "| recipe | held-back acc | held-back en / zh | held-back exact set | CV acc "
        "| CV en / zh | CV exact set | CV micro-F1 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, recipe in [
        ("today (product)", TODAY),
        ("in-progress turn index (turn mean / whole text)", TURN_MEAN_TODAY),
        ("**recommended**", w),
        (
            "recommended, call vector = plain mean `all`",
            replace(w, vote_dense="pfx:all", lr_dense=("pfx:all",)),
        ),
        (
            "recommended, call vector = `open1+lenall@0.5`",
            replace(w, vote_dense="pfx:open1+lenall@0.5", lr_dense=("pfx:open1+lenall@0.5",)),
        ),
        ("recommended, no MiniLM for Chinese calls", replace(w, zh_no_dense=True)),
        ("recommended, thresholds max F1 (secondary rows)", replace(w, multi="ovr-cv")),
        ("recommended, OvR fixed 0.5", replace(w, multi="ovr@0.5")),
    ]:
        res = run_recipe(ds, recipe, tr, te)
        m = metrics([calls[i].labels for i in te], res)
        ok = [p == calls[i].labels[0] for p, i in zip(res.primary, te, strict=True)]
        zh = [calls[i].zh for i in te]
        en_s = f"{sum(o for o, z in zip(ok, zh, strict=True) if not z)}/{len(zh) - sum(zh)}"
        zh_s = f"{sum(o for o, z in zip(ok, zh, strict=True) if z)}/{sum(zh)}"
        cv, right = [], Counter()
        for a, b in folds:
            r = run_recipe(ds, recipe, a, b)
            cv.append(metrics([calls[i].labels for i in b], r))
            for p, i in zip(r.primary, b, strict=True):
                right[("zh" if calls[i].zh else "en", p == calls[i].labels[0])] += 1
        en_cv = f"{right['en', True]}/{right['en', True] + right['en', False]}"
        zh_cv = f"{right['zh', True]}/{right['zh', True] + right['zh', False]}"
        print(
            f"| {name} | {100 * m['acc']:.0f} | {en_s} / {zh_s} | {100 * m['exact']:.0f} "
            f"| {fmt([x['acc'] for x in cv])} | {en_cv} / {zh_cv} "
            f"| {fmt([x['exact'] for x in cv])} | {fmt([x['micro'] for x in cv])} |",
            flush=True,
        )


def throughput(ds: Dataset, emb: Embeddings, bm25: Bm25Encoder, n_embed: int) -> None:
    """Calls/s on the CrossWOZ 250/250 split's test calls, after transcription: embedding (fresh,
    never from the cache, on ``n_embed`` calls), BM25 encoding, call vectors and prediction."""
    _, tr, te = crosswoz_splits(ds.calls)[0]
    w = WINNER
    emb.embedder.embed(["warm up"])
    sub = te[:n_embed]

    def timed(fn: Callable[[], object]) -> float:
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started

    lines = [f"{t.speaker.capitalize()}: {t.text}" for i in sub for t in ds.calls[i].turns]
    embed_turns = timed(lambda: emb.embedder.embed(lines)) / len(sub)
    wholes = [call_text(Transcript(turns=ds.calls[i].turns)) for i in sub]
    embed_whole = timed(lambda: emb.embedder.embed(wholes)) / len(sub)
    print(
        "\n### Throughput on CrossWOZ (250 test calls; embedding timed on "
        f"{len(sub)} calls, never cached; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs)\n"
    )
    print(
        "| recipe | fit (one-off) | embedding s/call | BM25 + vectors + predict s/call "
        "| calls/s from transcript | calls/s with turn vectors from the index |"
    )
    print("|---|---|---|---|---|---|")
    for name, recipe, embed in [
        ("today (numpy neighbours instead of Qdrant)", TODAY, embed_whole),
        ("recommended", w, embed_turns),
        ("recommended, no MiniLM for Chinese calls", replace(w, zh_no_dense=True), 0.0),
    ]:
        model = Model(ds, recipe, tr)
        views = {v for v in (recipe.vote_bm25, *recipe.lr_bm25) if v}
        texts = {v: [view_text(ds.calls[i].turns, v) for i in te] for v in views}
        encode = timed(lambda texts=texts: [bm25.encode_documents(t) for t in texts.values()])
        vectors = timed(
            lambda: [call_vector(ds.prefixed_vecs[i], ds.calls[i].turns, "lenall") for i in te]
        )
        predict = timed(lambda model=model: model.predict(te))
        rest = (encode + vectors + predict) / len(te)
        print(
            f"| {name} | {model.fit_s:.1f} s | {embed:.3f} | {rest:.4f} "
            f"| {1 / (embed + rest):.1f} | {1 / rest:.0f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/callscope_tune_calls"))
    parser.add_argument("--only", choices=["crosswoz", "banking77", "demo"])
    parser.add_argument("--quick", action="store_true", help="one CV fold, fewer rows")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument(
        "--embed-calls",
        type=int,
        default=40,
        help="calls whose turns are embedded for the throughput timing",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    emb = Embeddings(args.cache)
    bm25 = Bm25Encoder(load_settings().qdrant.bm25_language)
    print(
        f"embedder {emb.embedder.model_id}; BM25 {bm25.model_id}; kNN computed exactly with "
        "numpy/scipy (not Qdrant)"
    )
    ds = None
    if args.only in (None, "crosswoz"):
        ds = crosswoz_tables(emb, bm25, args.quick)
    if args.only in (None, "banking77"):
        banking_table(emb, bm25, args.quick)
    if args.only in (None, "demo"):
        demo_table(emb, bm25)
    if ds is not None and not args.no_throughput:
        throughput(ds, emb, bm25, args.embed_calls)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
