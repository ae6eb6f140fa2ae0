"""The bundled demo corpus (package data, so ``callscope demo`` finds it from any directory):
``calls.jsonl`` (120 labeled calls), ``audio/`` (20 of them as two-channel mp3), the scripts
that made them and ``split_eval.py``. See README.md beside this file."""

from pathlib import Path

#: The folder holding ``calls.jsonl`` and ``audio/``.
CORPUS_DIR = Path(__file__).resolve().parent


def corpus_turn_lines() -> list[str]:
    """Every turn of the demo calls as ``Speaker: words``, in file order (Chinese and English
    customer-service talk: what quality inspection centres its turn vectors on in a store too
    small to have its own mean)."""
    import json

    lines = []
    with (CORPUS_DIR / "calls.jsonl").open(encoding="utf-8") as f:
        for row in f:
            for turn in json.loads(row)["turns"]:
                speaker = str(turn["speaker"])
                lines.append(f"{speaker[:1].upper()}{speaker[1:]}: {turn['text']}")
    return lines
