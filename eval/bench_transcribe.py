"""Transcription throughput at batch volume, against plain faster-whisper in the same run.

Plain: ``WhisperModel(...).transcribe(path)`` with its defaults (beam 5, no VAD, stereo
downmixed, language detected per file), one file after another in one process using every core:
what a user of faster-whisper writes first. Ours: ``Transcriber.transcribe_many`` (the ingest
path: VAD, both channels glued in time order, whisper batches across calls, word timings, speaker
per channel) in one process, and ``TranscriberPool`` (the same on worker processes). Same model
weights, same int8 compute type, same cores; model loading is not timed on either side (the
pool's workers are started and warmed on a 1-second clip first).

Corpus: two-channel calls with reference scripts, as written by
``python app/demo/make_audio.py --out DIR`` (espeak-ng voices for the demo corpus's English
calls: synthetic speech, one speaker per channel). The long call is the first ``--long`` calls
joined into one recording. WER is over the whole call in turn order (ours: the turns, both
speakers; plain: its segments), after the ``callscope eval asr`` English normaliser.

Run: ``python -m eval.bench_transcribe --corpus /tmp/bcalls --out docs/bench_transcribe.json``
(``--sweep`` instead: batch size x beam x workers, ours only, on the short calls). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av

from app.core import bundled
from app.core.config import Settings, WhisperSettings
from eval.asr import edit_distance, normalize_en
from eval.bench_ingest import join_audio
from ingest.transcribe import Transcriber
from ingest.workers import TranscriberPool

ROOT = Path(__file__).resolve().parents[1]


def load_corpus(folder: Path, n: int) -> list[dict[str, Any]]:
    if not (folder / "calls.jsonl").exists():
        subprocess.run(
            [sys.executable, str(ROOT / "app/demo/make_audio.py"), "--out", str(folder)],
            check=True,
        )
    rows = [json.loads(line) for line in (folder / "calls.jsonl").read_text("utf-8").splitlines()]
    for row in rows:
        row["path"] = folder / row["audio"]
        with av.open(str(row["path"])) as f:
            row["seconds"] = float(f.duration / av.time_base)
    return rows[:n]


def wer(rows: list[dict[str, Any]], texts: list[str]) -> float:
    errors = words = 0
    for row, text in zip(rows, texts, strict=True):
        ref = normalize_en(row["text"])
        errors += edit_distance(ref, normalize_en(text))
        words += len(ref)
    return round(errors / max(words, 1), 4)


def timed(run: Callable[[], list[str]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    start = time.perf_counter()
    texts = run()
    took = time.perf_counter() - start
    audio = sum(r["seconds"] for r in rows)
    return {"seconds": round(took, 1), "rtf": round(took / audio, 4), "wer": wer(rows, texts)}


def plain_run(model: Any, rows: list[dict[str, Any]]) -> list[str]:
    texts = []
    for row in rows:
        segments, _ = model.transcribe(str(row["path"]))
        texts.append(" ".join(s.text for s in segments))
    return texts


def ours_run(stt: Any, rows: list[dict[str, Any]], tag: str) -> list[str]:
    found = stt.transcribe_many([(r["path"], f"{tag}-{r['audio']}") for r in rows])
    texts = []
    for result in found:
        if not isinstance(result, tuple):
            raise RuntimeError(f"transcription failed: {result}")
        texts.append(" ".join(t.text for t in result[0].turns))
    return texts


class Ours:
    """Our transcriber in one of its shapes, models loaded before timing starts."""

    def __init__(self, settings: WhisperSettings, workers: int, threads: int, tmp: Path) -> None:
        self.tmp, self.workers, self.runs = tmp, workers, 0
        s = settings.model_copy(update={"cpu_threads": threads})
        models = tmp / "models"
        if workers > 1:
            self.stt: Any = TranscriberPool(
                s, models_dir=models, cache_dir=tmp / "cache", workers=workers, threads=threads
            )
            warm = [(ROOT / "tests/data/jfk.flac", f"warm-{i}") for i in range(workers)]
            self.stt.transcribe_many(warm)  # each worker loads its model
        else:
            self.stt = Transcriber(s, models_dir=models, cache_dir=tmp / "cache")
            self.stt._load()  # noqa: SLF001 - load time is not transcription time

    def __call__(self, rows: list[dict[str, Any]]) -> list[str]:
        self.runs += 1  # a fresh cache key each run: nothing is read back from the cache
        return ours_run(self.stt, rows, f"run{self.runs}-{time.time()}")

    def close(self) -> None:
        if isinstance(self.stt, TranscriberPool):
            self.stt.close()


def bench(corpus: Path, n_short: int, n_long: int, sweep: bool) -> dict[str, Any]:
    from faster_whisper import WhisperModel

    rows = load_corpus(corpus, max(n_short, n_long))
    short = rows[:n_short]
    cores = os.cpu_count() or 1
    out: dict[str, Any] = {"cores": cores, "corpus": str(corpus)}
    if sweep:  # the sweep alone: the side-by-side run is the default
        with tempfile.TemporaryDirectory() as tmp_name:
            out["sweep (short calls)"] = run_sweep(Settings().whisper, short, Path(tmp_name), cores)
        return out
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        long_path = join_audio([r["path"] for r in rows[:n_long]], tmp / "long.flac")
        long = [
            {
                "path": long_path,
                "audio": "long.flac",
                "text": " ".join(r["text"] for r in rows[:n_long]),
                "seconds": sum(r["seconds"] for r in rows[:n_long]),
            }
        ]
        base = Settings().whisper
        plain = WhisperModel(
            str(bundled.whisper_base_dir(tmp / "models")), device="cpu", compute_type="int8"
        )
        shapes = {
            "callscope, 1 process x 2 threads": (1, cores),
            f"callscope, {cores} processes x 1 thread": (cores, 1),
        }
        for name, items in (("short calls", short), ("one long call", long)):
            row: dict[str, Any] = {
                "calls": len(items) if items is short else n_long,
                "audio_seconds": round(sum(r["seconds"] for r in items), 1),
                "plain": timed(lambda i=items: plain_run(plain, i), items),
            }
            for label, (workers, threads) in shapes.items():
                ours = Ours(base, workers, threads, tmp)
                try:
                    row[label] = timed(lambda i=items, o=ours: o(i), items)
                finally:
                    ours.close()
                row[label]["speedup"] = round(row["plain"]["seconds"] / row[label]["seconds"], 2)
                row[label]["wer_points_vs_plain"] = round(
                    100 * (row[label]["wer"] - row["plain"]["wer"]), 2
                )
            out[name] = row
            print(json.dumps({name: row}), flush=True)
    return out


def run_sweep(
    base: WhisperSettings, rows: list[dict[str, Any]], tmp: Path, cores: int
) -> list[dict[str, Any]]:
    """Batch size x beam on worker processes of one thread, and batch size for one process of
    every core (beam 5): WER and seconds of each on the same calls."""
    grid = [(cores, 1, beam, batch) for beam in (1, 5) for batch in (4, 8, 16, 32)]
    grid += [(1, cores, 5, batch) for batch in (8, 16)]
    found = []
    for workers, threads, beam, batch in grid:
        s = base.model_copy(update={"beam_size": beam, "batch_size": batch})
        ours = Ours(s, workers, threads, tmp)
        try:
            result = timed(lambda o=ours: o(rows), rows)
        finally:
            ours.close()
        found.append(
            {"workers": workers, "threads": threads, "beam": beam, "batch": batch, **result}
        )
        print(json.dumps(found[-1]), flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "bcalls")
    parser.add_argument("--calls", type=int, default=40, help="short calls to transcribe")
    parser.add_argument("--long", type=int, default=20, help="calls joined into the long one")
    parser.add_argument("--sweep", action="store_true", help="only batch x beam x workers")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    results = bench(args.corpus, args.calls, args.long, args.sweep)
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
