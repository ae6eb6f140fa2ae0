"""Text normalization shared by every ingest path."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

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
