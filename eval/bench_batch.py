"""The weekly batch end to end (``run_batch``: transcribe, index, classify, results), and what
``callscope sizing`` predicts from it, and the Ray path beside the local one, in one run.

1. A labeled store: the demo corpus's transcripts (text only, 120 calls), as a customer's
   labeled calls would be.
2. Batch A: the first half of the recordings on the local path (worker processes); its
   ``summary.json`` is what ``sizing`` reads.
3. ``sizing.predict_wall_seconds`` predicts batch B (the other half: other calls, other
   lengths) from batch A's summary; batch B then runs, and the prediction's error is reported.
4. Batch B again in two fresh states (the labeled calls only, nothing cached): on the local path,
   and with transcription on a local Ray cluster of the same CPUs and workers: Ray's overhead,
   and which calls (if any) got another transcript or label.

Recordings are copied under new names (``rec-001.mp3``): the corpus calls share their ids with
the labeled demo transcripts. Run:
``python -m eval.bench_batch --corpus /tmp/bcalls --out docs/bench_batch.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from app.core.config import Settings, load_settings
from app.runtime import Runtime
from app.services import calls
from app.services.batch_run import run_batch
from app.services.sizing import predict_wall_seconds
from eval.bench_transcribe import load_corpus

ROOT = Path(__file__).resolve().parents[1]


def _settings(state: Path, models: Path, **sections: Any) -> Settings:
    return load_settings(paths={"state_dir": state, "models_dir": models}, **sections)


def _labeled(runtime: Runtime, tmp: Path) -> None:
    rows = [json.loads(x) for x in (ROOT / "app/demo/calls.jsonl").read_text("utf-8").splitlines()]
    text_only = tmp / "labeled.jsonl"
    text_only.write_text(
        "".join(
            json.dumps({k: v for k, v in r.items() if k != "audio"}, ensure_ascii=False) + "\n"
            for r in rows
        ),
        "utf-8",
    )
    sources, errors = calls.read_labeled(runtime.settings, text_only)
    assert not errors, errors
    calls.ingest_sources(runtime, sources)


def _batch(settings: Settings, files: list[Path], tmp: Path, name: str) -> dict[str, Any]:
    with Runtime(settings) as runtime:
        _labeled(runtime, tmp)
        sources, errors = calls.discover_inputs(files)
        started = time.perf_counter()
        summary = run_batch(runtime, sources, errors, folder=tmp / "runs" / name, source="bench")
        summary["wall_seconds"] = round(time.perf_counter() - started, 1)
        rows = [json.loads(x) for x in (tmp / "runs" / name / "results.jsonl").open()]
        summary["labels_by_call"] = {r["call_id"]: r.get("label") for r in rows}
        summary["heard"] = {
            c: [(t.speaker, t.text) for t in runtime.ledger.get(c).transcript.turns]
            for c in summary["labels_by_call"]
            if runtime.ledger.get(c) and runtime.ledger.get(c).transcript
        }
    return summary


def bench(corpus: Path, n: int) -> dict[str, Any]:
    rows = load_corpus(corpus, n)
    cores = os.cpu_count() or 1
    out: dict[str, Any] = {"cores": cores, "calls": len(rows)}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        models = tmp / "models"
        files = []
        for i, row in enumerate(rows):
            files.append(Path(shutil.copy(row["path"], tmp / f"rec-{i:03d}.mp3")))
        half = len(files) // 2
        a_files, b_files = files[:half], files[half:]
        b_hours = sum(r["seconds"] for r in rows[half:]) / 3600

        a = _batch(_settings(tmp / "a", models), a_files, tmp / "a", "a")
        predicted = predict_wall_seconds(a, len(b_files), b_hours)
        b = _batch(_settings(tmp / "a", models), b_files, tmp / "a", "b")
        keep = ("new_calls", "new_audio_hours", "seconds", "stage_seconds", "failed")
        out["batch_a"] = {k: a[k] for k in keep}
        out["batch_b"] = {k: b[k] for k in keep} | {"audio_hours_listed": round(b_hours, 4)}
        out["sizing"] = {
            "measured_on": {"calls": a["new_calls"], "audio_hours": a["new_audio_hours"]},
            "predicted_seconds": round(predicted, 1),
            "actual_seconds": b["seconds"],
            "error": round(predicted / b["seconds"] - 1, 3),
        }
        print(json.dumps(out), flush=True)

        # Ray against the local path on equal terms: both in a fresh state (the labeled calls
        # only), batch B, the same worker shape.
        local = _batch(_settings(tmp / "l", models), b_files, tmp / "l", "b")
        out["local"] = {k: local[k] for k in ("seconds", "stage_seconds", "machine")}

        workers = local["machine"]["workers"]
        threads = local["machine"]["threads_per_worker"]
        import ray

        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
        try:
            r = _batch(
                _settings(tmp / "r", models, ray={"address": "auto", "workers": workers}),
                b_files,
                tmp / "r",
                "b",
            )
        finally:
            ray.shutdown()
        out["ray"] = {k: r[k] for k in ("seconds", "stage_seconds", "machine")}
        out["ray_overhead"] = round(r["seconds"] / local["seconds"] - 1, 3)
        out["ray_labels_differing"] = sorted(
            c
            for c in local["labels_by_call"]
            if r["labels_by_call"].get(c) != local["labels_by_call"][c]
        )
        out["ray_transcripts_differing"] = sorted(
            c for c in local["heard"] if r["heard"].get(c) != local["heard"][c]
        )
        hours = local["new_audio_hours"]
        per_worker = hours / (local["stage_seconds"]["transcribe"] / 3600) / workers
        out["audio_hours_per_hour_per_worker"] = round(per_worker, 2)
        out["threads_per_worker"] = threads
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "bcalls")
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = bench(args.corpus, args.calls)
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
