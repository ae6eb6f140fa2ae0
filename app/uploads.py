"""Uploaded files: accepted types, safe storage names, size-limited copies to disk, and indexing
stored uploads (the same path for a request that waits and for a background ingest job)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from fastapi import HTTPException, UploadFile

from ingest.sources import SUPPORTED, discover, labels_from

if TYPE_CHECKING:
    from app.runtime import Runtime
    from ingest.pipeline import IngestResult

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


def uploads_dir(runtime: Runtime) -> Path:
    return runtime.settings.paths.state_dir / "uploads"


def ingest_stored(
    runtime: Runtime,
    stored: list[tuple[str, Path]],
    labels: list[str] | None = None,
    date: str | None = None,
    on_result: Callable[[IngestResult], None] | None = None,
) -> list[dict[str, Any]]:
    """Index uploads already stored under ``uploads/``: ``stored`` = (client name, path).

    Returns one ``{filename, call_id, status, chunks, error}`` per file, errors naming the
    client's file name, never our server path. Safe to run again on the same files (an
    interrupted job): indexed calls come back ``unchanged``."""
    names = {path: name for name, path in stored}
    sources, errors = discover([path for _, path in stored])
    results = [
        {
            "filename": names[Path(origin)],
            "call_id": Path(names[Path(origin)]).stem,
            "status": "failed",
            "chunks": 0,
            "error": message.replace(origin, names[Path(origin)]),
        }
        for origin, message in errors
    ]
    for origin, _ in errors:  # never in the ledger: nothing else refers to the file
        remove_upload(runtime, Path(origin))

    used: set[str] = set()
    for i, source in enumerate(sources):
        assert source.path is not None
        changes: dict[str, Any] = {}
        # discover() names calls after the stored file; use the client's name (without our
        # hash prefix) like `callscope ingest` does, unless a transcript carries its own id.
        if source.call_id == source.path.stem:
            plain = Path(names[source.path]).stem
            if plain and plain not in used:
                changes["call_id"] = plain
        if labels is not None:
            changes["labels"] = list(labels)
        if date is not None:
            changes["date"] = date
        sources[i] = replace(source, **changes)
        used.add(sources[i].call_id)

    by_call = {s.call_id: s for s in sources}
    ledger = runtime.ledger
    previous = {s.call_id: ledger.get(s.call_id) for s in sources}
    for r in runtime.pipeline().run(sources, on_result=on_result):
        source = by_call[r.call_id]
        assert source.path is not None
        name = names[source.path]
        error = r.error.replace(str(source.path), name) if r.error else None
        results.append(
            {
                "filename": name,
                "call_id": r.call_id,
                "status": r.status,
                "chunks": r.chunks,
                "error": error,
            }
        )
        old = previous.get(r.call_id)
        if r.status == "indexed" and old is not None and Path(old.origin) != source.path:
            remove_upload(runtime, Path(old.origin))  # a re-upload replaced it
    return results


def parse_labels(value: str | None) -> list[str] | None:
    """A form field of comma-separated labels; None when not given."""
    return None if value is None else labels_from(value, sep=",")


def remove_upload(runtime: Runtime, path: Path) -> None:
    """Delete ``path`` only when a client uploaded it to us (``uploads/`` or an import's folder
    under ``imports/``), never a file the CLI ingested from where it lies."""
    state = runtime.settings.paths.state_dir.resolve()
    resolved = path.resolve()
    ours = resolved.parent == uploads_dir(runtime).resolve() or (
        resolved.parent.parent == state / "imports"
    )
    if ours and resolved.is_file():
        resolved.unlink()
