"""Names that come from users made safe: a client's file name as a stored file name."""

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
