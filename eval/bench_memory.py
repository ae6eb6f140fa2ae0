"""Peak memory of ingesting one 3-hour two-channel mp3, end to end (decode, transcribe, turns,
embed, store), with ``callscope ingest`` in a fresh state dir.

The recording is the benchmark corpus's calls (``app/demo/make_audio.py --out``) back to back
until it lasts ``--hours``, encoded as 32 kbit/s stereo mp3 the way call systems store them.
Two figures per run: the ``callscope`` process's peak resident set (``/usr/bin/time -v``,
"Maximum resident set size"), and the peak of the summed resident sets of it and its worker
processes, sampled every 0.2 s (psutil, present in the dev install through accelerate).

Run: ``python -m eval.bench_memory --corpus /tmp/bcalls --out docs/bench_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np

SAMPLE_RATE = 16000


def make_long(corpus: Path, hours: float, out: Path) -> float:
    from faster_whisper import decode_audio

    files = sorted(corpus.glob("*.mp3"))
    target = int(hours * 3600 * SAMPLE_RATE)
    done = i = 0
    with av.open(str(out), "w", format="mp3") as container:
        stream = container.add_stream("mp3", rate=SAMPLE_RATE)
        stream.bit_rate = 32000
        stream.layout = "stereo"
        stream.format = "s16p"
        while done < target:
            audio = np.stack(decode_audio(str(files[i % len(files)]), split_stereo=True))
            audio = audio[:, : target - done]
            i += 1
            for lo in range(0, audio.shape[1], SAMPLE_RATE * 10):
                part = np.clip(audio[:, lo : lo + SAMPLE_RATE * 10], -1, 1) * 32767
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(part.astype(np.int16)), format="s16p", layout="stereo"
                )
                frame.sample_rate = SAMPLE_RATE
                frame.pts = done + lo
                for packet in stream.encode(frame):
                    container.mux(packet)
            done += audio.shape[1]
        for packet in stream.encode(None):
            container.mux(packet)
    return done / SAMPLE_RATE


def measure(recording: Path, workers: int, tmp: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "PATHS__STATE_DIR": str(tmp / f"state-{workers}"),
        "PATHS__MODELS_DIR": str(tmp / "models"),
        "WHISPER__WORKERS": str(workers),
        "HF_HUB_OFFLINE": "1",
    }
    callscope = Path(sys.executable).with_name("callscope")
    command = ["/usr/bin/time", "-v", str(callscope), "ingest", str(recording)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak_tree = _sample_tree(proc)
    out, err = proc.communicate()
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"ingest failed: {err.decode()[-2000:]}")
    main_kb = int(re.search(rb"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    return {
        "workers": workers,
        "seconds": round(took, 1),
        "peak_rss_mb_largest_process": round(main_kb / 1024),
        "peak_rss_mb_all_processes": round(peak_tree / 2**20) if peak_tree else None,
        "output_tail": out.decode(errors="replace").strip().splitlines()[-3:],
    }


def _sample_tree(proc: subprocess.Popen[bytes]) -> int:
    try:
        import psutil
    except ImportError:
        return 0
    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.name() != "time"))
        except psutil.Error:
            pass
        time.sleep(0.2)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "bcalls")
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        recording = tmp / "three-hours.mp3"
        seconds = make_long(args.corpus, args.hours, recording)
        results: dict[str, Any] = {
            "recording_seconds": round(seconds),
            "recording_mb": round(recording.stat().st_size / 2**20, 1),
            "runs": [],
        }
        for workers in args.workers:
            results["runs"].append(measure(recording, workers, tmp))
            print(json.dumps(results["runs"][-1]), flush=True)
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
