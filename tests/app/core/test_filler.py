"""Content-free turns in English and Chinese: filler and the greeting and closing script told from
the words, boilerplate learned from the calls (whatever the agent's name in it), and turns with
content never taken for either."""

from __future__ import annotations

import pytest

from app.core.filler import Boilerplate, is_content_free, is_filler, shingles
from tests.telecomcalls import chinese_calls, english_calls

FILLER = [
    "好的，麻烦你了。",
    "行吧，那就这样。",
    "Customer: 好的，麻烦你了。",
    "没有了，谢谢。",
    "嗯嗯，对的。",
    "您好，请问有什么可以帮您？",
    "您好，欢迎致电北风通信，我是客服小李，工号1000，请问有什么可以帮您？",
    "请问还有其他可以帮您的吗？感谢您致电北风通信，祝您生活愉快，再见。",
    "Agent: Thanks for calling, how can I help?",
    "Thank you for calling Northwind Mobile, my name is Sam, how can I help you today?",
    "Is there anything else I can help you with today? Thank you for choosing Northwind Mobile, "
    "have a lovely day.",
    "No, that's all, thanks. Bye.",
    "Okay, great, thank you so much.",
    "Hello?",
    "",
]
CONTENT = [
    "我要退款",
    "退款",
    "是不是漫游没开？",
    "我是想问一下退款的事",
    "eSIM",
    "MO-58213.",
    "Thank you for calling about my refund.",
    "Yes. Your colleague told me I can't return a bed frame.",
    "Maple & Oak, you're speaking with Hugo.",
    "Customer: 手机屏幕摔裂了，维修期间能借一台备用机吗？",
    "I cancelled it",
]


@pytest.mark.parametrize("text", FILLER)
def test_filler_and_the_greeting_script_are_told_from_the_words(text: str) -> None:
    assert is_filler(text)


@pytest.mark.parametrize("text", CONTENT)
def test_a_turn_with_content_is_never_filler(text: str) -> None:
    assert not is_filler(text)


def test_boilerplate_is_what_most_calls_say_whatever_the_name_in_it() -> None:
    greeting = "Agent: Bluebell here, {} on the line, go ahead please."
    names = ("Sam", "Priya", "Tom", "Li", "Ana", "Joe")
    asks = [
        "my parcel never arrived at the depot",
        "the invoice shows a charge twice",
        "I cannot log in to the app",
        "the parcel came broken, I want a refund",
        "please change my address to the new flat",
        "the courier left the parcel with a neighbour",
    ]
    calls = [
        [greeting.format(name), f"Customer: {ask}"] for name, ask in zip(names, asks, strict=True)
    ]
    learned = Boilerplate.learn(calls)
    # The patterns do not know this company's greeting; the calls do.
    assert not is_filler(greeting.format("Kim"))
    assert greeting.format("Kim") in learned and is_content_free(greeting.format("Kim"), learned)
    assert calls[0][1] not in learned and not is_content_free(calls[0][1], learned)
    # Too few calls teach nothing: a line two calls share is not boilerplate.
    assert greeting.format("Kim") not in Boilerplate.learn(calls[:3])


@pytest.mark.parametrize("calls", [english_calls, chinese_calls], ids=["en", "zh"])
def test_the_operators_script_is_boilerplate_and_its_calls_reasons_are_not(calls) -> None:
    texts = [[f"{s}: {t}" for s, t in turns] for _, _, turns in calls().values()]
    learned = Boilerplate.learn(texts)
    for lines in texts:
        assert lines[0] in learned and lines[5] in learned  # greeting, closing
        assert not any(line in learned for line in lines[1:5])  # what the call is about
        assert [is_content_free(line, learned) for line in lines] == [True] + [False] * 4 + [
            True
        ] * 2


def test_shingles_are_three_words_or_three_characters() -> None:
    assert shingles("Agent: Order 1234 arrived late") == {
        ("order", "0", "arrived"),
        ("0", "arrived", "late"),
    }
    assert shingles("客户：退款了") == {("退", "款", "了")}
    assert shingles("OK") == {("ok",)} and shingles("Agent: ") == set()


def test_boilerplate_is_learned_language_by_language() -> None:
    # A Chinese-first call centre: the English greeting is in a third of the calls, but in
    # every English one.
    english = [e[2] for e in english_calls().values()][:4]
    chinese = [c[2] for c in chinese_calls().values()]
    calls = [("en", [f"{s}: {t}" for s, t in turns]) for turns in english] + [
        ("zh", [f"{s}: {t}" for s, t in turns]) for turns in chinese
    ]
    greeting = calls[0][1][0]
    assert greeting not in Boilerplate.learn(lines for _, lines in calls)
    learned = Boilerplate.learn_by_language(calls)
    assert greeting in learned and calls[-1][1][0] in learned and learned.calls == 16
