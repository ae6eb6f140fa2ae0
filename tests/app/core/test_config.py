from __future__ import annotations

import pytest

from app.core.config import Settings, load_settings
from app.core.errors import ConfigError


def test_defaults_are_offline_and_embedded() -> None:
    s = Settings()
    assert s.whisper.model == "bundled:base"
    assert s.embedding.model == "bundled:multilingual-e5-small"
    assert s.qdrant.url is None  # embedded Qdrant Edge
    assert s.llm.enabled is False
    assert s.paths.shards == s.paths.state_dir / "qdrant"


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDRANT__URL", "http://qdrant:6333")
    monkeypatch.setenv("WHISPER__LANGUAGE", "ZH")
    monkeypatch.setenv("LLM__BASE_URL", "http://127.0.0.1:8001/v1")
    monkeypatch.setenv("LLM__MODEL", "qwen2.5")
    monkeypatch.setenv("PATHS__STATE_DIR", "/tmp/cs-state")
    s = load_settings()
    assert s.qdrant.url == "http://qdrant:6333"
    assert s.whisper.language == "zh"
    assert s.llm.enabled is True
    assert str(s.paths.state_dir) == "/tmp/cs-state"


def test_dotenv_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("EMBEDDING__MODEL=BAAI/bge-small-zh-v1.5\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().embedding.model == "BAAI/bge-small-zh-v1.5"


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"index": {"max_turn_tokens": 8}}, "index.max_turn_tokens"),
        ({"whisper": {"beam_size": 0}}, "whisper.beam_size"),
        ({"qdrant": {"index": "bad name/.."}}, "qdrant.index"),
        ({"embedding": {"pooling": "max"}}, "embedding.pooling"),
    ],
)
def test_invalid_settings_are_one_clear_error(overrides: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match="invalid settings") as info:
        load_settings(**overrides)
    assert needle in str(info.value)


def test_auto_language_means_detect() -> None:
    assert load_settings(whisper={"language": "auto"}).whisper.language is None


def test_with_changes_copies_and_never_mutates() -> None:
    s = Settings()
    changed = s.with_changes(qdrant={"index": "other"}, classify={"k": 3})
    assert (changed.qdrant.index, changed.classify.k) == ("other", 3)
    assert (s.qdrant.index, s.classify.k) == ("callscope", 10)  # the original is untouched
    assert changed.whisper == s.whisper
    with pytest.raises(ConfigError, match="qdrant.colection"):
        s.with_changes(qdrant={"colection": "typo"})


def test_settings_renamed_from_chunks_still_read_their_old_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A .env written before turn points replaced chunks keeps working.
    monkeypatch.setenv("CHUNKING__ENCODING", "o200k_base")
    monkeypatch.setenv("INGEST__BATCH_CHUNKS", "7")
    s = load_settings()
    assert (s.tokenizer.encoding, s.ingest.batch_points) == ("o200k_base", 7)


def test_the_index_names_both_collections_and_the_old_setting_still_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    q = load_settings().qdrant
    assert (q.turns_collection, q.calls_collection) == ("callscope_turns", "callscope_calls")
    assert q.legacy_collections == ("calls", "calls_calls")
    # QDRANT__COLLECTION named the turn collection; it is the index name now.
    monkeypatch.setenv("QDRANT__COLLECTION", "support")
    q = load_settings().qdrant
    assert (q.index, q.turns_collection, q.legacy_collections[0]) == (
        "support",
        "support_turns",
        "support",
    )
