"""``/api/calls``: upload recordings or transcripts, list, read and delete calls.

The routes share the Runtime's ledger (its connection is thread-safe behind a lock: FastAPI runs
sync routes on any threadpool thread).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from datetime import date as Date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from pydantic import BaseModel

from app.deps import RuntimeDep, SettingsDep
from app.runtime import Runtime
from app.uploads import TooLarge, accepted_types, copy_limited, is_accepted, stored_name
from ingest.audio import file_sha256
from ingest.ledger import STATES, Ledger, LedgerRow
from ingest.sources import discover, labels_from

router = APIRouter(prefix="/api", tags=["calls"])


class FileResult(BaseModel):
    filename: str
    call_id: str
    status: str
    chunks: int = 0
    error: str | None = None


class UploadResponse(BaseModel):
    results: list[FileResult]


class CallSummary(BaseModel):
    call_id: str
    state: str
    labels: list[str]
    kind: str
    origin: str
    duration: float | None
    language: str | None
    n_chunks: int
    updated_at: float


class CallList(BaseModel):
    total: int
    calls: list[CallSummary]


class TurnOut(BaseModel):
    speaker: str
    text: str
    start: float | None
    end: float | None


class CallDetail(CallSummary):
    error: str | None
    warnings: list[str]
    turns: list[TurnOut]
    label_history: list[dict[str, Any]]


class Deleted(BaseModel):
    deleted: str
    points: int


def _error(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, detail={"code": code, "message": message})


def _summary(row: LedgerRow) -> dict[str, Any]:
    return {
        "call_id": row.call_id,
        "state": row.state,
        "labels": row.labels,
        "kind": row.kind,
        # Only the file name: the full origin is a server path.
        "origin": Path(row.origin).name,
        "duration": row.duration,
        "language": row.language,
        "n_chunks": row.n_chunks,
        "updated_at": row.updated_at,
    }


def _uploads_dir(runtime: Runtime) -> Path:
    return runtime.settings.paths.state_dir / "uploads"


@router.post("/calls")
def upload_calls(
    files: Annotated[list[UploadFile], File(description="Recordings or .txt/.json transcripts.")],
    runtime: RuntimeDep,
    settings: SettingsDep,
    labels: Annotated[
        str | None, Form(description="Comma-separated labels for every file.")
    ] = None,
    date: Annotated[Date | None, Form(description="Call date for every file.")] = None,
) -> UploadResponse:
    """Upload and index calls; per-file statuses, a failed file does not stop the others."""
    limit = int(settings.api.max_upload_mb * 2**20)
    state_dir = runtime.settings.paths.state_dir
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=state_dir))
    try:
        staged = _stage(files, staging, limit, settings.api.max_upload_mb)
        uploads = _uploads_dir(runtime)
        uploads.mkdir(parents=True, exist_ok=True)
        stored: list[tuple[str, Path]] = []
        for name, tmp, sha in staged:
            target = uploads / stored_name(sha, name)
            os.replace(tmp, target)
            stored.append((name, target))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return UploadResponse(results=_ingest(runtime, stored, labels, date))


def _stage(
    files: list[UploadFile], staging: Path, limit: int, limit_mb: float
) -> list[tuple[str, Path, str]]:
    """Check and copy every file before anything is stored: (client name, temp path, sha256)."""
    for upload in files:
        if not is_accepted(upload.filename or "", upload.content_type):
            raise _error(
                415,
                "unsupported_media_type",
                f"{upload.filename!r} ({upload.content_type or 'no content type'}) is not "
                f"accepted; send one of: {', '.join(accepted_types())}",
            )
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
    return staged


def _ingest(
    runtime: Runtime, stored: list[tuple[str, Path]], labels: str | None, date: Date | None
) -> list[FileResult]:
    names = {path: name for name, path in stored}
    sources, errors = discover([path for _, path in stored])
    results = [
        FileResult(
            filename=names[Path(origin)],
            call_id=Path(names[Path(origin)]).stem,
            status="failed",
            error=message.replace(origin, names[Path(origin)]),
        )
        for origin, message in errors
    ]
    for origin, _ in errors:  # never in the ledger: nothing else refers to the file
        Path(origin).unlink(missing_ok=True)

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
            changes["labels"] = labels_from(labels, sep=",")
        if date is not None:
            changes["date"] = date.isoformat()
        sources[i] = replace(source, **changes)
        used.add(sources[i].call_id)

    by_call = {s.call_id: s for s in sources}
    ledger = runtime.ledger
    previous = {s.call_id: ledger.get(s.call_id) for s in sources}
    for r in runtime.pipeline().run(sources):
        source = by_call[r.call_id]
        assert source.path is not None
        name = names[source.path]
        error = r.error.replace(str(source.path), name) if r.error else None
        results.append(
            FileResult(
                filename=name, call_id=r.call_id, status=r.status, chunks=r.chunks, error=error
            )
        )
        old = previous.get(r.call_id)
        if r.status == "indexed" and old is not None and Path(old.origin) != source.path:
            _remove_upload(runtime, Path(old.origin))  # a re-upload replaced it
    return results


@router.get("/calls")
def list_calls(
    runtime: RuntimeDep,
    label: str | None = None,
    state: Annotated[str | None, Query(pattern="^(" + "|".join(STATES) + ")$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CallList:
    """List calls from the ledger, newest first, filtered by label and state."""
    ledger = runtime.ledger
    rows = [r for r in ledger.rows(state) if label is None or label in r.labels]
    rows.sort(key=lambda r: r.updated_at, reverse=True)
    page = rows[offset : offset + limit]
    return CallList(total=len(rows), calls=[CallSummary(**_summary(r)) for r in page])


@router.get("/calls/{call_id}")
def get_call(call_id: str, runtime: RuntimeDep) -> CallDetail:
    """One call: its transcript turns, labels and label history, state and error."""
    import json

    ledger = runtime.ledger
    row = ledger.get(call_id)
    if row is None:
        raise _error(404, "not_found", f"no call {call_id!r}")
    history = ledger.history(call_id)
    turns = json.loads(row.transcript)["turns"] if row.transcript else []
    return CallDetail(
        **_summary(row),
        error=row.error,
        warnings=row.warnings,
        turns=[TurnOut(**{k: t.get(k) for k in TurnOut.model_fields}) for t in turns],
        label_history=history,
    )


@router.delete("/calls/{call_id}")
def delete_call(call_id: str, runtime: RuntimeDep) -> Deleted:
    """Delete a call: its points, ledger row, uploaded file and unshared transcript cache."""
    ledger = runtime.ledger
    row = ledger.get(call_id)
    if row is None:
        raise _error(404, "not_found", f"no call {call_id!r}")
    points = 0
    for store in (runtime.store, runtime.calls):
        n = store.count({"call_id": call_id})
        if n:
            store.delete({"call_id": call_id})
        points += n
    origin = Path(row.origin)
    if row.kind == "audio" and origin.is_file():
        _drop_cached_transcript(runtime, ledger, call_id, origin)
    ledger.delete(call_id)
    _remove_upload(runtime, origin)
    return Deleted(deleted=call_id, points=points)


def _remove_upload(runtime: Runtime, path: Path) -> None:
    """Delete ``path`` only when it is one of our uploads (never a file ingested by the CLI)."""
    uploads = _uploads_dir(runtime).resolve()
    resolved = path.resolve()
    if resolved.parent == uploads and resolved.is_file():
        resolved.unlink()


def _drop_cached_transcript(runtime: Runtime, ledger: Ledger, call_id: str, audio: Path) -> None:
    """Remove the cached transcript of ``audio`` unless another call has the same audio bytes.

    The cache is keyed by audio hash + the current whisper options, so only the entry for the
    current options is found; entries made under other options stay (they are only a cache).
    A recording no longer on disk cannot be hashed, so its cache entry stays too."""
    audio_hash = file_sha256(audio)
    size = audio.stat().st_size
    for other in ledger.rows():
        path = Path(other.origin)
        if (
            other.call_id != call_id
            and other.kind == "audio"
            and path.is_file()
            and path.stat().st_size == size
            and file_sha256(path) == audio_hash
        ):
            return
    transcriber = runtime.transcriber()
    (transcriber.cache_dir / f"{transcriber.cache_key(audio_hash)}.json").unlink(missing_ok=True)
