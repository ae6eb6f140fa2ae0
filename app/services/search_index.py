"""Building the engine's search index after a large import (``VectorStore.build_index``).

Qdrant Edge, the in-process engine, builds its HNSW index only when asked; without it a question
is compared with every stored turn vector (three dense lists per question: ~50 ms at 100k turns
instead of ~15 ms). The command-line imports (``ingest``, ``batch``, ``reindex``) build it when
they finish: they own the store, and the build holds the process for a while (about a minute
per 100k new turns on 2 cores). A Qdrant server builds its own indexes.
"""

from __future__ import annotations

import time

from app.runtime import Runtime


def build_search_index(runtime: Runtime) -> float | None:
    """Build the index of both collections; the seconds it took, or None when there was
    nothing to build (a small store stays exact, below the engine's indexing threshold)."""
    started = time.perf_counter()
    built = [runtime.turns.build_index(), runtime.calls.build_index()]
    return time.perf_counter() - started if any(built) else None
