"""Write the synthetic speech files the diarization and metrics tests use (run once; the files
are committed). Needs espeak-ng (``apt-get install -y espeak-ng``)::

    python tests/data/make_speech.py

* ``mono_two_voices.flac``: demo call demo-002 (6 turns) spoken by two different espeak-ng
  voices (agent en-us, customer en-us+f2), mixed to one channel; ``mono_two_voices.json`` holds
  each turn's speaker and span (seconds).
* ``hold_overlap.flac``: a stereo call (agent left, customer right) with a planted 10-second
  hold (nobody speaks) and the customer starting 1.2 s before the agent stops (overtalk);
  ``hold_overlap.json`` holds the spans.
* ``hotwords_call.flac``: a stereo call whose customer names "Zentavo Plus" and "Quorvia",
  terms whisper spells wrong unless it is given them as hot words.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from eval.bench_diarize import CALLS, PAIRS_EN, RATE, render, speak  # noqa: E402


def main() -> None:
    rows = {json.loads(x)["id"]: json.loads(x) for x in CALLS.read_text("utf-8").splitlines() if x}
    with tempfile.TemporaryDirectory() as tmp:
        track, spans = render(rows["demo-002"]["turns"], PAIRS_EN[0], seed=2, workdir=Path(tmp))
        soundfile.write(HERE / "mono_two_voices.flac", track.sum(axis=0) / 2, RATE)
        (HERE / "mono_two_voices.json").write_text(json.dumps(spans, indent=1), "utf-8")

        agent, customer = PAIRS_EN[0]
        lines = [
            ("agent", agent, "Thank you for calling Northwind, this is Sam. How can I help?", 0.5),
            ("customer", customer, "Hi, I was charged twice for my order last week.", 0.6),
            ("agent", agent, "Let me check that for you. Please hold while I look.", 10.0),
            ("agent", agent, "Thanks for waiting. I can see both charges on your account.", -1.2),
            ("customer", customer, "So will you refund the second one today?", 0.5),
            ("agent", agent, "Yes, the refund goes out today. Anything else?", 0.4),
        ]
        clips = [(who, speak(text, voice, Path(tmp)), after) for who, voice, text, after in lines]
        at = int(0.3 * RATE)
        placed = []
        for who, clip, after in clips:
            placed.append((who, at, clip))
            at += len(clip) + int(after * RATE)
        end = max(a + len(c) for _, a, c in placed) + int(0.3 * RATE)
        stereo = np.zeros((end, 2), np.float32)
        spans = []
        for who, a, clip in placed:
            stereo[a : a + len(clip), 0 if who == "agent" else 1] += clip
            loud = np.flatnonzero(np.abs(clip) > 0.01)
            spans.append((who, (a + loud[0]) / RATE, (a + loud[-1]) / RATE))
        soundfile.write(HERE / "hold_overlap.flac", stereo, RATE)
        (HERE / "hold_overlap.json").write_text(json.dumps(spans, indent=1), "utf-8")

        # A customer naming two invented terms whisper cannot know (the hot-word tests).
        said = "I would like to upgrade to the Zentavo Plus plan, and my Quorvia card was charged."
        left = speak("Thank you for calling, how can I help?", agent, Path(tmp))
        right = speak(said, customer, Path(tmp))
        gap = int(0.5 * RATE)
        stereo = np.zeros((len(left) + len(right) + 3 * gap, 2), np.float32)
        stereo[gap : gap + len(left), 0] = left
        stereo[2 * gap + len(left) : 2 * gap + len(left) + len(right), 1] = right
        soundfile.write(HERE / "hotwords_call.flac", stereo, RATE)


if __name__ == "__main__":
    main()
