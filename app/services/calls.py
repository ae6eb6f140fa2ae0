"""Calls, the use case: bring calls in (files and folders, uploads, labeled tables) and delete
them (their labels: ``app.services.labels``). The CLI, the API routes, the jobs and the UI call
these functions.

Uploads live under the state dir (``uploads/`` for calls, ``imports/<id>/`` for a table and the
recordings it names); only those are ever deleted by us, never a file the CLI ingested from
where it lies.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.core.digest import file_sha256
from app.core.errors import InputError
from app.core.hotwords import parse_hotwords
from app.core.models import CallSource, Columns, IngestResult
from app.core.names import safe_basename, safe_call_id, stored_name, unique_id
from app.runtime import Runtime
from app.services.inspection import recheck_calls
from ingest.labels import load_labeled
from ingest.ledger import Ledger
from ingest.roles import agent_speaker_choice
from ingest.sources import discover

#: ``progress(done, total, message)``, as background jobs report it.
Progress = Callable[[int, "int | None", str], None]


def discover_inputs(
    paths: Iterable[Path], labels: list[str] | None = None
) -> tuple[list[CallSource], list[tuple[str, str]]]:
    """The recordings and transcripts under ``paths`` (files or folders), each with ``labels``
    added; unusable inputs as (origin, message)."""
    sources, errors = discover(paths)
    for source in sources:
        if labels:
            source.labels = list(dict.fromkeys([*source.labels, *labels]))
        if source.date is None and source.path is not None:
            # A recording's file time is when it was recorded, as near as anything says: a
            # call without a date is left out of every weekly count (Insights).
            source.date, source.date_source = file_time(source.path), "file"
    return sources, errors


def set_hotwords(sources: list[CallSource], given: str | Sequence[str] | None) -> None:
    """The import's hot words (``app.core.hotwords``) on each of its recordings, after the
    deployment's; raises ``InputError`` for a list whisper cannot take."""
    words = parse_hotwords(given)
    for source in sources:
        if source.kind == "audio" and words:
            source.hotwords = tuple(dict.fromkeys((*source.hotwords, *words)))


def set_agent_speaker(sources: list[CallSource], choice: str | None) -> None:
    """Who the agent is (``ingest.roles``: first, second, swap) for the sources that do not
    say it themselves (a manifest's ``agent_speaker`` column)."""
    picked = agent_speaker_choice(choice)
    for source in sources:
        source.agent_speaker = source.agent_speaker or picked


def ingest_sources(
    runtime: Runtime,
    sources: list[CallSource],
    *,
    on_result: Callable[[IngestResult], None] | None = None,
    on_start: Callable[[CallSource], None] | None = None,
    by: str = "cli",
) -> list[IngestResult]:
    """Transcribe, cut into turns, embed and index calls (resumable: indexed calls come back
    ``unchanged``); one result per source, a bad one ``failed`` while the rest go on.

    A source named like a stored call replaces its content but never silently drops what the
    call had: labels, date, split and metadata it does not give are kept from the stored call,
    and the replacement is recorded in the call's label history (``content replaced (<by>)``)."""
    if not sources:
        return []
    sources, before = _keep_what_calls_had(runtime, sources)
    results = runtime.pipeline().run(sources, on_result=on_result, on_start=on_start)
    for result in results:
        old = before.get(result.call_id)
        if old is not None and result.status == "indexed":
            row = runtime.ledger.get(result.call_id)
            new = row.labels if row else []
            runtime.ledger.add_history(result.call_id, old, new, f"content replaced ({by})")
    recheck_calls(runtime, [r.call_id for r in results if r.status == "indexed"])
    return results


def _keep_what_calls_had(
    runtime: Runtime, sources: list[CallSource]
) -> tuple[list[CallSource], dict[str, list[str]]]:
    """Sources with the stored calls' labels, date, split and metadata filled in where they
    give none, and {call id: labels before} of the calls that already existed."""
    before: dict[str, list[str]] = {}
    out = []
    fields = runtime.settings.ingest.metadata_fields
    for source in sources:
        row = runtime.ledger.get(source.call_id)
        if row is None or row.state != "indexed":
            out.append(source)
            continue
        before[source.call_id] = list(row.labels)
        payload: dict[str, Any] = {}
        for point in runtime.calls.scroll({"call_id": source.call_id}, limit=1):
            payload = point.payload
        changes: dict[str, Any] = {}
        if not source.labels and row.labels:
            changes["labels"] = list(row.labels)
        # The stored date beats an upload time (a re-upload is not a new call).
        if (source.date is None or source.date_source in ("upload", "file")) and payload.get(
            "date"
        ):
            changes["date"] = str(payload["date"])
            changes["date_source"] = payload.get("date_source") or "call"
        if source.split is None and payload.get("split"):
            changes["split"] = payload["split"]
        kept = {f: payload[f] for f in fields if f in payload and f not in source.metadata}
        if kept:
            changes["metadata"] = {**kept, **source.metadata}
        out.append(replace(source, **changes) if changes else source)
    return out, before


