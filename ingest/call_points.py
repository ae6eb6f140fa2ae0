"""What a prepared call becomes in the index: a point per turn unit in the turn collection and
one point in the call collection, every vector computed once (the call point's dense vector is
built from its turns' vectors, never embedded again)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.models import CallSource, Transcript
from app.core.text import call_text, has_cjk
from ingest.metrics import conversation_metrics
from ingest.roles import speaker_source
from ingest.turns import (
    CALL_TEXT_CHARS,
    TurnUnit,
    call_vector,
    context_vectors,
    opening_line,
    previous_vectors,
)
from retrieval.index.embedding import Embedder
from retrieval.index.sparse import Bm25Encoder
from retrieval.index.store import (
    DENSE_CONTEXT,
    DENSE_PREVIOUS,
    SPARSE_CONTEXT,
    SPARSE_OPENING,
    SPARSE_PREVIOUS,
    StoredPoint,
    point_id,
)
from retrieval.index.turn_points import turn_payload, turn_point_id


@dataclass
class PreparedCall:
    """A call transcribed and cut into turn units, ready to be embedded and stored."""

    source: CallSource
    content_hash: str
    transcript: Transcript
    units: list[TurnUnit]
    had_row: bool
    warnings: list[str]
    #: The call's date as ISO (read from any usual form), or None when it had none or was
    #: unreadable (then a warning says so and the call is indexed without it).
    date: str | None = None


def call_points(
    batch: list[PreparedCall],
    embedder: Embedder,
    sparse: Bm25Encoder,
    speakers: tuple[str, str],
) -> tuple[list[StoredPoint], list[StoredPoint]]:
    """The turn points and the call points of ``batch``, its turns embedded in one pass."""
    units = [u for r in batch for u in r.units]
    dense = embedder.embed([u.line for u in units])
    words = sparse.encode_documents([u.line for u in units])
    previous = sparse.encode_documents([u.previous for u in units])
    around = sparse.encode_documents([u.around for u in units])
    texts = [call_text(r.transcript)[:CALL_TEXT_CHARS] for r in batch]
    call_words = sparse.encode_documents(texts)
    openings = sparse.encode_documents([opening_line(r.units) for r in batch])
    turns: list[StoredPoint] = []
    calls: list[StoredPoint] = []
    for ready, text, call_sparse, opening in zip(batch, texts, call_words, openings, strict=True):
        payload = call_payload(ready, speakers)
        first = len(turns)
        vectors = dense[first : first + len(ready.units)]
        pooled = context_vectors(ready.units, vectors)
        before = previous_vectors(ready.units, vectors)
        for j, unit in enumerate(ready.units):
            n = first + j
            turns.append(
                StoredPoint(
                    id=turn_point_id(ready.source.call_id, unit.turn, unit.part, unit.around),
                    dense=dense[n],
                    sparse=words[n],
                    payload={**payload, **_turn_payload(unit)},
                    more={
                        DENSE_CONTEXT: pooled[j],
                        DENSE_PREVIOUS: before[j],
                        SPARSE_PREVIOUS: previous[n],
                        SPARSE_CONTEXT: around[n],
                    },
                )
            )
        calls.append(
            StoredPoint(
                id=point_id(ready.source.call_id, 0, "call"),
                dense=call_vector(ready.units, vectors),
                sparse=call_sparse,
                payload={**payload, "text": text, "n_turns": len(ready.units)},
                more={SPARSE_OPENING: opening},
            )
        )
    return turns, calls


def call_payload(ready: PreparedCall, speakers: tuple[str, str]) -> dict[str, Any]:
    """The payload of a call's points: who, what, when, and how the conversation went
    (``metrics``, on the call point)."""
    source = ready.source
    payload: dict[str, Any] = {
        "call_id": source.call_id,
        "labels": source.labels,
        "source_kind": source.kind,
        "origin": source.origin,
        "language": ready.transcript.language or _guess_language(ready.transcript),
    }
    if source.split:
        payload["split"] = source.split
    # Declared metadata only; never over a field of ours.
    payload.update({k: v for k, v in source.metadata.items() if k not in payload})
    if ready.date:
        payload["date"] = ready.date
        # Said beside the date so a supervisor can tell a call's own date from an upload time.
        payload["date_source"] = source.date_source or "call"
    transcript = ready.transcript
    payload["speaker_source"] = speaker_source(transcript, source.kind)
    metrics = conversation_metrics(transcript, agent=speakers[0], customer=speakers[1])
    if metrics:
        payload["metrics"] = metrics
    return payload


def _turn_payload(unit: TurnUnit) -> dict[str, Any]:
    return turn_payload(
        turn=unit.turn,
        part=unit.part,
        session=unit.session,
        speaker=unit.speaker,
        words=unit.text,
        start=unit.start,
        end=unit.end,
        date=unit.date,
    )


def _guess_language(transcript: Transcript) -> str:
    return "zh" if any(has_cjk(t.text) for t in transcript.turns) else "en"
