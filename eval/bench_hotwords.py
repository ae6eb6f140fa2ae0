"""Hot words, measured: are a deployment's domain terms transcribed right, with and without the
list, through the production ingest path.

Usage (needs espeak-ng: ``apt-get install -y espeak-ng``)::

    python -m eval.bench_hotwords --calls 12 --json docs/bench_hotwords.json

Each synthetic call is four turns (agent left channel, customer right, two different espeak-ng
voices from ``eval.bench_diarize.PAIRS_EN``) built from fixed sentence templates that name two
or three of 12 invented product, plan and place names (invented so whisper cannot know them
from its training data). Every call is ingested twice into throwaway stores through
``app.services.calls`` (the CLI's path): once as it is, once with the 12 terms as the import's
hot words. Scores:

* term recall: occurrences of a term found in the call's transcript, spelled exactly (case and
  spaces ignored), over the occurrences spoken;
* WER of the words around the terms (each term removed from reference and hypothesis), which
  says whether the prompt costs the other words anything;
* seconds of transcription, both ways, in the same run.

Chinese is not measured: espeak-ng's Mandarin is not intelligible to whisper base, and no
Chinese voice is installable offline (``../shared/notes/verified-facts.md``).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from app.core.config import load_settings
from app.core.models import CallSource
from app.runtime import temporary_runtime
from app.services import calls
from eval.asr import normalize_en, wer
from eval.bench_diarize import PAIRS_EN, render, write_wav

TERMS = [
    "Zentavo Plus",
    "Quorvia",
    "Marwick Fold",
    "Kestrelink",
    "Altessa Gold",
    "Brenhaven",
    "Tolvane",
    "Ostrava Lite",
    "Pellmoor",
    "Vantiq Flex",
    "Drumlea",
    "Synquell",
]
AGENT = [
    "Thank you for calling, you are through to the {a} team, how can I help?",
    "I can see your {a} account here, let me check the {b} details for you.",
    "The nearest store is our {a} branch, and the {b} offer is still running.",
    "I have moved you to {a} and cancelled the {b} add on, is there anything else?",
]
CUSTOMER = [
    "Hi, I am calling about my {a} subscription, it was charged twice.",
    "I would like to switch from {a} to {b} please.",
    "Can I collect the parcel at the {a} depot instead of {b}?",
    "The {a} router keeps dropping the connection since I moved to {b}.",
]


def script(seed: int) -> list[dict[str, str]]:
    """Four turns naming terms, the same for every run with this seed."""
    rng = random.Random(seed)
    turns = []
    for speaker, lines in (
        ("agent", AGENT),
        ("customer", CUSTOMER),
        ("agent", AGENT),
        ("customer", CUSTOMER),
    ):
        a, b = rng.sample(TERMS, 2)
        turns.append({"speaker": speaker, "text": rng.choice(lines).format(a=a, b=b)})
    return turns


def _squash(text: str) -> str:
    return " ".join(normalize_en(text)).replace(" ", "")


def term_hits(reference: str, hypothesis: str) -> tuple[int, int]:
    """(found, spoken) occurrences of the terms."""
    heard = _squash(hypothesis)
    spoken = found = 0
    for term in TERMS:
        n = reference.count(term)
        spoken += n
        found += min(n, heard.count(_squash(term)))
    return found, spoken


def without_terms(text: str) -> str:
    for term in sorted(TERMS, key=len, reverse=True):
        text = re.sub(re.escape(term), " ", text, flags=re.IGNORECASE)
    return text


def run(n_calls: int, folder: Path) -> dict[str, Any]:
    references: dict[str, str] = {}
    for i in range(n_calls):
        turns = script(i)
        track, _ = render(turns, PAIRS_EN[i % len(PAIRS_EN)], i, folder)
        write_wav(folder / f"hot-{i:02d}.wav", track)
        references[f"hot-{i:02d}"] = " ".join(t["text"] for t in turns)
    settings = load_settings().with_changes(whisper={"workers": 1, "language": "en"})
    out: dict[str, Any] = {"calls": n_calls, "terms": TERMS}
    for name, words in (("without", ()), ("with", tuple(TERMS))):
        sources = [
            CallSource(
                call_id=cid,
                kind="audio",
                origin=str(folder / f"{cid}.wav"),
                path=folder / f"{cid}.wav",
            )
            for cid in references
        ]
        calls.set_hotwords(sources, words)
        with temporary_runtime(settings, prefix=f"hot{name}") as runtime:
            started = time.perf_counter()
            results = calls.ingest_sources(runtime, sources)
            seconds = time.perf_counter() - started
            assert all(r.status == "indexed" for r in results), results
            found = spoken = 0
            errors: list[float] = []
            heard = {}
            for cid, reference in references.items():
                row = runtime.ledger.get(cid)
                assert row is not None and row.transcript is not None
                hypothesis = " ".join(t.text for t in row.transcript.turns)
                heard[cid] = hypothesis
                f, s = term_hits(reference, hypothesis)
                found, spoken = found + f, spoken + s
                errors.append(wer(without_terms(reference), without_terms(hypothesis)))
        out[name] = {
            "term_recall": round(found / spoken, 3),
            "terms_found": found,
            "terms_spoken": spoken,
            "wer_other_words": round(sum(errors) / len(errors), 3),
            "seconds": round(seconds, 1),
            "examples": {cid: heard[cid] for cid in list(heard)[:2]},
        }
    out["references"] = {cid: references[cid] for cid in list(references)[:2]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="callscope-hotwords-") as tmp:
        result = run(args.calls, Path(tmp))
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
