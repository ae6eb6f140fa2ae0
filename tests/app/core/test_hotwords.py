"""One reading of a hot-word list for every way in (settings, CLI, API, UI)."""

from __future__ import annotations

import pytest

from app.core.config import load_settings
from app.core.errors import InputError
from app.core.hotwords import MAX_HOTWORDS, parse_hotwords


def test_terms_are_split_on_commas_of_both_languages_and_kept_once_in_order() -> None:
    given = "Gold  Plus, 京东，八达岭;Gold Plus、 Harbour Line\n"
    assert parse_hotwords(given) == ("Gold Plus", "京东", "八达岭", "Harbour Line")
    assert parse_hotwords(["Gold Plus", " ", "京东"]) == ("Gold Plus", "京东")
    assert parse_hotwords(None) == parse_hotwords("") == parse_hotwords(" , ") == ()


def test_a_list_whisper_cannot_take_is_refused_saying_why() -> None:
    with pytest.raises(InputError, match="too long"):
        parse_hotwords("x" * 41)
    with pytest.raises(InputError, match=f"at most {MAX_HOTWORDS}"):
        parse_hotwords([f"term{i}" for i in range(MAX_HOTWORDS + 1)])


def test_the_deployment_list_reads_from_json_or_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHISPER__HOTWORDS", '["Gold Plus", "京东"]')
    assert load_settings().whisper.hotwords == ("Gold Plus", "京东")
    assert load_settings(whisper={"hotwords": "Gold Plus, 京东"}).whisper.hotwords == (
        "Gold Plus",
        "京东",
    )
    with pytest.raises(Exception, match="too long"):
        load_settings(whisper={"hotwords": ["x" * 60]})
