"""Uploaded files over HTTP: accepted types (415), size-limited copies to disk (413), empty files
(422), stored under safe names; a refused request writes nothing. What happens to the stored
files is the services' business (``app.services.calls``, ``app.services.classify_uploads``)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, BinaryIO

from fastapi import Form, HTTPException, UploadFile

from app.core.names import SUPPORTED, safe_basename, stored_name
from app.core.text import labels_from

#: Content types a browser or client may send with an accepted extension; the extension decides,
#: this only refuses files that say they are something else (an executable renamed to .wav).
_OK_TYPES = ("audio/", "video/", "text/", "application/json", "application/octet-stream")
_CHUNK = 1 << 20


class TooLarge(Exception):
    """The upload passed the size limit (copying stopped there)."""


#: Labeled-data tables accepted by the import endpoint (beside recordings they refer to), and
#: the content types clients send for them (Windows browsers call a CSV ``vnd.ms-excel``).
TABLES = frozenset({".csv", ".xlsx", ".jsonl"})
TABLE_TYPES = (
    "text/",
    "application/vnd.",
    "application/json",
    "application/jsonl",
    "application/x-ndjson",
    "application/octet-stream",
)


#: The ``hotwords`` form field of an upload (``app.core.hotwords`` reads it).
HotwordsField = Annotated[
    str | None,
    Form(
        description="Domain terms the recordings are listened for (product, plan and place "
        "names), comma-separated; added to the deployment's whisper.hotwords."
    ),
]


def accepted_types(suffixes: set[str] | frozenset[str] = SUPPORTED) -> list[str]:
    return sorted(suffixes)


def is_accepted(
    filename: str,
    content_type: str | None,
    suffixes: set[str] | frozenset[str] = SUPPORTED,
    ok_types: tuple[str, ...] = _OK_TYPES,
) -> bool:
    suffix = Path(safe_basename(filename)).suffix.lower()
    ctype = (content_type or "").split(";")[0].strip().lower()
    return suffix in suffixes and (not ctype or ctype.startswith(ok_types))


def _error(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, detail={"code": code, "message": message})


def store_uploads(
    files: list[UploadFile],
    state_dir: Path,
    target: Path,
    limit_mb: float,
    suffixes: set[str] | frozenset[str] = SUPPORTED,
    *,
    ok_types: tuple[str, ...] = _OK_TYPES,
    keep_names: bool = False,
) -> list[tuple[str, Path]]:
    """Check every file (type 415, size 413, empty 422) and only then move them all into
    ``target`` as ``<hash>-<safe name>`` (or just the safe name with ``keep_names``, for files
    that refer to each other by name): a refused request writes nothing. Returns (client file
    name, stored path) in order."""
    for upload in files:
        if not is_accepted(upload.filename or "", upload.content_type, suffixes, ok_types):
            raise _error(
                415,
                "unsupported_media_type",
                f"{upload.filename!r} ({upload.content_type or 'no content type'}) is not "
                f"accepted; send one of: {', '.join(accepted_types(suffixes))}",
            )
    limit = int(limit_mb * 2**20)
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=state_dir))
    try:
        staged = []
        for i, upload in enumerate(files):
            name = upload.filename or "upload"
            tmp = staging / str(i)
            try:
                sha = copy_limited(upload.file, tmp, limit)
            except TooLarge:
                raise _error(
                    413,
                    "payload_too_large",
                    f"{name!r} is over the upload limit of {limit_mb:g} MB (api.max_upload_mb)",
                ) from None
            if tmp.stat().st_size == 0:
                raise _error(422, "empty_file", f"{name!r} is empty")
            staged.append((name, tmp, sha))
        if keep_names:
            names = [safe_basename(name) for name, _, _ in staged]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise _error(
                    422,
                    "duplicate_file_name",
                    f"two files would be stored as {twice[0]!r}: rename one of them",
                )
        target.mkdir(parents=True, exist_ok=True)
        stored = []
        for name, tmp, sha in staged:
            path = target / (safe_basename(name) if keep_names else stored_name(sha, name))
            os.replace(tmp, path)
            stored.append((name, path))
        return stored
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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


def parse_labels(value: str | None) -> list[str] | None:
    """A form field of comma-separated labels; None when not given."""
    return None if value is None else labels_from(value, sep=",")
