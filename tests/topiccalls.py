"""The corpus of the topic-discovery tests: the UI tests' 16 labeled calls, six near-identical
unlabeled calls about one new reason (a smart thermostat offline after a firmware update: the
planted group), and eight unlabeled calls about eight different things."""

from __future__ import annotations

from app.core.models import CallSource
from tests.textcalls import CallSpec, text_sources
from tests.ui.corpus import calls as labeled_calls

PLANTED = [f"t{i}" for i in range(6)]

_THERMOSTAT = [
    "My smart thermostat stopped connecting to the wifi after last night's firmware update.",
    "Since the firmware update last night my smart thermostat will not connect to the wifi.",
    "The smart thermostat lost its wifi connection after the firmware update yesterday.",
    "After the thermostat firmware update it keeps dropping off the wifi, the smart thermostat.",
    "My smart thermostat is offline, no wifi connection since the firmware update.",
    "The firmware update broke my smart thermostat, it cannot find the wifi any more.",
]
_ONE_OFFS = [
    ("What are your opening hours on public holidays?", "We open from ten to four then."),
    (
        "Can I still change the colour of the sofa I ordered last week?",
        "Yes, it has not gone to the workshop yet, I will change it to green.",
    ),
    ("我想开一张发票，公司抬头要怎么填写？", "请把公司全称和税号发给我们，我们开好后邮寄给您。"),
    (
        "The gift card code I received does not work at the checkout.",
        "That code expired in March; I will issue a new one by email.",
    ),
    (
        "Do you offer a student discount on desks and chairs?",
        "Students get ten percent off with a valid student card.",
    ),
    (
        "Please note my flat number, the neighbour keeps getting my letters.",
        "I have added flat 4B to your address.",
    ),
    (
        "I want to close my loyalty account and have my data deleted.",
        "Your loyalty account is closed and the deletion request is filed.",
    ),
    (
        "The assembly instructions for the wardrobe are missing page four.",
        "I will email you the PDF of the full instructions.",
    ),
]
_GREETING = ("agent", "Thanks for calling, how can I help?")


def calls() -> dict[str, CallSpec]:
    out = dict(labeled_calls())
    for i, text in enumerate(_THERMOSTAT):
        reply = "I will send you the steps to reset the thermostat's network settings."
        out[PLANTED[i]] = (
            [],
            f"2026-11-{i + 1:02d}",
            [_GREETING, ("customer", text), ("agent", reply)],
        )
    for i, (text, reply) in enumerate(_ONE_OFFS):
        out[f"o{i}"] = (
            [],
            f"2026-11-{i + 10:02d}",
            [_GREETING, ("customer", text), ("agent", reply)],
        )
    return out


def sources() -> list[CallSource]:
    return text_sources(calls())
