"""Service benchmarks, each against the plain alternative measured in the same run.

Over one store of N labeled Banking77 calls (indexed through the production pipeline):

1. One-call classification, request after request: the classifier as it is now (the labels are
   checked again only after a write) vs the same classifier made to re-check the labels before
   every call (what it did before: a scroll over every labeled payload per request).
2. The same through the HTTP API (``POST /api/classify`` on a real uvicorn server, one request
   at a time) vs calling the classifier in-process: the cost of HTTP, validation and JSON.
3. Batch classification of M uploaded transcripts as a background job (``POST
   /api/classify/batch``: upload, queue, per-call progress rows, CSV/XLSX/JSONL at the end) vs
   ``classify_inputs`` on the same files in-process (what ``callscope classify`` runs).

Run: ``python -m eval.bench_api --calls 3000 --requests 200 --batch 500 --json FILE``.
Numbers depend on the machine (2 cores here) and on what else runs on it.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from app.core.config import load_settings
from app.core.models import Columns
from app.runtime import Runtime
from app.services import calls
from ingest.labels import load_labeled

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "banking77" / "train.csv"
SMALL = ROOT / "tests" / "data" / "banking77_small.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _per_second(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="labeled calls in the store")
    parser.add_argument("--requests", type=int, default=200, help="one-call classifications")
    parser.add_argument("--batch", type=int, default=500, help="transcripts in the batch")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()

    data = _rows(SHARED if SHARED.exists() else SMALL)
    random.Random(0).shuffle(data)
    train = data[: args.calls]
    probe = [r["text"] for r in data[args.calls : args.calls + max(args.requests, args.batch)]]
    if len(probe) < max(args.requests, args.batch):  # small data: reuse training texts
        probe = [r["text"] for r in data][: max(args.requests, args.batch)]
    results: dict[str, Any] = {
        "calls": len(train),
        # Which Banking77 file (not its path: that is this machine's).
        "data": "shared banking77/train.csv" if SHARED.exists() else "tests/data sample",
    }

    with tempfile.TemporaryDirectory(prefix="callscope-bench-api-") as tmp:
        tmp_path = Path(tmp)
        table = tmp_path / "train.csv"
        with table.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["id", "text", "category"])
            writer.writeheader()
            writer.writerows(
                {"id": f"b{i:05d}", "text": r["text"], "category": r["category"]}
                for i, r in enumerate(train)
            )
        settings = load_settings(
            paths={"state_dir": tmp_path / "state"}, api={"dev_mode": True, "ui": False}
        )
        with Runtime(settings) as runtime:
            t = time.perf_counter()
            sources, _ = load_labeled(table, Columns(label="category"))
            calls.ingest_sources(runtime, sources)
            results["index_seconds"] = round(time.perf_counter() - t, 1)
            classifier = runtime.classifier
            classifier.classify_texts([probe[0]])  # fit the light model once

            texts = probe[: args.requests]
            t = time.perf_counter()
            for text in texts:
                classifier.classify_texts([text])
            cached = time.perf_counter() - t
            t = time.perf_counter()
            for text in texts:
                runtime.calls.writes += 1  # as if something was written: re-check the labels
                classifier.classify_texts([text])
            rechecked = time.perf_counter() - t
            results["one_call"] = {
                "requests": len(texts),
                "cached_per_s": _per_second(len(texts), cached),
                "recheck_each_per_s": _per_second(len(texts), rechecked),
                "speedup": round(rechecked / cached, 2),
            }

            results["http"], results["batch"] = _through_http(runtime, texts, probe, args, tmp_path)
            results["http"]["in_process_per_s"] = results["one_call"]["cached_per_s"]
            results["http"]["ratio_http_vs_in_process"] = round(
                results["http"]["per_s"] / results["one_call"]["cached_per_s"], 2
            )

    print(_markdown(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def _through_http(
    runtime: Runtime, texts: list[str], probe: list[str], args: argparse.Namespace, tmp: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    import uvicorn

    from app.api.app import create_app
    from app.services.classify import classify_inputs

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            client.post("/api/classify", json={"transcript": texts[0]})  # warm the route
            t = time.perf_counter()
            for text in texts:
                r = client.post("/api/classify", json={"transcript": f"Customer: {text}"})
                r.raise_for_status()
            http = {
                "requests": len(texts),
                "per_s": _per_second(len(texts), time.perf_counter() - t),
            }

            folder = tmp / "batch"
            folder.mkdir()
            files = []
            for i, text in enumerate(probe[: args.batch]):
                path = folder / f"call-{i:05d}.txt"
                path.write_text(f"Customer: {text}\n", encoding="utf-8")
                files.append(path)
            t = time.perf_counter()
            classify_inputs(runtime, files, source="bench")
            direct = time.perf_counter() - t

            t = time.perf_counter()
            upload = [("files", (p.name, p.read_bytes(), "text/plain")) for p in files]
            job = client.post("/api/classify/batch", files=upload).json()["job"]
            while job["state"] in ("queued", "running"):
                time.sleep(0.2)
                job = client.get(f"/api/jobs/{job['id']}").json()
            as_job = time.perf_counter() - t
            assert job["state"] == "done" and job["result"]["classified"] == len(files), job
            client.get(
                f"/api/jobs/{job['id']}/results", params={"format": "csv"}
            ).raise_for_status()
    finally:
        server.should_exit = True
        thread.join(30)
    batch = {
        "calls": len(files),
        "in_process_per_s": _per_second(len(files), direct),
        "job_per_s": _per_second(len(files), as_job),
        "ratio_job_vs_in_process": round(direct / as_job, 2),
    }
    return http, batch


def _markdown(r: dict[str, Any]) -> str:
    one, http, batch = r["one_call"], r["http"], r["batch"]
    return "\n".join(
        [
            f"Store: {r['calls']} labeled calls (indexed in {r['index_seconds']} s)",
            "",
            "| measurement | ours | plain alternative | ratio |",
            "|---|---|---|---|",
            f"| one-call classify, {one['requests']} in a row (calls/s) | "
            f"{one['cached_per_s']} (labels re-checked after writes) | "
            f"{one['recheck_each_per_s']} (re-checked every call) | {one['speedup']}x |",
            f"| `POST /api/classify` over HTTP (requests/s) | {http['per_s']} | "
            f"{http['in_process_per_s']} (in-process call) | {http['ratio_http_vs_in_process']}x |",
            f"| batch of {batch['calls']} transcripts (calls/s) | {batch['job_per_s']} "
            f"(upload + job + result files) | {batch['in_process_per_s']} (in-process "
            f"`classify_inputs`) | {batch['ratio_job_vs_in_process']}x |",
        ]
    )


if __name__ == "__main__":
    main()
