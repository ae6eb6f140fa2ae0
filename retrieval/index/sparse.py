"""BM25 sparse vectors computed locally with qdrant-edge's encoder.

The same vectors go to both backends (Edge and a Qdrant server): they carry only term
frequencies with BM25 length normalisation; the collections use the IDF modifier, so the
engine multiplies in the inverse document frequency at query time.

Language choice, measured with qdrant-edge-py 0.9.0 and the Multilingual tokenizer
(the tokenizer, not ``language``, segments Chinese: both settings below split
我要退款，订单有问题 into words, and 退款 gets the same token id in both):

* ``language="english"``: Chinese segmented into words; English stemmed (refund, refunds
  and refunded are one token; run/running too) and English stopwords dropped; but
  Chinese function words (我, 了, 的) are kept as tokens.
* ``language="chinese"``: Chinese stopwords dropped, but English is NOT stemmed
  (refund, refunds, refunded are three tokens) and English stopwords are kept.

So for mixed English + Chinese calls the default is ``"english"`` plus the Chinese
stopword list (``StopwordsSet({English, Chinese})``), which drops 我/了/的 while keeping
English stemming: the best of both. ``model_id`` names that choice because changing it
changes every token id: a collection must be re-indexed when it changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import qdrant_edge as q

from app.core.errors import ConfigError, EmbeddingError, InputError
from retrieval.index.store import SparseVec


class Bm25Encoder:
    """Turn texts into BM25 sparse vectors (documents: TF weights; queries: 1.0 per term)."""

    def __init__(self, language: str = "english", *, chinese_stopwords: bool = True) -> None:
        """Build the encoder.

        ``language`` is a lowercase qdrant language name ("english", "chinese", "german",
        ...) choosing the stemmer and stopwords; ``chinese_stopwords`` also drops Chinese
        function words when ``language`` is not Chinese itself.
        """
        if not isinstance(language, str) or language != language.strip().lower() or not language:
            raise ConfigError(
                f"BM25 language must be a lowercase name like 'english', got {language!r}"
            )
        self.language = language
        extra_zh = chinese_stopwords and language != "chinese"
        stopwords = None
        if extra_zh:
            own = getattr(q.Language, language.title(), None)
            if own is None:
                raise ConfigError(
                    f"BM25 language {language!r} has no stopword list to merge Chinese into; "
                    "pass chinese_stopwords=False"
                )
            stopwords = q.StopwordsSet(languages={own, q.Language.Chinese})
        try:
            self._model = q.Bm25(
                q.Bm25Config(
                    language=language, tokenizer=q.TokenizerType.Multilingual, stopwords=stopwords
                )
            )
        except ValueError as exc:
            raise ConfigError(f"BM25 language {language!r} is not supported: {exc}") from exc
        self.model_id = f"bm25-multilingual-{language}" + ("+zh-stopwords" if extra_zh else "")

    def encode_documents(self, texts: Iterable[str]) -> list[SparseVec]:
        """Document vectors (term frequency with BM25 saturation and length normalisation)."""
        return [self._encode(text, self._model.embed_document) for text in texts]

    def encode_query(self, text: str) -> SparseVec:
        """Query vector: weight 1.0 for each distinct term (IDF comes from the engine)."""
        return self._encode(text, self._model.embed_query)

    @staticmethod
    def _encode(text: str, embed: Callable[[str], Any]) -> SparseVec:
        if not isinstance(text, str):
            raise InputError(f"BM25 input must be text, got {type(text).__name__}")
        if not text.strip():
            return SparseVec([], [])
        try:
            vec = embed(text)
        except Exception as exc:  # the binding raises bare Exception/ValueError
            raise EmbeddingError(f"BM25 encoding failed: {exc}") from exc
        return SparseVec(list(vec.indices), [float(v) for v in vec.values])
