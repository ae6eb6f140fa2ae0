"""What the classification vote compares a call by: its call vector and its opening. A greeting,
"喂，你好" or "好的，麻烦你了。" is no part of either (stored and new calls go through these same
functions, ``ingest.turns``)."""

from __future__ import annotations

import numpy as np

from app.core.config import IndexSettings
from app.core.models import Transcript, Turn
from ingest.turns import call_vector, opening_line, turn_units


def _units(turns: list[tuple[str, str]]):
    return turn_units(Transcript([Turn(s, t) for s, t in turns]), IndexSettings())


def test_filler_and_the_greeting_weigh_nothing_in_the_call_vector() -> None:
    units = _units(
        [
            ("agent", "您好，欢迎致电北风通信，我是客服小李，工号1000，请问有什么可以帮您？"),
            ("customer", "我在泰国用了几天流量，账单多了三百块漫游费。"),
            ("customer", "好的，麻烦你了。"),
            ("agent", "Thank you for choosing Northwind Mobile, have a lovely day."),
        ]
    )
    vectors = np.eye(4, dtype=np.float32)  # one direction per turn
    assert np.allclose(call_vector(units, vectors), [0.0, 1.0, 0.0, 0.0])
    # A call of nothing but filler still has a vector: all its turns, by their length.
    only = _units([("customer", "Hello?"), ("agent", "Hi, how can I help?")])
    expected = np.array([6.0, 19.0]) / np.hypot(6.0, 19.0)
    assert np.allclose(call_vector(only, np.eye(2, dtype=np.float32)), expected)


def test_the_opening_is_the_first_thing_the_customer_says_with_content() -> None:
    english = _units(
        [
            ("customer", "Hello?"),
            ("agent", "Thank you for calling Northwind Mobile, my name is Sam, how can I help?"),
            ("customer", "Hi. My eSIM disappeared after a reset."),
        ]
    )
    assert opening_line(english) == "Customer: Hi. My eSIM disappeared after a reset."
    chinese = _units(
        [
            ("agent", "您好，请问有什么可以帮您？"),
            ("customer", "喂，你好。"),
            ("customer", "我要退款"),
        ]
    )
    assert opening_line(chinese) == "Customer: 我要退款"
    # No customer turn: the first turn with content, whoever says it.
    mono = _units([("speaker", "Hello?"), ("speaker", "My parcel is late.")])
    assert opening_line(mono) == "Speaker: My parcel is late."
