"""What is there: ledger states, the store and its collections, the models, the LLM, failures.
``callscope status`` and the UI's Status tab show it; ``/ready`` asks :func:`readiness`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from app.core.errors import CallScopeError
from app.runtime import Runtime
from app.services.llm_trust import trust_line, trust_state


@dataclass(frozen=True)
class CollectionStatus:
    name: str
    #: Turn points (the turn index).
    points: int
    calls: int
    model_id: str
    dim: int


@dataclass(frozen=True)
class Failure:
    call_id: str
    origin: str
    error: str | None


@dataclass
class Status:
    ledger: dict[str, int]
    #: "Qdrant server <url>" or "Qdrant Edge (embedded) at <dir>".
    store: str
    state_dir: str
    speech_model: str
    speech_device: str
    embedding_model: str
    #: "<model> at <url>", or None when no LLM is configured.
    llm: str | None
    #: None when nothing was ever ingested (status never opens an empty store) or it failed.
    collection: CollectionStatus | None = None
    #: Why the store could not be read, when it could not.
    store_error: str | None = None
    failures: list[Failure] = field(default_factory=list)
    #: Where the LLM may decide classifications, as last measured (None: not measured).
    llm_trust: str | None = None


def status(runtime: Runtime, *, failures: int = 10, open_store: bool | None = None) -> Status:
    """The status of this runtime's state dir and store. The store is opened only when the
    ledger has calls (``open_store`` forces either way)."""
    s = runtime.settings
    counts = runtime.ledger.counts()
    report = Status(
        ledger=counts,
        store=(
            f"Qdrant server {s.qdrant.url}"
            if s.qdrant.url
            else f"Qdrant Edge (embedded) at {s.paths.shards}"
        ),
        state_dir=str(s.paths.state_dir.resolve()),
        speech_model=s.whisper.model,
        speech_device=f"{s.whisper.device}, {s.whisper.compute_type}",
        embedding_model=s.embedding.model,
        llm=f"{s.llm.model} at {s.llm.base_url}" if s.llm.enabled else None,
        failures=[
            Failure(r.call_id, r.origin, r.error)
            for r in list(runtime.ledger.rows("failed"))[:failures]
        ],
    )
    if s.llm.enabled and s.llm.trust == "measure":
        report.llm_trust = trust_line(trust_state(runtime))
    elif s.llm.enabled:
        report.llm_trust = f"llm.trust is {s.llm.trust}: not measured"
    if open_store is None:
        open_store = any(counts.values())
    if open_store:
        try:
            info = runtime.turns.info
            report.collection = CollectionStatus(
                info.name, runtime.turns.count(), runtime.calls.count(), info.model_id, info.dim
            )
        except CallScopeError as exc:
            report.store_error = str(exc)
    return report


# Runtime's cached properties are built under its lock, but two first requests must still not
# load the model and open the store side by side (each would wait on the other's work).
_warm_lock = threading.Lock()


def warm_up(runtime: Runtime) -> None:
    """Load the embedding model and open both collections (raises CallScopeError if not)."""
    with _warm_lock:
        runtime.embedder.embed(["warm-up"], query=True)
        runtime.turns  # noqa: B018 - opening is the point
        runtime.calls  # noqa: B018


@dataclass(frozen=True)
class Readiness:
    """The service can answer: the model it embeds with, its index and how many calls."""

    embedding_model: str
    index: str
    calls: int


def readiness(runtime: Runtime) -> Readiness:
    """Whether the embedder loads, the store opens and the ledger is sound; a CallScopeError
    says why not."""
    warm_up(runtime)
    calls = runtime.calls.count()
    runtime.ledger  # noqa: B018 - opening checks it: a damaged ledger is not ready
    return Readiness(runtime.embedder.model_id, runtime.settings.qdrant.index, calls)
