"""Hot words: domain terms (product, plan and place names) recordings are listened for.

One reading of a list for every way in: the deployment's ``whisper.hotwords``, ``--hotwords`` of
the CLI, the ``hotwords`` field of an upload and the UI's box. Terms are separated by commas
(``,`` or ``，``), semicolons, ``、`` or new lines, so a term may hold spaces ("Gold Plus plan").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.core.errors import InputError

#: Whisper reads at most 223 prompt tokens (half its context); more terms would be cut off
#: unseen, so a longer list is refused instead.
MAX_HOTWORDS = 60
MAX_HOTWORD_CHARS = 40
_SEPARATORS = re.compile(r"[,，;；、\n]+")


def parse_hotwords(given: str | Iterable[str] | None) -> tuple[str, ...]:
    """The terms of ``given`` (a text to split, or terms), stripped, in order, each once.
    Raises ``InputError`` for a list whisper could not take."""
    if given is None:
        return ()
    parts = _SEPARATORS.split(given) if isinstance(given, str) else list(given)
    terms = tuple(dict.fromkeys(" ".join(str(p).split()) for p in parts if str(p).strip()))
    if long := [t for t in terms if len(t) > MAX_HOTWORD_CHARS]:
        raise InputError(
            f"hot word too long ({len(long[0])} characters, at most {MAX_HOTWORD_CHARS}): "
            f"{long[0][:60]!r}; separate terms with commas"
        )
    if len(terms) > MAX_HOTWORDS:
        raise InputError(
            f"{len(terms)} hot words; whisper can be prompted with at most {MAX_HOTWORDS}: "
            "keep the terms it gets wrong"
        )
    return terms
