"""Ask and search over calls full of greetings, closings and filler, with the real embedder and
Qdrant Edge, in English and Chinese: the evidence is the turns with content, listed under their
calls in the order of their numbers, each speaker shown once; what is said in every call (a
greeting the patterns do not know) is learned from the calls and ranked last."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.config import load_settings
from app.core.filler import is_filler
from app.core.filters import CallFilter
from app.runtime import Runtime
from app.services.search import GENERATION_OFF, ask, search
from tests.telecomcalls import chinese_calls, english_calls
from tests.textcalls import text_sources


@pytest.fixture(scope="module")
def telecom(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder) -> Iterator:
    """The operator's 24 calls (12 English, 12 Chinese), each with its greeting, closing and a
    customer filler turn."""
    state = tmp_path_factory.mktemp("telecom") / "state"
    settings = load_settings(paths={"state_dir": state, "models_dir": models_dir})
    with Runtime(settings, embedder=embedder) as rt:
        sources = text_sources({**english_calls(), **chinese_calls()})
        assert {r.status for r in rt.pipeline().run(sources)} == {"indexed"}
        yield rt


@pytest.mark.parametrize(
    ("call_id", "question"),
    [
        ("en-roaming-1", "Why was the customer charged for roaming in Turkey?"),
        ("zh-roaming-1", "客户在泰国的漫游费为什么这么多？"),
    ],
)
def test_the_evidence_of_a_call_is_its_turns_with_content(
    telecom: Runtime, call_id: str, question: str
) -> None:
    # Every turn of the call could be cited (k = its 7 turns): only the 4 with content are.
    answer = ask(telecom, question, filters=CallFilter(call_ids=(call_id,)), k=7)
    assert answer.note == GENERATION_OFF and not answer.generated and not answer.not_found
    cited = [c.passage for c in answer.citations]
    assert sorted(p.turn for p in cited) == [1, 2, 3, 4]
    assert not any(is_filler(p.text) for p in cited)
    for gone in ("Northwind", "北风", "好的，麻烦你了", "行吧，那就这样", "thank you so much"):
        assert gone not in answer.text


@pytest.mark.parametrize(
    "question",
    ["Which customers had a cracked or broken phone screen?", "哪些客户的手机屏幕摔坏了？"],
)
def test_evidence_is_numbered_in_the_order_it_is_listed(telecom: Runtime, question: str) -> None:
    answer = ask(telecom, question, k=8)
    numbers = [int(n) for n in re.findall(r"^\s*\[(\d+)\]", answer.text, re.MULTILINE)]
    assert numbers == list(range(1, len(answer.citations) + 1)) and len(numbers) >= 4
    assert [c.n for c in answer.citations] == numbers
    # Grouped by call: a call's passages are listed together, under one heading.
    calls = [c.passage.call_id for c in answer.citations]
    assert calls == sorted(calls, key=calls.index)
    headings = re.findall(r"^Call (\S+) ", answer.text, re.MULTILINE)
    assert headings == list(dict.fromkeys(calls))
    # The speaker is in the citation; the quoted line is the words alone.
    assert not re.search(r"^\s+(Customer|Agent): ", answer.text, re.MULTILINE)
    assert not any(is_filler(c.passage.text) for c in answer.citations)


def test_search_ranks_content_free_turns_last_and_marks_them(telecom: Runtime) -> None:
    result = search(
        telecom, "No, that's all, thanks. Bye.", filters=CallFilter(call_ids=("en-esim-0",)), k=7
    )
    flags = [p.content_free for p in result.passages]
    assert flags == [False] * 4 + [True] * 3
    assert {p.turn for p in result.passages if p.content_free} == {0, 5, 6}
    # Among them the best match still comes first: the very words searched for.
    assert result.passages[4].words == "No, that's all, thanks. Bye."


def test_a_greeting_every_call_shares_is_learned_and_not_cited(
    tmp_path: Path, models_dir: Path, embedder
) -> None:
    # A greeting no pattern knows: what makes it boilerplate is that every call says it.
    greeting = "Bluebell here, {} on the line, go ahead please."
    asks = [
        ("the parcel never arrived at the depot", "I will chase the depot today."),
        ("my invoice shows the same charge twice", "I refunded the second charge."),
        ("I cannot log in to the app any more", "I reset your password just now."),
        ("the blender came broken in the box", "A replacement blender is on its way."),
        ("please move my delivery to the new flat", "Your address is updated to the flat."),
        ("the courier left the parcel with a neighbour", "I asked the courier to collect it."),
    ]
    names = ("Sam", "Priya", "Tom", "Li", "Ana", "Joe")
    calls = {
        f"b{i}": ([], "2026-12-01", [("agent", greeting.format(n)), ("customer", a), ("agent", r)])
        for i, (n, (a, r)) in enumerate(zip(names, asks, strict=True))
    }
    settings = load_settings(paths={"state_dir": tmp_path / "state", "models_dir": models_dir})
    with Runtime(settings, embedder=embedder) as rt:
        assert {r.status for r in rt.pipeline().run(text_sources(calls))} == {"indexed"}
        assert not is_filler(greeting.format("Sam"))
        answer = ask(rt, "What happened to the blender?", filters=CallFilter(call_ids=("b3",)), k=3)
        assert sorted(c.passage.turn for c in answer.citations) == [1, 2]
        found = search(rt, "who is on the line", filters=CallFilter(call_ids=("b3",)), k=3)
        assert [p.turn for p in found.passages][-1] == 0 and found.passages[-1].content_free
