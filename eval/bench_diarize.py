"""Diarization of mono recordings, measured: DER, roles, speaker-attributed WER.

Usage (needs espeak-ng: ``apt-get install -y espeak-ng``)::

    python -m eval.bench_diarize --out /tmp/diarize --calls 24 --single 6 --zh 6 \\
        --json docs/bench_diarize.json

Every call is a demo call (``app/demo/calls.jsonl``) spoken by espeak-ng with a *pair of
different voices* (agent, customer) taken from a fixed list, its turns laid out with seeded
pauses of 0.25-0.9 s. Each is written twice: as stereo (one speaker per channel, what the
channel path transcribes) and as the mono mix of the same track (what diarization must split).
``--single`` calls have both roles spoken by one voice: nothing to split, they measure how often
one voice is wrongly cut in two (they should come back ``uncertain``). The reference is exact:
each turn's span, trimmed to where its clean channel has energy.

Scores, per call and summed:
* DER (NIST definition, as ``pyannote.metrics`` computes it): missed speech + false alarm +
  speaker confusion over reference speech, on 10 ms frames, with the best one-to-one mapping of
  found voices to reference speakers; reported without a collar and with the customary 0.25 s
  collar around reference boundaries.
* roles: the voice named ``agent`` is the reference agent (by overlap).
* speaker-attributed WER: the words attributed to each role against that role's reference
  text, mono-diarized against the stereo path on the same calls.

The espeak voice pairs are chosen so that the voice encoder hears them apart: the demo's own
two voices (en-us and en-gb+f3 at the same pitch) are 0.92 cosine apart in its space, where
different real voices are 0.5-0.65 (measured on the shared two-speaker WAV); those are reported
as their own group, ``--demo-voices``.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
import time
import wave
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

import ingest.diarize
from app.core.config import load_settings
from app.core.digest import file_sha256
from app.core.models import Transcript
from eval.asr import cer, wer
from ingest.diarize import Diarized
from ingest.transcribe import Transcriber

CALLS = Path(__file__).resolve().parents[1] / "app" / "demo" / "calls.jsonl"
RATE = 16000
FRAME = 0.01
#: (agent, customer) espeak-ng voices: mixed and same-gender pairs, all heard apart by the
#: voice encoder (cosine 0.53-0.84 between them, measured).
PAIRS_EN = [
    (["-v", "en-us", "-p", "45"], ["-v", "en-us+f2", "-p", "75"]),
    (["-v", "en-gb-x-rp+f5", "-p", "65"], ["-v", "en-us+klatt2", "-p", "50"]),
    (["-v", "en-us-nyc+m1", "-p", "40"], ["-v", "en-029+f1", "-p", "60"]),
    (["-v", "en-gb-scotland+m7", "-p", "50"], ["-v", "en-gb-x-rp+f5", "-p", "65"]),
    (["-v", "en-us+m3", "-p", "35"], ["-v", "en-us+f2", "-p", "75"]),
    (["-v", "en-gb+f4", "-p", "70"], ["-v", "en-us+klatt2", "-p", "50"]),
    (["-v", "en-us", "-p", "45"], ["-v", "en-gb-x-rp+f5", "-p", "65"]),
    (["-v", "en-029+f1", "-p", "60"], ["-v", "en-us+m3", "-p", "35"]),
    (["-v", "en-gb-scotland+m7", "-p", "50"], ["-v", "en-us-nyc+m1", "-p", "40"]),
    (["-v", "en-us+klatt2", "-p", "50"], ["-v", "en-gb+f4", "-p", "70"]),
    (["-v", "en-us", "-p", "45"], ["-v", "en-gb-scotland+m7", "-p", "50"]),
    (["-v", "en-gb+f3", "-p", "55"], ["-v", "en-us+klatt2", "-p", "50"]),
]
PAIRS_ZH = [
    (["-v", "cmn", "-p", "40"], ["-v", "cmn+f2", "-p", "75"]),
    (["-v", "cmn+f4", "-p", "70"], ["-v", "cmn+m3", "-p", "35"]),
    (["-v", "cmn+klatt2", "-p", "50"], ["-v", "cmn+f5", "-p", "65"]),
]
#: The demo recordings' own voices (app/demo/make_audio.py).
DEMO_PAIR = (["-v", "en-us", "-p", "45"], ["-v", "en-gb+f3", "-p", "55"])


def speak(text: str, voice: list[str], workdir: Path) -> np.ndarray:
    wav = workdir / "turn.wav"
    subprocess.run(
        ["espeak-ng", *voice, "-s", "160", "-w", str(wav), text],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    with wave.open(str(wav), "rb") as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    # espeak-ng speaks at 22.05 kHz: linear resampling is enough for a benchmark signal.
    n = int(len(pcm) * RATE / rate)
    return np.interp(np.linspace(0, len(pcm) - 1, n), np.arange(len(pcm)), pcm).astype(np.float32)


def render(
    turns: list[dict[str, str]], pair: tuple[list[str], list[str]], seed: int, workdir: Path
) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """(2, n) track with the agent left and the customer right, and the reference turns."""
    rng = random.Random(seed)
    clips = [
        (t["speaker"], speak(t["text"], pair[0] if t["speaker"] == "agent" else pair[1], workdir))
        for t in turns
    ]
    gaps = [int(rng.uniform(0.25, 0.9) * RATE) for _ in clips]
    pad = int(0.3 * RATE)
    track = np.zeros((2, 2 * pad + sum(len(c) for _, c in clips) + sum(gaps)), np.float32)
    spans = []
    at = pad
    for (speaker, clip), gap in zip(clips, gaps, strict=True):
        track[0 if speaker == "agent" else 1, at : at + len(clip)] = clip
        loud = np.flatnonzero(np.abs(clip) > 0.01)
        if loud.size:
            spans.append((speaker, (at + loud[0]) / RATE, (at + loud[-1]) / RATE))
        at += len(clip) + gap
    return track, spans


def write_wav(path: Path, samples: np.ndarray) -> None:
    data = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1 if data.ndim == 1 else data.shape[0])
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.T.tobytes() if data.ndim > 1 else data.tobytes())


def frames_of(spans: list[tuple[str, float, float]], n: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n, bool))
    for speaker, a, b in spans:
        out[speaker][int(a / FRAME) : int(b / FRAME)] = True
    return dict(out)


def der(
    reference: list[tuple[str, float, float]],
    hypothesis: list[tuple[str, float, float]],
    collar: float = 0.0,
) -> dict[str, float]:
    """Missed, false alarm, confusion and DER (fractions of scored reference speech)."""
    from scipy.optimize import linear_sum_assignment

    end = max([b for _, _, b in reference + hypothesis] + [0.0])
    n = int(end / FRAME) + 2
    ref = frames_of(reference, n)
    hyp = frames_of(hypothesis, n)
    scored = np.ones(n, bool)
    for _, a, b in reference:
        for edge in (a, b):
            scored[max(0, int((edge - collar) / FRAME)) : int((edge + collar) / FRAME)] = False
    rnames, hnames = list(ref), list(hyp)
    r_count = sum(ref[r] for r in rnames) if rnames else np.zeros(n)
    h_count = sum(hyp[h] for h in hnames) if hnames else np.zeros(n)
    overlap = np.array([[np.sum(ref[r] & hyp[h] & scored) for h in hnames] for r in rnames])
    matched = 0.0
    if overlap.size:
        rows, cols = linear_sum_assignment(-overlap)
        matched = float(overlap[rows, cols].sum())
    total = float(np.sum(r_count * scored))
    missed = float(np.sum(np.maximum(r_count - h_count, 0) * scored))
    false_alarm = float(np.sum(np.maximum(h_count - r_count, 0) * scored))
    confusion = float(np.sum(np.minimum(r_count, h_count) * scored)) - matched
    total = total or 1.0
    return {
        "missed": missed / total,
        "false_alarm": false_alarm / total,
        "confusion": confusion / total,
        "der": (missed + false_alarm + confusion) / total,
        "speech_seconds": total * FRAME,
    }


def spans_of(transcript: Transcript) -> list[tuple[str, float, float]]:
    return [(t.speaker, float(t.start or 0), float(t.end or 0)) for t in transcript.turns]


def role_text(transcript: Transcript, role: str) -> str:
    return " ".join(t.text for t in transcript.turns if t.speaker == role)


def agent_right(reference: list[tuple[str, float, float]], transcript: Transcript) -> bool:
    """The voice named agent overlaps the reference agent more than the customer."""
    hyp = [s for s in spans_of(transcript) if s[0] == "agent"]
    n = int(max([b for _, _, b in reference] + [1.0]) / FRAME) + 2
    ref = frames_of(reference, n)
    mine = frames_of(hyp, n).get("agent", np.zeros(n, bool))
    return bool(np.sum(mine & ref.get("agent", 0)) > np.sum(mine & ref.get("customer", 0)))


def build(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in CALLS.read_text("utf-8").splitlines() if line.strip()]
    # Conversations of six turns or more, as real calls are (the shortest demo calls have 4).
    en = [r for r in rows if r["language"] == "en" and len(r["turns"]) >= 6]
    zh = [r for r in rows if r["language"] == "zh" and len(r["turns"]) >= 6]
    plan: list[tuple[str, dict[str, Any], tuple[list[str], list[str]], str]] = []
    for i, row in enumerate(en[: args.calls]):
        plan.append(("two voices", row, PAIRS_EN[i % len(PAIRS_EN)], "en"))
    for i, row in enumerate(zh[: args.zh]):
        plan.append(("two voices (zh)", row, PAIRS_ZH[i % len(PAIRS_ZH)], "zh"))
    for row in en[args.calls : args.calls + args.demo_voices]:
        plan.append(("demo voices", row, DEMO_PAIR, "en"))
    for i, row in enumerate(en[args.calls + args.demo_voices :][: args.single]):
        voice = PAIRS_EN[i % len(PAIRS_EN)][0]
        plan.append(("one voice", row, (voice, voice), "en"))
    args.out.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (group, row, pair, language) in enumerate(plan):
            stereo, mono = args.out / f"{row['id']}.stereo.wav", args.out / f"{row['id']}.mono.wav"
            ref_path = args.out / f"{row['id']}.ref.json"
            if not ref_path.exists() or args.fresh:
                track, spans = render(row["turns"], pair, seed=n, workdir=Path(tmp))
                write_wav(stereo, track)
                write_wav(mono, track.sum(axis=0) / 2)
                ref_path.write_text(json.dumps(spans), "utf-8")
            made.append(
                {
                    "id": row["id"],
                    "group": group,
                    "language": language,
                    "stereo": stereo,
                    "mono": mono,
                    "reference": [tuple(s) for s in json.loads(ref_path.read_text("utf-8"))],
                    "text": {
                        role: " ".join(t["text"] for t in row["turns"] if t["speaker"] == role)
                        for role in ("agent", "customer")
                    },
                }
            )
    return made


#: What diarization decided for the last mono call (its separation is not kept in the
#: transcript): recorded by wrapping the function the transcriber calls.
_LAST: list[Diarized] = []
_diarize = ingest.diarize.diarize


_PRINTS: list[int] = []


def _recording(*args: Any, **kwargs: Any) -> Diarized:
    _PRINTS.append(len(args[1].times))
    _LAST.append(_diarize(*args, **kwargs))
    return _LAST[-1]


ingest.diarize.diarize = _recording  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/callscope-diarize"))
    ap.add_argument("--calls", type=int, default=24, help="English calls with two voices")
    ap.add_argument("--zh", type=int, default=6, help="Chinese calls with two voices")
    ap.add_argument("--demo-voices", type=int, default=4, help="calls in the demo's own voices")
    ap.add_argument("--single", type=int, default=6, help="calls spoken by one voice")
    ap.add_argument("--fresh", action="store_true", help="render the audio again")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    calls = build(args)
    settings = load_settings()
    results = []
    stt: dict[str, Transcriber] = {}
    seconds = {"stereo": 0.0, "mono": 0.0}
    for call in calls:
        lang = call["language"]
        if lang not in stt:
            whisper = settings.whisper.model_copy(update={"language": lang, "workers": 1})
            stt[lang] = Transcriber(
                whisper,
                models_dir=settings.paths.models,
                cache_dir=args.out / "cache",
            )
        heard = {}
        _LAST.clear()
        _PRINTS.clear()
        for side in ("stereo", "mono"):
            started = time.perf_counter()
            path = call[side]
            heard[side], _ = stt[lang].transcribe(path, file_sha256(path))
            seconds[side] += time.perf_counter() - started
        mono, stereo = heard["mono"], heard["stereo"]
        ref = call["reference"]
        item: dict[str, Any] = {
            "id": call["id"],
            "group": call["group"],
            "speakers": mono.speaker_source,
            "separation": round(_LAST[-1].separation, 4) if _LAST else None,
            "closest": round(_LAST[-1].closest, 4) if _LAST else None,
            "purity": round(_LAST[-1].purity, 4) if _LAST else None,
            "prints": _PRINTS[-1] if _PRINTS else None,
            "der": der(ref, spans_of(mono)),
            "der_collar": der(ref, spans_of(mono), collar=0.25),
            "stereo_der_collar": der(ref, spans_of(stereo), collar=0.25),
            "agent_right": agent_right(ref, mono),
        }
        # Chinese is scored by characters (CER), English by words.
        rate, size = (cer, len) if lang == "zh" else (wer, lambda text: len(text.split()))
        for side, t in (("mono", mono), ("stereo", stereo)):
            pieces = [(call["text"][r], role_text(t, r)) for r in ("agent", "customer")]
            item[f"{side}_sa_wer"] = sum(rate(a, b) * size(a) for a, b in pieces) / max(
                1, sum(size(a) for a, _ in pieces)
            )
        results.append(item)
        print(
            f"{call['id']} {call['group']:16s} {item['speakers']:9s} "
            f"sep {item['separation']} purity {item['purity']} n {item['prints']} "
            f"DER {item['der']['der']:.3f} (collar {item['der_collar']['der']:.3f}) "
            f"agent {'ok' if item['agent_right'] else 'WRONG'} "
            f"saWER mono {item['mono_sa_wer']:.3f} stereo {item['stereo_sa_wer']:.3f}",
            flush=True,
        )
    summary = summarize(results)
    summary["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    summary["cost"] = cost([c["mono"] for c in calls if c["language"] == "en"][:10])
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(
            json.dumps({"summary": summary, "calls": results}, indent=2, default=str) + "\n",
            "utf-8",
        )
    return 0


def cost(paths: list[Path]) -> dict[str, float]:
    """What telling voices apart adds to transcribing a mono call: VAD regions, voice prints
    and clustering, against plain ``WhisperModel.transcribe`` of the same file, same run."""
    from faster_whisper import WhisperModel, decode_audio

    from ingest.diarize import diarize
    from ingest.voices import VoiceEncoder, speech_regions

    settings = load_settings()
    source = Transcriber(settings.whisper, models_dir=settings.paths.models, cache_dir=Path("/tmp"))
    model = WhisperModel(source.model_source(), device="cpu", compute_type="int8", cpu_threads=1)
    encoder = VoiceEncoder()
    audio_s = whisper_s = voices_s = 0.0
    for path in paths:
        samples = decode_audio(str(path))
        audio_s += len(samples) / RATE
        started = time.perf_counter()
        segments, _ = model.transcribe(samples, language="en", word_timestamps=True)
        words = [(w.start, w.end, w.word) for s in segments for w in s.words or []]
        whisper_s += time.perf_counter() - started
        started = time.perf_counter()
        diarize(words, encoder.frames(samples, speech_regions(samples)))
        voices_s += time.perf_counter() - started
    return {
        "calls": len(paths),
        "audio_seconds": round(audio_s, 1),
        "plain_transcribe_seconds": round(whisper_s, 1),
        "diarize_seconds": round(voices_s, 1),
        "diarize_share_of_plain": round(voices_s / whisper_s, 4) if whisper_s else 0.0,
    }


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group in sorted({r["group"] for r in results}):
        rs = [r for r in results if r["group"] == group]
        split = [r for r in rs if r["speakers"] == "voices"]
        speech = sum(r["der"]["speech_seconds"] for r in rs) or 1.0

        def pooled(key: str, part: str, rows: list[dict[str, Any]] = rs, total: float = speech):
            return round(sum(r[key][part] * r[key]["speech_seconds"] for r in rows) / total, 4)

        out[group] = {
            "calls": len(rs),
            "split_by_voice": len(split),
            "uncertain": sum(r["speakers"] == "uncertain" for r in rs),
            "der": pooled("der", "der"),
            "der_collar_0.25": pooled("der_collar", "der"),
            "confusion_collar_0.25": pooled("der_collar", "confusion"),
            "missed_collar_0.25": pooled("der_collar", "missed"),
            "false_alarm_collar_0.25": pooled("der_collar", "false_alarm"),
            "stereo_der_collar_0.25": pooled("stereo_der_collar", "der"),
            "roles_right": sum(r["agent_right"] for r in rs),
            "mono_sa_wer": round(float(np.mean([r["mono_sa_wer"] for r in rs])), 4),
            "stereo_sa_wer": round(float(np.mean([r["stereo_sa_wer"] for r in rs])), 4),
        }
    return out


if __name__ == "__main__":
    raise SystemExit(main())
