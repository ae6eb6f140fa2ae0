"""Load on the real server: bounded clients on loopback against search, classify and ask (no LLM).

    python -m eval.bench_load [--threads 8] [--requests 50] [--with-audio] [--json FILE]

The demo corpus's train calls (text only; ``--with-audio`` adds its recordings, transcribed on
the way in) are indexed through the product into a temporary state dir, then ``callscope serve``
runs on it as its own process on 127.0.0.1, with an API key and no LLM (``/api/ask`` answers with
the evidence itself). Each endpoint in turn gets ``--threads`` clients (one ``httpx.Client``
each) sending ``--requests`` requests back to back: requests/s, latency p50/p90/p99, errors
(non-2xx or no answer) and the server's RSS before and after, plus its peak (VmHWM).

The plain alternative, measured in the same run: the same search questions answered in-process,
one at a time, by ``app.services.search.search`` (no HTTP, no concurrency), so the cost of HTTP
plus eight clients sharing the server shows as a ratio. Numbers depend on the machine (2 cores
here) and on what else runs on it; the client threads share those cores with the server.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from app.core.config import load_settings
from app.core.models import Columns
from app.runtime import Runtime
from app.services import calls
from app.services.search import search

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "app" / "demo" / "calls.jsonl"
KEY = "bench-load-key"
QUESTIONS = [
    "where is my delivery",
    "the parcel has not arrived yet",
    "how do I get a refund",
    "refund for a damaged item",
    "I forgot my password",
    "customer cannot reset the password",
    "which customers asked to speak to a supervisor",
    "我的快递还没到",
    "客户的快递为什么延误了",
    "怎么申请退款",
    "退款什么时候到账",
    "忘记密码怎么办",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _transcript(row: dict[str, Any]) -> str:
    return "\n".join(f"{t['speaker'].capitalize()}: {t['text']}" for t in row["turns"])


def _percentiles(ms: list[float]) -> dict[str, float]:
    """Nearest-rank percentiles (p99 of 400 requests is the 4th slowest)."""
    if not ms:
        return {}
    s = sorted(ms)
    at = {q: s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))] for q in (50, 90, 99)}
    return {f"p{q}_ms": round(v, 1) for q, v in at.items()} | {"max_ms": round(s[-1], 1)}


def _memory_mb(pid: int) -> dict[str, float | None]:
    """The process's resident memory now and at its peak (VmHWM), from /proc; psutil elsewhere
    (no peak there)."""
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        kb = {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM") if k in fields}
        return {"rss_mb": round(kb["VmRSS"] / 1024, 1), "peak_mb": round(kb["VmHWM"] / 1024, 1)}
    import psutil

    return {"rss_mb": round(psutil.Process(pid).memory_info().rss / 2**20, 1), "peak_mb": None}


def _index(table: Path, state: Path, queries: int) -> dict[str, Any]:
    """Index the table the way ``callscope import-labels`` does, then time the in-process
    searches while this process still owns the store (Edge: one process at a time)."""
    settings = load_settings(paths={"state_dir": state})
    with Runtime(settings) as runtime:
        t = time.perf_counter()
        sources, bad = calls.read_labeled(settings, table, Columns(text="turns", label="labels"))
        done = calls.ingest_sources(runtime, sources)
        index = {
            "calls": len(sources),
            "indexed": sum(r.status == "indexed" for r in done),
            "unusable_rows": len(bad),
            "seconds": round(time.perf_counter() - t, 1),
        }
        search(runtime, QUESTIONS[0], k=10)  # load the searcher once, as /ready does for the API
        ms = []
        t_all = time.perf_counter()
        for i in range(queries):
            t = time.perf_counter()
            search(runtime, QUESTIONS[i % len(QUESTIONS)], k=10)
            ms.append((time.perf_counter() - t) * 1000)
        per_s = round(queries / (time.perf_counter() - t_all), 1)
    return {
        "index": index,
        "in_process_search": {"requests": queries, "per_s": per_s, **_percentiles(ms)},
    }


def _start_server(state: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    # No LLM for the server whatever this shell or a .env says (empty wins over .env): the
    # benchmark measures the offline paths. The UI is off: gradio is not what is under load.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM__", "API__", "PATHS__"))}
    env |= {
        "PATHS__STATE_DIR": str(state),
        "API__API_KEYS": KEY,
        "LLM__BASE_URL": "",
        "LLM__MODEL": "",
    }
    cmd = [sys.executable, "-m", "app.cli.main", "serve", "--host", "127.0.0.1"]
    with log.open("wb") as out:
        return subprocess.Popen(
            [*cmd, "--port", str(port), "--no-ui"], cwd=ROOT, env=env, stdout=out, stderr=out
        )


def _wait_ready(proc: subprocess.Popen[bytes], base: str, log: Path, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, timeout=30) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"server exited ({proc.returncode}):\n{log.read_text()[-2000:]}")
            try:
                if client.get("/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
    raise SystemExit(f"server not ready after {timeout:.0f} s:\n{log.read_text()[-2000:]}")


Send = Callable[[httpx.Client, int], httpx.Response]


def _hammer(base: str, pid: int, send: Send, threads: int, per_thread: int) -> dict[str, Any]:
    """``threads`` clients, each with its own connection, sending ``per_thread`` requests back
    to back; the clock starts when all of them are connected and ready."""
    ms: list[float] = []
    outcomes: Counter[str] = Counter()
    started: list[float] = []
    gate = threading.Barrier(threads, action=lambda: started.append(time.perf_counter()))

    def worker(n: int) -> None:
        headers = {"X-API-Key": KEY}
        with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
            gate.wait()
            for j in range(per_thread):
                t = time.perf_counter()
                try:
                    outcome = str(send(client, n * per_thread + j).status_code)
                except httpx.HTTPError as exc:  # timeouts, resets: errors, not a crash
                    outcome = type(exc).__name__
                ms.append((time.perf_counter() - t) * 1000)  # list.append is thread-safe
                outcomes[outcome] += 1

    before = _memory_mb(pid)["rss_mb"]
    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - started[0]
    after = _memory_mb(pid)
    errors = sum(v for k, v in outcomes.items() if not k.startswith("2"))
    return {
        "requests": len(ms),
        "errors": errors,
        "outcomes": dict(outcomes),
        "per_s": round(len(ms) / wall, 1),
        **_percentiles(ms),
        "rss_before_mb": before,
        "rss_after_mb": after["rss_mb"],
        "peak_mb": after["peak_mb"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=50, help="requests per client")
    parser.add_argument("--with-audio", action="store_true", help="index the recordings too")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()

    rows = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]
    # Held back (the test split) for classification, so the classifier never sees itself.
    held = [_transcript(r) for r in rows if r.get("split") == "test"]
    train = [r for r in rows if r.get("split") != "test" and (args.with_audio or "audio" not in r)]
    total = args.threads * args.requests
    results: dict[str, Any] = {"threads": args.threads, "requests_per_thread": args.requests}
    t_run = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="callscope-bench-load-") as tmp:
        table, state, log = Path(tmp) / "train.jsonl", Path(tmp) / "state", Path(tmp) / "serve.log"
        with table.open("w", encoding="utf-8") as f:
            for row in train:
                if "audio" in row:  # the table moved: point at the recordings where they lie
                    row = row | {"audio": str(CORPUS.parent / row["audio"])}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        results |= _index(table, state, total)

        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _start_server(state, port, log)
        try:
            _wait_ready(proc, base, log)
            results["server_ready"] = _memory_mb(proc.pid)
            endpoints: dict[str, Send] = {
                "search": lambda c, i: c.get(
                    "/api/search", params={"q": QUESTIONS[i % len(QUESTIONS)], "k": 10}
                ),
                "classify": lambda c, i: c.post(
                    "/api/classify", json={"transcript": held[i % len(held)]}
                ),
                "ask": lambda c, i: c.post(
                    "/api/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]}
                ),
            }
            with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=300) as client:
                # One request each first (not counted): the classifier fits its light model on
                # the first call, and the answer must be the extractive one (no LLM).
                for send in endpoints.values():
                    send(client, 0).raise_for_status()
                assert endpoints["ask"](client, 0).json()["generated"] is False
            for name, send in endpoints.items():
                results[name] = _hammer(base, proc.pid, send, args.threads, args.requests)
                print(json.dumps({name: results[name]}, ensure_ascii=False), flush=True)
            results["server_end"] = _memory_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown (lifespan, jobs)
            try:
                results["server_exit_code"] = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                results["server_exit_code"] = proc.wait()

    plain, http = results["in_process_search"], results["search"]
    results["search_http_vs_in_process"] = {
        "ratio_p50": round(http["p50_ms"] / plain["p50_ms"], 2),
        "ratio_p99": round(http["p99_ms"] / plain["p99_ms"], 2),
        # The server under all the clients vs one in-process caller, back to back.
        "ratio_per_s": round(http["per_s"] / plain["per_s"], 2),
    }
    results["run_seconds"] = round(time.perf_counter() - t_run, 1)
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
