"""Dense text embeddings.

:class:`Embedder` is the one-method interface (``embed``) every backend implements; the real
default is :class:`FlagEmbedder` (FlagEmbedding), which loads the bundled all-MiniLM-L6-v2 offline
or any bge model by name or path. ``model_id`` and ``dim`` are recorded in each collection so a
collection is never filled with vectors from two different models.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.config import BUNDLED_EMBEDDING, EmbeddingSettings
from app.errors import ConfigError, EmbeddingError
from ingest import bundled

log = logging.getLogger(__name__)


class Embedder(ABC):
    """Maps texts to L2-normalized float32 vectors of ``dim`` dimensions."""

    model_id: str
    dim: int

    @abstractmethod
    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """Vectors of shape (len(texts), dim). ``query=True`` applies the model's query prefix."""


class FlagEmbedder(Embedder):
    """FlagEmbedding's FlagModel on the CPU (or wherever ``devices`` says)."""

    def __init__(self, settings: EmbeddingSettings, *, devices: str = "cpu") -> None:
        self.settings = settings
        if settings.model == BUNDLED_EMBEDDING:
            source = str(bundled.minilm_dir())
            self.model_id = "sentence-transformers/all-MiniLM-L6-v2"
            pooling = "mean"
        else:
            source = settings.model
            self.model_id = settings.model
            # bge models use the [CLS] vector; sentence-transformers models mean-pool.
            pooling = "cls" if "bge" in settings.model.lower() else "mean"
        if settings.pooling != "auto":
            pooling = settings.pooling
        # Our own rich progress bars report progress; FlagEmbedding's tqdm bars would interleave.
        os.environ.setdefault("TQDM_DISABLE", "1")
        if os.path.isdir(source):
            # A local folder must never trigger a hub lookup (offline is a feature).
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self._pooling = pooling
        try:
            from FlagEmbedding import FlagModel

            self._model: Any = FlagModel(
                source,
                pooling_method=pooling,
                use_fp16=False,
                devices=devices,
                normalize_embeddings=True,
                query_instruction_for_retrieval=settings.query_instruction or None,
                batch_size=settings.batch_size,
                query_max_length=settings.max_length,
                passage_max_length=settings.max_length,
            )
            self.dim = int(self._model.model.config.hidden_size)
        except Exception as exc:  # transformers/HF raise OSError, ValueError, ...
            raise ConfigError(f"cannot load embedding model {settings.model!r}: {exc}") from exc

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        try:
            encode = self._model.encode_queries if query else self._model.encode
            vectors = encode(list(texts), batch_size=self.settings.batch_size)
        except Exception as exc:
            raise EmbeddingError(f"embedding failed: {exc}") from exc
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        if vectors.shape[1] != self.dim:
            raise EmbeddingError(f"model gave {vectors.shape[1]}-d vectors, expected {self.dim}")
        return vectors
