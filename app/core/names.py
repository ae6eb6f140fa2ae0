"""Names that come from users made safe: a client's file name as a stored file name, and as a
call id."""

from __future__ import annotations

import re
import unicodedata


def safe_basename(filename: str) -> str:
    """The last path component of a client file name, without control characters, leading
    dots or anything but letters, digits, ``-_.``; never empty."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = re.sub(r"[^\w.\-]+", "_", name).lstrip(".")
    name = re.sub(r"\.{2,}", ".", name)
    return name[-120:] or "upload"


def stored_name(sha256: str, filename: str) -> str:
    """``<sha256 prefix>-<safe basename>``: unique per content, no path from the client."""
    return f"{sha256[:16]}-{safe_basename(filename)}"


#: Longest call id made from a file name.
MAX_CALL_ID = 120


def safe_call_id(name: str) -> str:
    """A call id from a client's file name (without its extension): NFKC-normalised; control,
    format and bidi characters (U+202E and friends, which spoof how a name reads) removed;
    anything but letters, digits (any script: ``退款-0042`` stays) and ``-_.`` replaced by
    ``_``; at most :data:`MAX_CALL_ID` characters; ``call`` when nothing is left.
    ``<script>alert(1)</script>`` becomes ``script_alert_1_script``."""
    name = unicodedata.normalize("NFKC", name or "")
    name = "".join(c for c in name if unicodedata.category(c)[0] not in ("C", "Z") or c == " ")
    name = re.sub(r"[^\w.\-]+", "_", name).strip("._-")
    return name[:MAX_CALL_ID].rstrip("._-") or "call"


def unique_id(base: str, used: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``, ... : the first not in ``used`` (which it joins)."""
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}-{n}"
    used.add(candidate)
    return candidate


def clean_id(value: str) -> str:
    """An id a client typed (a table's id column): NFKC-normalised, control, format and bidi
    characters removed, outer spaces stripped; otherwise kept as given, so results join back to
    the client's own records."""
    value = unicodedata.normalize("NFKC", value or "")
    return "".join(c for c in value if unicodedata.category(c)[0] != "C").strip()


#: The recordings CallScope reads.
AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".wav", ".m4a", ".flac", ".ogg", ".opus", ".aac", ".wma", ".webm", ".mp4", ".amr"}
)
#: Transcripts: ``Speaker: text`` lines or a JSON list of turns.
TRANSCRIPT_EXTENSIONS = frozenset({".txt", ".json"})
#: Every file a call may come in.
SUPPORTED = AUDIO_EXTENSIONS | TRANSCRIPT_EXTENSIONS
