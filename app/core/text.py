"""Text helpers every layer shares: normalization (NFC, spaces, Simplified Chinese), CJK
detection, a call as ``Speaker: text`` lines, and the offline tiktoken encodings."""

from __future__ import annotations

import os
import re
import unicodedata
from functools import lru_cache
from typing import Any

import opencc
import tiktoken

from app.core import bundled
from app.core.models import Transcript

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SPACES = re.compile(r"[ \t\u3000]+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def normalize(text: str) -> str:
    """NFC, collapsed spaces, and Chinese in Simplified characters.

    Not NFKC: that would turn Chinese full-width punctuation (，。？) into ASCII, which staff
    reading Simplified Chinese should not see; BM25 tokenization ignores punctuation anyway.

    The customer reads Simplified Chinese, but whisper often writes Mandarin in Traditional
    characters; converting everything (a no-op on Simplified and non-Chinese text) also makes
    keyword search match regardless of which script a transcript came in.
    """
    text = unicodedata.normalize("NFC", text)
    text = _SPACES.sub(" ", text).strip()
    if has_cjk(text):
        text = _t2s().convert(text)
    return text


def call_text(transcript: Transcript) -> str:
    """A whole call as ``Speaker: text`` lines (the form chunks and prompts use)."""
    return "\n".join(f"{t.speaker.capitalize()}: {t.text}" for t in transcript.turns)


@lru_cache(maxsize=4)
def encoding(name: str) -> tiktoken.Encoding:
    """A tiktoken encoding loaded from the files llama-index-core ships (never downloaded)."""
    if "TIKTOKEN_CACHE_DIR" not in os.environ and (cache := bundled.tiktoken_cache_dir()):
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    return tiktoken.get_encoding(name)


#: What makes a spreadsheet cell a formula (OWASP "CSV injection"): these first characters,
#: also after leading spaces, which Excel and LibreOffice skip.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(value: object) -> bool:
    """Whether a spreadsheet would evaluate this cell (``=HYPERLINK(...)``, ``@SUM``, ``+1``)."""
    return isinstance(value, str) and bool(value) and value.lstrip(" ")[:1] in _FORMULA_START


def spreadsheet_safe(value: object) -> object:
    """A CSV cell that a spreadsheet will show as text, never evaluate: a string that would
    start a formula gets a leading apostrophe, the usual guard; anything else is unchanged."""
    return "'" + value if starts_formula(value) else value  # type: ignore[operator]


def stamp(seconds: float | None) -> str:
    """``mm:ss`` (``h:mm:ss`` past an hour), or empty for a turn without times."""
    if seconds is None:
        return ""
    h, rest = divmod(int(seconds), 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60:02d}:{rest % 60:02d}"


def labels_from(value: Any, sep: str = ";") -> list[str]:
    """Labels from a list, or a string with ``sep``-separated labels; blanks dropped."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(sep)
    out: list[str] = []
    for item in items:
        label = str(item).strip()
        if label and label.lower() != "nan" and label not in out:
            out.append(label)
    return out