def read_labeled(
    settings: Settings, path: Path, columns: Columns = Columns()
) -> tuple[list[CallSource], list[tuple[str, str]]]:
    """The labeled calls of a CSV/XLSX/JSONL table (``import-labels``), with the metadata
    columns declared in ``ingest.metadata_fields`` kept."""
    return load_labeled(path, replace(columns, metadata=tuple(settings.ingest.metadata_fields)))


def read_manifest(
    settings: Settings, path: Path, columns: Columns = Columns()
) -> tuple[list[CallSource], list[tuple[str, str]]]:
    """The calls a batch manifest (CSV/XLSX/JSONL) lists: an ``audio`` path (relative to the
    manifest) or transcript text per row, with id, date and metadata columns when present;
    labels are optional."""
    return load_labeled(
        path,
        replace(columns, metadata=tuple(settings.ingest.metadata_fields)),
        need_labels=False,
    )


def uploads_dir(runtime: Runtime) -> Path:
    return runtime.settings.paths.state_dir / "uploads"


def store_files(runtime: Runtime, paths: list[Path]) -> list[tuple[str, Path]]:
    """Copy local files (a UI's uploads) under ``uploads/`` as ``<hash>-<safe name>``, like the
    API's uploads; returns (file name, stored path) for a job to work on."""
    target = uploads_dir(runtime)
    target.mkdir(parents=True, exist_ok=True)
    stored = []
    for path in paths:
        dest = target / stored_name(file_sha256(path), path.name)
        if not dest.exists():
            shutil.copyfile(path, dest)
        stored.append((path.name, dest))
    return stored


def upload_sources(
    stored: list[tuple[str, Path]],
    labels: list[str] | None = None,
    date: str | None = None,
    hotwords: Sequence[str] = (),
) -> tuple[list[CallSource], list[tuple[str, str]]]:
    """Call sources for uploads stored under ``uploads/`` (client name, path), named after the
    client's file, and (stored path, message) for every unusable one.

    Every call gets a date, so Insights count it: ``date`` when the upload gives one, else the
    transcript's own (``date_source`` ``call``), else the time it was uploaded (``upload``)."""
    names = {path: name for name, path in stored}
    sources, errors = discover([path for _, path in stored])
    used: set[str] = set()
    for i, source in enumerate(sources):
        assert source.path is not None
        changes: dict[str, Any] = {}
        # discover() names calls after the stored file; use the client's name (without our
        # hash prefix, made safe) like `callscope ingest` does, unless a transcript carries its
        # own id. Two files of one upload with the same name: `name`, `name-2`, ...
        if source.call_id == safe_call_id(source.path.stem):
            changes["call_id"] = unique_id(safe_call_id(_stem(names[source.path])), used)
        if labels is not None:
            changes["labels"] = list(labels)
        if date is not None:
            changes["date"], changes["date_source"] = date, "call"
        elif source.date is None:
            changes["date"], changes["date_source"] = file_time(source.path), "upload"
        sources[i] = replace(source, **changes)
        used.add(sources[i].call_id)
    set_hotwords(sources, hotwords)
    return sources, errors


def file_time(path: Path) -> str:
    """A file's modification time, local time to the second. For a stored upload, when it was
    uploaded: its copy under ``uploads/`` was written then (and a resumed job reads the same
    time again)."""
    return datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0).isoformat()


