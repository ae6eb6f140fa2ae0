"""Dense text embeddings.

:class:`Embedder` is the one-method interface (``embed``) every backend implements;
:func:`make_embedder` builds the configured one: the bundled multilingual-e5-small
(``retrieval.index.e5_embedding``, the default) or :class:`FlagEmbedder` (FlagEmbedding), which
loads the bundled all-MiniLM-L6-v2 offline or any bge model by name or path. ``model_id`` and
``dim`` are recorded in each collection so a collection is never filled with vectors from two
different models.
"""

from __future__ import annotations

import json
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core import bundled
from app.core.config import BUNDLED_E5, BUNDLED_MINILM, EmbeddingSettings
from app.core.errors import ConfigError, EmbeddingError

log = logging.getLogger(__name__)


class Embedder(ABC):
    """Maps texts to L2-normalized float32 vectors of ``dim`` dimensions."""

    model_id: str
    dim: int

    @abstractmethod
    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """Vectors of shape (len(texts), dim). ``query=True`` applies the model's query prefix."""


@dataclass(frozen=True)
class SimilarityProfile:
    """How to read one model's cosine similarities. Every threshold and temperature in the
    settings is written for a model whose unrelated texts score near 0 (MiniLM); e5 puts any
    two texts at 0.7-0.85 (measured: unrelated questions against call turns 0.72-0.85, related
    0.85-0.88), so its similarities are read relative to that floor."""

    #: Its vectors carry the meaning of Chinese as well as English texts.
    multilingual: bool = False
    #: About where unrelated texts score: ``relative`` maps it to 0 and 1 to 1.
    floor: float = 0.0

    def relative(self, cosine: float) -> float:
        return (cosine - self.floor) / (1.0 - self.floor)

    def absolute(self, relative: float) -> float:
        return self.floor + relative * (1.0 - self.floor)


def profile_of(model_id: str) -> SimilarityProfile:
    """The profile of the model a collection was built with (``model_id``)."""
    name = model_id.lower()
    if "multilingual-e5" in name:
        return SimilarityProfile(multilingual=True, floor=0.75)
    if "bge-m3" in name or "-zh" in name or "multilingual" in name:
        return SimilarityProfile(multilingual=True)
    return SimilarityProfile()


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder ``settings.model`` names."""
    if settings.model == BUNDLED_E5:
        from retrieval.index.e5_embedding import E5Embedder

        return E5Embedder(stored_prefix=settings.e5_stored_prefix)
    return FlagEmbedder(settings)


class FlagEmbedder(Embedder):
    """FlagEmbedding's FlagModel on the CPU, or on the torch device ``embedding.devices``
    names (``cuda:0``)."""

    def __init__(self, settings: EmbeddingSettings, *, devices: str | None = None) -> None:
        self.settings = settings
        if settings.model == BUNDLED_MINILM:
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
        if os.path.isdir(source):
            # A local folder must never trigger a hub lookup (offline is a feature).
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self._pooling = pooling
        self._source = source
        self._devices = devices or settings.devices
        self._flag: Any = None
        # The dimension comes from the model's config alone, so opening a collection (status,
        # a re-run over unchanged calls) never waits for FlagEmbedding and the weights to load.
        try:
            self.dim = _hidden_size(source)
        except Exception as exc:  # transformers/HF raise OSError, ValueError, ...
            raise ConfigError(f"cannot load embedding model {settings.model!r}: {exc}") from exc

    @property
    def _model(self) -> Any:
        if self._flag is None:
            s = self.settings
            try:
                from FlagEmbedding import FlagModel

                self._flag = FlagModel(
                    self._source,
                    pooling_method=self._pooling,
                    use_fp16=False,
                    devices=self._devices,
                    normalize_embeddings=True,
                    query_instruction_for_retrieval=s.query_instruction or None,
                    batch_size=s.batch_size,
                    query_max_length=s.max_length,
                    passage_max_length=s.max_length,
                )
                if self._devices != "cpu":
                    # FlagModel moves its model to the device only inside its own encode; the
                    # direct path below runs the model itself.
                    self._flag.model.to(self._flag.target_devices[0])
                    if s.fp16:
                        self._flag.model.half()
            except Exception as exc:  # transformers/HF/torch raise OSError, ValueError, ...
                raise ConfigError(f"cannot load embedding model {s.model!r}: {exc}") from exc
        return self._flag

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        try:
            vectors = self._direct(list(texts), query)
        except Exception as exc:
            raise EmbeddingError(f"embedding failed: {exc}") from exc
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        if vectors.shape[1] != self.dim:
            raise EmbeddingError(f"model gave {vectors.shape[1]}-d vectors, expected {self.dim}")
        return vectors

    def _direct(self, texts: list[str], query: bool) -> np.ndarray:
        """The same vectors as FlagEmbedding's ``encode`` (same tokenizer, model, pooling,
        instruction and normalization; checked equal to 2e-7), computed in batches of
        ``embedding.batch_size`` texts of similar length. FlagEmbedding's ``encode`` probes for
        a batch size on every call with a full forward pass at the longest length, which cost
        about a second per call: a search embeds one question (now a ~10 ms pass), and ingest
        and classification embed 2.1x faster (docs/benchmarks.md)."""
        import torch

        flag = self._model
        if query and flag.query_instruction_for_retrieval:
            texts = [flag.query_instruction_for_retrieval + t for t in texts]
        size = self.settings.batch_size
        order: Sequence[int] = range(len(texts))
        if len(texts) > size:
            lengths = [
                len(ids)
                for ids in flag.tokenizer(
                    texts, truncation=True, max_length=self.settings.max_length
                )["input_ids"]
            ]
            order = sorted(order, key=lambda i: -lengths[i])
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for lo in range(0, len(texts), size):
            picked = list(order[lo : lo + size])
            batch = flag.tokenizer(
                [texts[i] for i in picked],
                padding=True,
                truncation=True,
                max_length=self.settings.max_length,
                return_tensors="pt",
            ).to(flag.model.device)
            with torch.inference_mode():
                hidden = flag.model(**batch, return_dict=True).last_hidden_state
                pooled = _pool(hidden, batch["attention_mask"], self._pooling)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
            out[picked] = pooled.float().cpu().numpy()
        return out


def _pool(hidden: Any, mask: Any, method: str) -> Any:
    if method == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def _hidden_size(source: str) -> int:
    """The model's vector size. A local model folder is read from its ``config.json``
    (importing transformers costs seconds, and ``callscope status`` needs only this number);
    a hub name goes through transformers' own config loading."""
    config = os.path.join(source, "config.json")
    if os.path.isfile(config):
        with open(config, encoding="utf-8") as fh:
            return int(json.load(fh)["hidden_size"])
    from transformers import AutoConfig

    return int(AutoConfig.from_pretrained(source).hidden_size)
