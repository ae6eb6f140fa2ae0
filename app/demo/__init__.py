"""The bundled demo corpus (package data, so ``callscope demo`` finds it from any directory):
``calls.jsonl`` (120 labeled calls), ``audio/`` (20 of them as two-channel mp3), the scripts
that made them and ``split_eval.py``. See README.md beside this file."""

from pathlib import Path

#: The folder holding ``calls.jsonl`` and ``audio/``.
CORPUS_DIR = Path(__file__).resolve().parent
