"""Synthesize the audio subset of the CallScope demo corpus.

Usage (from the project root):

    python app/demo/make_audio.py            # (re)write app/demo/audio/*.mp3
    python app/demo/make_audio.py --check    # also decode each file and print
                                              # per-turn channel energy
    python app/demo/make_audio.py --only demo-003 demo-017

Requirements: espeak-ng on PATH (Debian/Ubuntu: ``apt-get install -y
espeak-ng``), plus the Python packages ``av`` (PyAV) and ``numpy``; ``--check``
also needs ``faster_whisper`` (only its ``decode_audio`` helper, no model).

For every row of app/demo/calls.jsonl that has an "audio" key, each turn is
spoken by espeak-ng (agent: en-us, customer: en-gb with the f3 variant, both at
160 words per minute) into a WAV file in a temporary directory. The turns are
laid out one after another with 0.6 s of silence between them, agent turns on
the LEFT channel (right silent meanwhile) and customer turns on the RIGHT
channel, the way two-channel call-center recordings usually look. The stereo
track is resampled to 16 kHz with ``av.AudioResampler`` and encoded as a
2-channel MP3 at 32 kbit/s with PyAV (libmp3lame). The output is deterministic
for a given espeak-ng / FFmpeg version.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
CALLS = HERE / "calls.jsonl"

VOICES = {
    "agent": ["-v", "en-us", "-p", "45"],
    "customer": ["-v", "en-gb+f3", "-p", "55"],
}
SPEED_WPM = 160
GAP_S = 0.6  # silence between turns
PAD_S = 0.3  # silence at the very start and end
OUT_RATE = 16000
BIT_RATE = 32000
CHANNEL = {"agent": 0, "customer": 1}  # 0 = left, 1 = right


def speak(text: str, speaker: str, workdir: Path, n: int) -> tuple[np.ndarray, int]:
    """Return (mono float32 samples in [-1, 1], sample rate) for one turn."""
    txt = workdir / f"turn{n:02d}.txt"
    wav = workdir / f"turn{n:02d}.wav"
    txt.write_text(text, encoding="utf-8")
    cmd = ["espeak-ng", *VOICES[speaker], "-s", str(SPEED_WPM), "-w", str(wav), "-f", str(txt)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with wave.open(str(wav), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, "unexpected espeak-ng WAV format"
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, rate


def render(
    turns: list[dict], workdir: Path
) -> tuple[np.ndarray, int, list[tuple[str, float, float]]]:
    """Lay the turns out on a stereo timeline.

    Returns (array of shape (2, n) float32, sample rate, [(speaker, start_s, end_s), ...]).
    """
    clips = []
    rate = None
    for n, turn in enumerate(turns):
        samples, r = speak(turn["text"], turn["speaker"], workdir, n)
        if rate is None:
            rate = r
        assert r == rate, "espeak-ng voices produced different sample rates"
        clips.append((turn["speaker"], samples))
    gap, pad = int(GAP_S * rate), int(PAD_S * rate)
    total = 2 * pad + sum(len(s) for _, s in clips) + gap * (len(clips) - 1)
    track = np.zeros((2, total), dtype=np.float32)
    spans = []
    pos = pad
    for speaker, samples in clips:
        track[CHANNEL[speaker], pos : pos + len(samples)] = samples
        spans.append((speaker, pos / rate, (pos + len(samples)) / rate))
        pos += len(samples) + gap
    return track, rate, spans


def encode_mp3(track: np.ndarray, rate: int, path: Path) -> None:
    """Resample a (2, n) float32 track to 16 kHz and write it as stereo MP3."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(track), format="fltp", layout="stereo")
    frame.sample_rate = rate
    frame.pts = 0
    resampler = av.AudioResampler(format="s16p", layout="stereo", rate=OUT_RATE)
    with av.open(str(path), mode="w", format="mp3") as container:
        stream = container.add_stream("mp3", rate=OUT_RATE)
        stream.bit_rate = BIT_RATE
        stream.layout = "stereo"
        stream.format = "s16p"
        for out in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(out):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def check(path: Path, spans: list[tuple[str, float, float]]) -> bool:
    """Decode with faster_whisper and compare per-channel energy inside each turn."""
    from faster_whisper import decode_audio

    left, right = decode_audio(str(path), sampling_rate=OUT_RATE, split_stereo=True)
    ok = len(left) == len(right)
    print(
        f"  decoded {path.name}: 2 x {len(left)} samples @ {OUT_RATE} Hz ({len(left) / OUT_RATE:.1f} s)"
    )
    for speaker, start, end in spans:
        a, b = int(start * OUT_RATE), int(end * OUT_RATE)
        el = float(np.sqrt(np.mean(np.square(left[a:b])))) if b > a else 0.0
        er = float(np.sqrt(np.mean(np.square(right[a:b])))) if b > a else 0.0
        want, other = (el, er) if speaker == "agent" else (er, el)
        good = want > 0.01 and want > 10 * other
        ok &= good
        print(
            f"    {speaker:8s} {start:6.2f}-{end:6.2f}s  rms L={el:.4f} R={er:.4f}  {'ok' if good else 'WRONG CHANNEL'}"
        )
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--check", action="store_true", help="decode each file and print per-turn channel energy"
    )
    ap.add_argument("--only", nargs="*", default=None, metavar="ID", help="only these call ids")
    ap.add_argument(
        "--out",
        type=Path,
        help="write every English call (not only the audio subset) into this folder, with a "
        "manifest.jsonl of per-channel references (the `callscope eval asr` contract) and a "
        "calls.jsonl of whole-call references: a benchmark corpus, not part of the demo",
    )
    ap.add_argument("--limit", type=int, default=0, help="with --out: at most this many calls")
    args = ap.parse_args(argv)

    if shutil.which("espeak-ng") is None:
        print("espeak-ng not found; install it with: apt-get install -y espeak-ng", file=sys.stderr)
        return 2

    rows = [
        json.loads(line) for line in CALLS.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    if args.out:
        rows = [
            r for r in rows if r["language"] == "en" and (not args.only or r["id"] in args.only)
        ]
        rows = rows[: args.limit or None]
        for r in rows:
            r["audio"] = str(args.out.resolve() / f"{r['id']}.mp3")
        manifest = [
            {
                "audio": f"{r['id']}.mp3",
                "language": "en",
                "channel": CHANNEL[side],
                "text": " ".join(t["text"] for t in r["turns"] if t["speaker"] == side),
            }
            for r in rows
            for side in ("agent", "customer")
        ]
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "manifest.jsonl").write_text(
            "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in manifest), "utf-8"
        )
        # The whole call in turn order, for scoring tools that hear both channels at once.
        whole = [
            {
                "audio": f"{r['id']}.mp3",
                "language": "en",
                "text": " ".join(t["text"] for t in r["turns"]),
                "turns": len(r["turns"]),
            }
            for r in rows
        ]
        (args.out / "calls.jsonl").write_text(
            "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in whole), "utf-8"
        )
    else:
        rows = [r for r in rows if "audio" in r and (not args.only or r["id"] in args.only)]
    all_ok = True
    total_bytes = 0
    with tempfile.TemporaryDirectory(prefix="callscope-tts-") as tmp:
        for row in rows:
            workdir = Path(tmp) / row["id"]
            workdir.mkdir()
            track, rate, spans = render(row["turns"], workdir)
            out = HERE / row["audio"]
            encode_mp3(track, rate, out)
            size = out.stat().st_size
            total_bytes += size
            speech = sum(e - s for _, s, e in spans)
            print(
                f"{row['id']}: {len(spans)} turns, {track.shape[1] / rate:.1f} s ({speech:.1f} s speech), {size / 1024:.0f} KiB -> {out}"
            )
            if args.check:
                all_ok &= check(out, spans)
    print(f"{len(rows)} files, {total_bytes / 1024:.0f} KiB total")
    if args.check:
        print("channel check:", "ok" if all_ok else "FAILED")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
