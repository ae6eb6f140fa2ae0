"""A small labeled corpus with multi-label calls, for label-run and relabel tests: the UI
tests' 16 calls over three labels (one refund call labeled ``delivery_delay``) plus two calls
labeled ``refund;delivery_delay``: one that is only about a late parcel (the issue's
``demo-041``: its evidence says delivery, and nothing says refund) and one about both."""

from __future__ import annotations

from tests.textcalls import CallSpec
from tests.ui.corpus import calls as ui_calls

#: Labeled refund + delivery, but only about a late parcel.
ONLY_DELIVERY = "m-delivery"
#: Labeled refund + delivery and about both.
BOTH = "m-both"
MULTI = ["refund", "delivery_delay"]

_HELLO = ("agent", "Thanks for calling, how can I help?")


def calls() -> dict[str, CallSpec]:
    out = ui_calls()
    out[ONLY_DELIVERY] = (
        list(MULTI),
        "2026-10-21",
        [
            _HELLO,
            (
                "customer",
                "My parcel is late, the courier never came and the tracking has not moved.",
            ),
            (
                "agent",
                "I'm sorry about the delivery. I will call the courier and call you back "
                "tomorrow before noon.",
            ),
        ],
    )
    out[BOTH] = (
        list(MULTI),
        "2026-10-22",
        [
            _HELLO,
            (
                "customer",
                "The courier never delivered my parcel, so I want a refund of my money to my card.",
            ),
            ("agent", "The refund was issued today, and I will also complain to the courier."),
        ],
    )
    return out
