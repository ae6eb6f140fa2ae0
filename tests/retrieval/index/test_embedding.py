"""The embedder's own batching gives FlagEmbedding's vectors, in the caller's order."""

from __future__ import annotations

import numpy as np

from retrieval.index.embedding import FlagEmbedder


def test_batched_vectors_equal_flagembeddings_and_keep_the_order(embedder: FlagEmbedder) -> None:
    texts = [
        "Customer: hi",
        "Agent: I can see the refund was issued on Monday, it takes three to five working days",
        "客户：我的快递三天没更新了",
        "Customer: " + "my parcel is late " * 40,
        "ok",
    ] * 15  # 75 texts: several batches of mixed length
    ours = embedder.embed(texts)
    theirs = np.asarray(embedder._model.encode(texts, batch_size=256), dtype=np.float32)  # noqa: SLF001
    assert ours.shape == (75, embedder.dim)
    assert np.allclose(ours, theirs, atol=1e-5)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    one = embedder.embed([texts[3]])
    assert np.allclose(one[0], ours[3], atol=1e-5)  # alone or in a batch: the same vector


def test_no_texts_no_vectors(embedder: FlagEmbedder) -> None:
    assert embedder.embed([]).shape == (0, embedder.dim)
