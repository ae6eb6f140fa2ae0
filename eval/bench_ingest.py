"""Ingest benchmarks, each against the plain alternative measured in the same run.

1. Transcription: our Transcriber (per-channel, beam 1, VAD, batched on long channels) vs plain
   ``WhisperModel.transcribe(path)`` with its defaults (beam 5, no VAD, stereo downmixed), on the
   same demo recordings and on one long call made by joining them. Real-time factor
   (processing seconds / audio seconds) and word error rate against the demo scripts.
2. Embedding: our FlagEmbedder vs sentence-transformers' own encode on the same model and texts.
3. Upsert: our EdgeStore (Qdrant Edge in-process) vs qdrant-client's local mode on disk, same
   random points.

Run: ``make bench`` (or ``python -m eval.bench_ingest --out docs/bench_ingest.json``). Prints a
Markdown table; numbers depend on the machine (2 cores here).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np

from app.core import bundled
from app.core.config import Settings
from eval.asr import edit_distance
from ingest.audio import SAMPLE_RATE
from ingest.transcribe import Transcriber
from retrieval.index.embedding import FlagEmbedder

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "app" / "demo"


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def wer(ref: list[str], hyp: list[str]) -> float:
    """Word error rate by edit distance (``callscope eval asr``'s)."""
    return edit_distance(ref, hyp) / max(len(ref), 1)


def demo_audio() -> list[tuple[Path, str]]:
    rows = [json.loads(line) for line in (DEMO / "calls.jsonl").read_text("utf-8").splitlines()]
    return [
        (DEMO / r["audio"], " ".join(t["text"] for t in r["turns"]))
        for r in rows
        if r.get("audio") and (DEMO / r["audio"]).exists()
    ]


def join_audio(files: list[Path], out: Path) -> Path:
    """One long stereo call: the demo recordings back to back (re-encoded as FLAC)."""
    from faster_whisper import decode_audio

    parts = [np.stack(decode_audio(str(f), split_stereo=True)) for f in files]
    samples = np.concatenate(parts, axis=1).astype(np.float32)
    with av.open(str(out), "w") as container:
        stream = container.add_stream("flac", rate=SAMPLE_RATE)
        stream.layout = "stereo"
        for start in range(0, samples.shape[1], SAMPLE_RATE * 10):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[:, start : start + SAMPLE_RATE * 10]),
                format="fltp",
                layout="stereo",
            )
            frame.sample_rate = SAMPLE_RATE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out


def bench_transcription(n_files: int, tmp: Path) -> dict[str, Any]:
    files = demo_audio()[:n_files]
    long_call = join_audio([f for f, _ in files], tmp / "long.flac")
    long_ref = " ".join(ref for _, ref in files)
    settings = Settings()
    ours = Transcriber(settings.whisper, models_dir=tmp / "models", cache_dir=tmp / "cache")
    ours._load()  # noqa: SLF001 - load time is not transcription time
    plain = ours._model  # same weights, same compute type: only the pipeline differs  # noqa: SLF001

    def run_plain(path: Path) -> str:
        segments, _ = plain.transcribe(str(path))
        return " ".join(s.text for s in segments)

    def run_ours(path: Path, key: str) -> str:
        transcript, _ = ours.transcribe(path, key)
        return " ".join(t.text for t in transcript.turns)

    out: dict[str, Any] = {}
    for name, items in (
        ("short calls", [(f, r) for f, r in files]),
        ("one long call", [(long_call, long_ref)]),
    ):
        audio_s = sum(float(av.open(str(f)).duration / av.time_base) for f, _ in items)
        row: dict[str, Any] = {"audio_seconds": round(audio_s, 1), "files": len(items)}
        for label in ("plain", "callscope"):
            start = time.perf_counter()
            texts = [
                run_plain(f) if label == "plain" else run_ours(f, f"bench-{name}-{i}-{start}")
                for i, (f, _) in enumerate(items)
            ]
            took = time.perf_counter() - start
            errors = [wer(words(ref), words(t)) for (_, ref), t in zip(items, texts, strict=True)]
            row[label] = {"rtf": round(took / audio_s, 4), "wer": round(float(np.mean(errors)), 4)}
        row["speedup"] = round(row["plain"]["rtf"] / row["callscope"]["rtf"], 2)
        out[name] = row
    return out


def bench_embedding(n_texts: int) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    rows = [json.loads(line) for line in (DEMO / "calls.jsonl").read_text("utf-8").splitlines()]
    turns = [f"{t['speaker']}: {t['text']}" for r in rows for t in r["turns"]]
    texts = (turns * (n_texts // len(turns) + 1))[:n_texts]
    ours = FlagEmbedder(Settings().embedding)
    plain = SentenceTransformer(str(bundled.minilm_dir()), device="cpu")
    ours.embed(texts[:64])
    plain.encode(texts[:64])
    start = time.perf_counter()
    ours.embed(texts)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    plain.encode(texts, batch_size=64)
    t_plain = time.perf_counter() - start
    return {
        "texts": n_texts,
        "callscope_texts_per_s": round(n_texts / t_ours, 1),
        "sentence_transformers_texts_per_s": round(n_texts / t_plain, 1),
        "ratio": round(t_plain / t_ours, 2),
    }


def bench_upsert(n_points: int, tmp: Path) -> dict[str, Any]:
    from qdrant_client import QdrantClient

    from retrieval.index.edge_store import EdgeStore
    from retrieval.index.server_store import ServerStore
    from retrieval.index.store import SparseVec, StoredPoint, point_id

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n_points, 384)).astype(np.float32)
    points = [
        StoredPoint(
            id=point_id(f"c{i // 4}", i % 4, "h"),
            dense=vectors[i],
            sparse=SparseVec(sorted(rng.choice(5000, 8, replace=False).tolist()), [1.0] * 8),
            payload={"call_id": f"c{i // 4}", "labels": ["refund"], "text": "x" * 200},
        )
        for i in range(n_points)
    ]
    meta = {"name": "bench", "model_id": "bench", "dim": 384, "sparse_model": "bench"}
    out: dict[str, Any] = {"points": n_points}
    for label, opener in (
        ("callscope_edge", lambda: EdgeStore.open(tmp / "edge" / "bench", **meta)),
        (
            "qdrant_client_local",
            lambda: ServerStore.open(
                QdrantClient(path=str(tmp / "local")), owns_client=True, **meta
            ),
        ),
    ):
        store = opener()
        start = time.perf_counter()
        for i in range(0, n_points, 256):
            store.upsert(points[i : i + 256])
        took = time.perf_counter() - start
        assert store.count() == n_points
        store.close()
        out[f"{label}_points_per_s"] = round(n_points / took, 1)
    out["ratio"] = round(
        out["callscope_edge_points_per_s"] / out["qdrant_client_local_points_per_s"], 1
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8, help="demo recordings to transcribe")
    parser.add_argument("--texts", type=int, default=2000, help="texts to embed")
    parser.add_argument("--points", type=int, default=10000, help="points to upsert")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        results = {
            "transcription": bench_transcription(args.files, tmp),
            "embedding": bench_embedding(args.texts),
            "upsert": bench_upsert(args.points, tmp),
        }
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
