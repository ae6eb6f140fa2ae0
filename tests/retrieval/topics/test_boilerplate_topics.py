"""Issue 23's reproduction: twelve new calls of a mobile operator on three clear themes
(roaming, eSIM, a broken screen), all opening with the company's greeting and closing with its
script and a filler turn, beside labeled calls of other reasons; in English and in Chinese, over
the real components (MiniLM, Qdrant Edge). Before: one topic of all twelve, named after the
company (``mobile_northwind``, ``北风_致电``). Now: one topic per theme, named by it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.config import load_settings
from app.runtime import Runtime
from app.services import topics
from tests.telecomcalls import THEMES, sources, theme_of
from tests.textcalls import text_sources
from tests.ui.corpus import calls as labeled_calls

#: Words of the greeting and the closing: never what a topic is about.
SCRIPT_WORDS = {
    "northwind",
    "mobile",
    "choosing",
    "lovely",
    "calling",
    "anything",
    "北风",
    "通信",
    "致电",
    "欢迎",
    "客服",
    "工号",
    "生活",
    "愉快",
    "麻烦",
}
THEME_WORDS = {
    "en": {"roaming": "roaming", "esim": "esim", "screen": "screen"},
    "zh": {"roaming": "漫游", "esim": "esim", "screen": "屏幕"},
}


@pytest.fixture(scope="module", params=["en", "zh"])
def run(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    models_dir: Path,
    embedder,
) -> Iterator[tuple[str, dict]]:
    language = request.param
    state = tmp_path_factory.mktemp(f"operator-{language}") / "state"
    settings = load_settings(paths={"state_dir": state, "models_dir": models_dir})
    with Runtime(settings, embedder=embedder) as rt:
        calls = [*text_sources(labeled_calls()), *sources(language)]
        assert {r.status for r in rt.pipeline().run(calls)} == {"indexed"}
        yield language, topics.discover(rt)


def test_three_themes_come_back_as_three_topics(run: tuple[str, dict]) -> None:
    language, found = run
    assert found["pool"] == 12 and found["min_size"] == 3
    assert len(found["topics"]) == 3, [t["suggested_label"] for t in found["topics"]]
    themes = []
    for topic in found["topics"]:
        counts = Counter(theme_of(c["call_id"]) for c in topic["calls"])
        assert len(counts) == 1, counts  # pure
        themes += list(counts)
    assert sorted(themes) == sorted(THEMES)
    assert len(found["unclustered"]) <= 2, found["unclustered"]


def test_topics_are_named_by_their_theme_never_by_the_greeting(run: tuple[str, dict]) -> None:
    language, found = run
    for topic in found["topics"]:
        theme = theme_of(topic["calls"][0]["call_id"])
        terms = [x["term"] for x in topic["terms"]]
        assert not SCRIPT_WORDS & set(terms), terms
        assert THEME_WORDS[language][theme] in terms[:2], terms
        assert THEME_WORDS[language][theme] in topic["suggested_label"]
        # Without an LLM the topic still has a name to show: its best terms.
        assert topic["name"] is None and topic["title"] == " · ".join(terms[:3])
        for call in topic["calls"]:
            assert "Northwind" not in call["excerpt"] and "北风" not in call["excerpt"]
