"""Which voice is the agent, and what an import may say about it."""

from __future__ import annotations

import pytest

from app.core.config import DiarizationSettings
from app.core.errors import InputError
from app.core.models import Transcript, Turn
from ingest.roles import Run, apply_override, name_voices, role_of

PHRASES = DiarizationSettings()


def _names(runs: list[Run], voices: int = 2) -> list[str]:
    return name_voices(
        runs,
        voices,
        agent="agent",
        customer="customer",
        agent_phrases=PHRASES.agent_phrases,
        customer_phrases=PHRASES.customer_phrases,
    )


def test_the_greeting_voice_is_the_agent_even_when_it_speaks_second() -> None:
    runs = [
        Run(0, 0.0, 1.0, "Hello?"),
        Run(1, 1.5, 5.0, "Thank you for calling Northwind, my name is Sam, how can I help?"),
        Run(0, 5.5, 8.0, "I'm calling about my order, it never arrived."),
    ]
    assert _names(runs) == ["customer", "agent"]


def test_chinese_greeting_marks_the_agent() -> None:
    runs = [
        Run(1, 0.0, 2.0, "喂？"),
        Run(0, 2.5, 6.0, "您好，很高兴为您服务，请问有什么可以帮您？"),
        Run(1, 6.5, 9.0, "我想查一下我的订单。"),
    ]
    assert _names(runs) == ["agent", "customer"]


def test_first_speaker_decides_when_nothing_else_does() -> None:
    runs = [Run(1, 0.0, 2.0, "Right."), Run(0, 2.5, 4.0, "Okay then.")]
    assert _names(runs) == ["customer", "agent"]


def test_a_third_voice_is_numbered() -> None:
    runs = [
        Run(2, 0.0, 3.0, "Thanks for calling, how can I help?"),
        Run(0, 3.5, 9.0, "My order is late and I need it by Friday, it is a gift."),
        Run(1, 9.5, 10.0, "Hi."),
    ]
    assert _names(runs, 3) == ["customer", "speaker 3", "agent"]


def _call() -> Transcript:
    return Transcript(
        turns=[Turn("customer", "Hello?", 0, 1), Turn("agent", "Northwind, Sam here.", 1, 3)],
        speaker_source="voices",
        speech=[("customer", 0, 1, 1), ("agent", 1, 3, 3)],
    )


@pytest.mark.parametrize(
    ("choice", "first"),
    [("first", "agent"), ("second", "customer"), ("swap", "agent"), ("auto", "customer")],
)
def test_import_override(choice: str, first: str) -> None:
    out = apply_override(_call(), choice, ("agent", "customer"))
    assert out.turns[0].speaker == first
    assert out.speech[0][0] == first
    assert out.speaker_source == "voices"


def test_bad_override_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="agent_speaker must be one of"):
        apply_override(_call(), "boss", ("agent", "customer"))


@pytest.mark.parametrize(
    ("speaker", "role"),
    [("客服", "agent"), ("坐席", "agent"), ("Agent", "agent"), (" REP ", "agent"),
     ("客户", "customer"), ("Caller", "customer"), ("顾客", "customer"),
     ("agent", "agent"), ("customer", "customer"), ("speaker 3", "speaker 3"), ("小王", "小王")],
)  # fmt: skip
def test_the_usual_names_of_the_two_roles_are_read_as_the_roles(speaker: str, role: str) -> None:
    assert role_of(speaker, ("agent", "customer")) == role


def test_configured_channel_names_come_first() -> None:
    assert role_of("left", ("left", "right")) == "agent"
    assert role_of("right", ("left", "right")) == "customer"