def ingest_stored(
    runtime: Runtime,
    stored: list[tuple[str, Path]],
    labels: list[str] | None = None,
    date: str | None = None,
    on_result: Callable[[IngestResult], None] | None = None,
    by: str = "upload",
    hotwords: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Index uploads already stored under ``uploads/``: ``stored`` = (client name, path).

    Returns one ``{filename, call_id, status, chunks, error}`` per file, errors naming the
    client's file name, never our server path. Safe to run again on the same files (an
    interrupted job): indexed calls come back ``unchanged``."""
    sources, errors = upload_sources(stored, labels, date, hotwords)
    names = {path: name for name, path in stored}
    results = [
        {
            "filename": names[Path(origin)],
            "call_id": safe_call_id(_stem(names[Path(origin)])),
            "status": "failed",
            "turn_points": 0,
            "error": message.replace(origin, names[Path(origin)]),
        }
        for origin, message in errors
    ]
    for origin, _ in errors:  # never in the ledger: nothing else refers to the file
        remove_upload(runtime, Path(origin))

    by_call = {s.call_id: s for s in sources}
    ledger = runtime.ledger
    previous = {s.call_id: ledger.get(s.call_id) for s in sources}
    for r in ingest_sources(runtime, sources, on_result=on_result, by=by):
        source = by_call[r.call_id]
        assert source.path is not None
        name = names[source.path]
        error = r.error.replace(str(source.path), name) if r.error else None
        results.append(
            {
                "filename": name,
                "call_id": r.call_id,
                "status": r.status,
                "turn_points": r.turn_points,
                "error": error,
            }
        )
        old = previous.get(r.call_id)
        if r.status == "indexed" and old is not None and Path(old.origin) != source.path:
            remove_upload(runtime, Path(old.origin))  # a re-upload replaced it
    return results


def _stem(client_name: str) -> str:
    """A client's file name without folders (``/`` or ``\\``, as the stored copy's name) and
    without its extension."""
    return re.sub(r"\.[A-Za-z0-9]{1,5}$", "", re.split(r"[\\/]", client_name)[-1])


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


def import_table(
    runtime: Runtime, params: dict[str, Any], progress: Progress | None = None
) -> dict[str, Any]:
    """Import the labeled table ``params["table"]`` (columns in ``params["columns"]``); audio
    paths resolve only to recordings uploaded beside it."""
    table = Path(params["table"])
    folder = table.parent.resolve()
    client_name = params.get("table_name") or table.name

    def ours_hidden(message: str) -> str:  # the client's names, never our server paths
        return message.replace(str(table), client_name).replace(f"{folder}/", "")

    try:
        sources, errors = read_labeled(
            runtime.settings, table, Columns(**params.get("columns", {}))
        )
    except InputError as exc:
        raise InputError(ours_hidden(str(exc))) from None
    usable = []
    for source in sources:
        if source.path is not None:
            # The table may name "audio/x.mp3", "/data/x.mp3" or a Windows path: the upload
            # kept only the file's safe name (the same function made it).
            source.path = folder / safe_basename(str(source.path))
            if not source.path.is_file():
                errors.append((source.origin, f"recording {source.path.name!r} was not uploaded"))
                continue
        usable.append(source)
    report = progress or (lambda done, total, message: None)
    report(0, len(usable), f"importing {len(usable)} rows")
    counts: Counter[str] = Counter()
    failures = []
    for r in ingest_sources(
        runtime, usable, on_result=ingest_counter(report, len(usable), "imported"), by="import"
    ):
        counts[r.status] += 1
        if r.error:
            failure = {"call_id": r.call_id, "origin": r.origin, "error": ours_hidden(r.error)}
            failures.append(failure)
    return {
        "rows": len(usable) + len(errors),
        "counts": dict(counts),
        "rejected": [{"origin": o, "error": m} for o, m in errors],
        "failed": failures,
    }


def ingest_counter(progress: Progress, total: int, verb: str) -> Any:
    counts: Counter[str] = Counter()

    def on_result(result: IngestResult) -> None:
        counts[result.status] += 1
        done = sum(counts.values())
        progress(done, total, f"{verb} {done}/{total} ({counts_text(counts)})")

    return on_result


def counts_text(counts: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def discard_unreferenced(runtime: Runtime, paths: list[Path]) -> None:
    """Delete uploaded inputs that no call in the ledger refers to (a cancelled ingest's files
    not yet indexed, an import's table): only recordings of stored calls are kept."""
    referenced = set()
    for row in runtime.ledger.rows():
        referenced.add(row.origin)
        if row.audio:
            referenced.add(row.audio)
    for path in paths:
        if str(path) not in referenced and str(path.resolve()) not in referenced:
            remove_upload(runtime, path)


def discard_import_inputs(runtime: Runtime, params: dict[str, Any]) -> None:
    """An import's table and any uploaded recording no imported call refers to."""
    table = Path(params["table"])
    folder = table.parent
    if folder.is_dir():
        discard_unreferenced(runtime, [table, *(p for p in folder.iterdir() if p != table)])
        if not any(folder.iterdir()):
            folder.rmdir()


def delete_call(runtime: Runtime, call_id: str) -> int | None:
    """Delete a call: its points (chunk and call level), ledger row, uploaded recording or
    transcript, and its cached transcript unless another call has the same audio. Returns the
    number of points removed; None when there is no such call."""
    ledger = runtime.ledger
    row = ledger.get(call_id)
    if row is None:
        return None
    points = 0
    for store in (runtime.turns, runtime.calls):
        n = store.count({"call_id": call_id})
        if n:
            store.delete({"call_id": call_id})
        points += n
    recording = row.recording
    if recording is not None:
        _drop_cached_transcript(runtime, ledger, call_id, recording)
    ledger.delete(call_id)
    runtime.rule_book.forget_call(call_id)
    # The uploaded recording or transcript file (only ever a file a client sent us), unless
    # another call was made from the same stored copy (identical files share one).
    upload = (recording or Path(row.origin)).resolve()
    if not any(
        (other.recording or Path(other.origin)).resolve() == upload for other in ledger.rows()
    ):
        remove_upload(runtime, upload)
    return points


def _drop_cached_transcript(runtime: Runtime, ledger: Ledger, call_id: str, audio: Path) -> None:
    """Remove the cached transcript of ``audio`` unless another call has the same audio bytes.

    The cache is keyed by audio hash + the current whisper options, so only the entry for the
    current options is found; entries made under other options stay (they are only a cache).
    A recording no longer on disk cannot be hashed, so its cache entry stays too."""
    audio_hash = file_sha256(audio)
    size = audio.stat().st_size
    for other in ledger.rows():
        path = other.recording
        if (
            other.call_id != call_id
            and path is not None
            and path.stat().st_size == size
            and file_sha256(path) == audio_hash
        ):
            return
    runtime.forget_transcript(audio_hash)
