from __future__ import annotations

from app.core.config import ChunkingSettings
from app.core.models import Turn
from app.core.text import encoding
from ingest.chunking import chunk_turns


def _turns(n: int, words: int = 12) -> list[Turn]:
    return [
        Turn(
            "agent" if i % 2 == 0 else "customer",
            f"turn{i} " + "word " * words,
            i * 10.0,
            i * 10.0 + 8,
        )
        for i in range(n)
    ]


def test_chunks_respect_the_token_budget_and_keep_turns_whole() -> None:
    settings = ChunkingSettings(max_tokens=60, overlap_tokens=20)
    chunks = chunk_turns("c1", _turns(10), settings)
    enc = encoding(settings.encoding)
    assert len(chunks) > 2
    for chunk in chunks:
        assert len(enc.encode(chunk.text)) <= 60 + len(chunk.turn_ids)  # newline joins
        for line, turn_id in zip(chunk.text.splitlines(), chunk.turn_ids, strict=True):
            assert line.startswith(("Agent: turn", "Customer: turn"))
            assert f"turn{turn_id} " in line
    covered = sorted({t for c in chunks for t in c.turn_ids})
    assert covered == list(range(10))  # nothing dropped


def test_overlap_repeats_the_last_turn() -> None:
    chunks = chunk_turns("c1", _turns(10), ChunkingSettings(max_tokens=60, overlap_tokens=20))
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.turn_ids[-1] == b.turn_ids[0]


def test_no_overlap_when_disabled() -> None:
    chunks = chunk_turns("c1", _turns(10), ChunkingSettings(max_tokens=60, overlap_tokens=0))
    ids = [t for c in chunks for t in c.turn_ids]
    assert ids == sorted(set(ids))


def test_chunk_carries_times_speakers_and_ids() -> None:
    chunk = chunk_turns("call-9", _turns(2), ChunkingSettings(max_tokens=200))[0]
    assert (chunk.call_id, chunk.index) == ("call-9", 0)
    assert (chunk.start, chunk.end) == (0.0, 18.0)
    assert chunk.speakers == ["agent", "customer"]
    assert len(chunk.content_hash) == 16


def test_an_over_long_turn_is_split_at_tokens() -> None:
    settings = ChunkingSettings(max_tokens=50, overlap_tokens=10)
    turn = Turn("customer", " ".join(f"w{i}" for i in range(400)), 5.0, 95.0)
    chunks = chunk_turns("c", [turn], settings)
    assert len(chunks) > 3
    assert all(c.n_tokens <= 50 and c.turn_ids == [0] for c in chunks)
    assert "w399" in chunks[-1].text and "w0 " in chunks[0].text


def test_chinese_text_is_counted_in_tokens() -> None:
    turn = Turn("customer", "我的快递三天了还没有到，请帮我查一下物流信息。" * 20)
    chunks = chunk_turns("zh", [turn], ChunkingSettings(max_tokens=64, overlap_tokens=8))
    assert len(chunks) > 1 and all(c.n_tokens <= 64 for c in chunks)


def test_empty_turns_give_no_chunks() -> None:
    assert chunk_turns("c", [Turn("agent", "  ")], ChunkingSettings()) == []
