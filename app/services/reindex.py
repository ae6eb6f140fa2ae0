"""``callscope reindex``: rebuild the collections of a state dir in this version's index schema.

A store built by an older CallScope (chunk points, index schema 1) refuses to open and says to
run this. Re-indexing reads what the ledger kept of every call (its transcript, labels, kind and
origin) and what the old call-level points held (date, split, metadata), drops the old
collections and indexes every call again through the production pipeline: recordings are never
transcribed again (their transcripts are in the ledger), only embedded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import CollectionMismatchError, StoreBusyError, StoreError
from app.core.models import CallSource, IngestResult
from app.runtime import Runtime
from retrieval.index.factory import open_store, set_aside

#: Payload of the old call points worth carrying over (the ledger does not hold them).
_CARRIED = ("date", "date_source", "split")


@dataclass
class ReindexReport:
    calls: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    #: Calls the ledger lists without a transcript (failed before one was made): not indexed.
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    #: The index schema the collections had before (None = there were none).
    old_schema: int | None = None
    #: The embedder the collections were built with before, when it was another one.
    old_model: str | None = None
    #: Damaged embedded collections renamed aside (``<name>.damaged-<time>``).
    set_aside: list[str] = field(default_factory=list)


def reindex(
    runtime: Runtime, on_result: Callable[[IngestResult], None] | None = None
) -> ReindexReport:
    """Drop and rebuild the turn and call collections of ``runtime`` from its ledger."""
    settings = runtime.settings
    report = ReindexReport()
    carried: dict[str, dict[str, Any]] = {}
    runtime.adopt_legacy_names()
    for name in (settings.qdrant.turns_collection, settings.qdrant.calls_collection):
        try:
            old = open_store(
                settings, runtime.embedder, runtime.sparse, collection=name, as_built=True
            )
        except StoreBusyError:
            raise  # open in another process: nothing here may touch it
        except CollectionMismatchError:
            continue  # another model's collection: opening it below says so
        except StoreError:
            # Unreadable (damaged files): kept aside, rebuilt from the ledger below.
            report.set_aside += set_aside(settings, name)
            continue
        report.old_schema = old.info.schema
        if old.info.model_id != runtime.embedder.model_id:
            report.old_model = old.info.model_id
        if name == settings.qdrant.calls_collection:
            for point in old.scroll():
                payload = point.payload
                carried[payload["call_id"]] = payload
        old.drop()  # type: ignore[attr-defined] - both backends have it
    sources = []
    fields = tuple(settings.ingest.metadata_fields)
    for row in runtime.ledger.rows():
        if row.transcript is None:
            report.skipped.append(row.call_id)
            continue
        old_payload = carried.get(row.call_id, {})
        sources.append(
            CallSource(
                call_id=row.call_id,
                kind=row.kind,  # type: ignore[arg-type]
                origin=row.origin,
                path=Path(row.audio or row.origin) if row.kind == "audio" else None,
                transcript=row.transcript,
                labels=row.labels,
                **{k: old_payload.get(k) for k in _CARRIED},
                metadata={k: old_payload[k] for k in fields if k in old_payload},
                extra={"content_hash": row.content_hash},
            )
        )
        # Not "indexed" any more: the pipeline must not skip it as unchanged.
        runtime.ledger.upsert(row.call_id, state="pending")
    report.calls = len(sources)
    results = runtime.pipeline().run(sources, on_result=on_result)
    report.counts = dict(Counter(r.status for r in results))
    report.failed = [(r.call_id, r.error or "") for r in results if r.status == "failed"]
    return report
