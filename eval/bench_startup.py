"""How long a command takes before it does anything: ``callscope --help``, ``callscope status``,
a re-run of ``ingest`` over files that are all unchanged, and ``callscope serve`` until
``/ready`` answers. Each is timed as a fresh process (median of ``--runs``), beside the plain
alternative measured in the same run: starting the interpreter alone (``python -c pass``).

``--pythonpath DIR`` runs the same commands from another checkout (e.g. a ``git worktree`` of
an older commit), so a before/after pair is measured on the same machine in one sitting:

    python -m eval.bench_startup --json docs/bench_startup.json
    git worktree add /tmp/before <rev>
    python -m eval.bench_startup --pythonpath /tmp/before --json /tmp/before.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

#: Six calls, as the ingest re-run of the issue had: three recordings and three transcripts.
RECORDINGS = 3
TRANSCRIPTS = 3


def _env(state: Path, pythonpath: str | None) -> dict[str, str]:
    env = {**os.environ, "PATHS__STATE_DIR": str(state), "HF_HUB_OFFLINE": "1"}
    # The bundled models are assembled once, outside the throwaway state dir.
    env["PATHS__MODELS_DIR"] = str(Path(tempfile.gettempdir()) / "callscope-bench-models")
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def _cli(*args: str) -> list[str]:
    # The console script's own entry point, run by this interpreter.
    return [sys.executable, "-c", "from app.cli import app; app()", *args]


def _timed(cmd: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            cmd, env=env, cwd=env["PATHS__STATE_DIR"], capture_output=True, text=True
        )
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[3:])} failed:\n{done.stdout}\n{done.stderr}")
    return round(statistics.median(times), 3)


def _inputs(folder: Path) -> list[Path]:
    from app.demo import CORPUS_DIR

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for mp3 in sorted((CORPUS_DIR / "audio").glob("*.mp3"))[:RECORDINGS]:
        paths.append(Path(shutil.copy(mp3, folder / mp3.name)))
    for i in range(TRANSCRIPTS):
        text = folder / f"typed-{i}.txt"
        text.write_text(
            f"Agent: Thank you for calling, how can I help?\nCustomer: I was charged twice "
            f"for order {1000 + i}, please refund one.\nAgent: I see it, the refund is on "
            "its way.\n",
            "utf-8",
        )
        paths.append(text)
    return paths


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _time_to_ready(env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        port = _free_port()
        started = time.perf_counter()
        server = subprocess.Popen(
            _cli("serve", "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            cwd=env["PATHS__STATE_DIR"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = started + 300
            while time.perf_counter() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.05)
            else:
                raise SystemExit("the server did not answer /ready within 300 s")
            times.append(time.perf_counter() - started)
        finally:
            server.terminate()
            server.wait(30)
    return round(statistics.median(times), 3)


def run(runs: int, pythonpath: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="callscope-startup-") as tmp:
        state, env = Path(tmp) / "state", _env(Path(tmp) / "state", pythonpath)
        paths = [str(p) for p in _inputs(Path(tmp) / "in")]
        # Index the six once (transcribing the recordings); the timed re-runs find them unchanged.
        state.mkdir()
        subprocess.run(_cli("ingest", *paths), env=env, cwd=state, check=True, capture_output=True)
        result = {
            "python_c_pass": _timed([sys.executable, "-c", "pass"], env, runs),
            "help": _timed(_cli("--help"), env, runs),
            "status": _timed(_cli("status"), env, runs),
            "ingest_unchanged_6": _timed(_cli("ingest", *paths), env, runs),
            "serve_to_ready": _time_to_ready(env, max(1, runs // 2)),
        }
    result["runs"] = runs
    result["checkout"] = pythonpath or str(Path(__file__).resolve().parents[1])
    result["load_average"] = round(os.getloadavg()[0], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pythonpath", help="run the commands from this checkout")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = run(args.runs, args.pythonpath)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
