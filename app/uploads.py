"""Uploaded files: accepted types, safe storage names and size-limited copies to disk."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from typing import BinaryIO

from ingest.sources import SUPPORTED

#: Content types a browser or client may send with an accepted extension; the extension decides,
#: this only refuses files that say they are something else (an executable renamed to .wav).
_OK_TYPES = ("audio/", "video/", "text/", "application/json", "application/octet-stream")
_CHUNK = 1 << 20


class TooLarge(Exception):
    """The upload passed the size limit (copying stopped there)."""


def accepted_types() -> list[str]:
    return sorted(SUPPORTED)


def is_accepted(filename: str, content_type: str | None) -> bool:
    suffix = Path(safe_basename(filename)).suffix.lower()
    ctype = (content_type or "").split(";")[0].strip().lower()
    return suffix in SUPPORTED and (not ctype or ctype.startswith(_OK_TYPES))


def safe_basename(filename: str) -> str:
    """The last path component of a client file name, without control characters, leading
    dots or anything but letters, digits, ``-_.``; never empty."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = re.sub(r"[^\w.\-]+", "_", name).lstrip(".")
    name = re.sub(r"\.{2,}", ".", name)
    return name[-120:] or "upload"


def copy_limited(src: BinaryIO, dest: Path, limit_bytes: int) -> str:
    """Copy ``src`` to ``dest`` in chunks, stopping as soon as ``limit_bytes`` is passed
    (:class:`TooLarge`); returns the sha256 of the content."""
    digest, size = hashlib.sha256(), 0
    with dest.open("wb") as out:
        while block := src.read(_CHUNK):
            size += len(block)
            if size > limit_bytes:
                raise TooLarge
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def stored_name(sha256: str, filename: str) -> str:
    """``<sha256 prefix>-<safe basename>``: unique per content, no path from the client."""
    return f"{sha256[:16]}-{safe_basename(filename)}"
