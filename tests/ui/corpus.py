"""The small corpus the UI tests serve: 15 text calls over three labels (five each, enough for a
label-quality run), one refund call deliberately labeled ``delivery_delay`` (the suspect), and
one real recording (``jfk.flac``) so citations can play audio."""

from __future__ import annotations

from tests.textcalls import CallSpec

MISLABELED = "r-mislabeled"

_DELIVERY = [
    "The courier left my parcel at the wrong house and nobody picks it up.",
    "My package was supposed to arrive on Monday and the tracking has not moved for a week.",
    "The delivery driver never came, the parcel is still at the depot.",
    "Where is my order? The shipment is late and the courier does not answer.",
    "The tracking number says delivered but I never received the package at my door.",
]
_REFUND = [
    "I returned the blender three weeks ago and the money never came back.",
    "I want a refund for the broken headphones, please send the money to my card.",
    "You charged me twice for one order, I need the extra payment refunded.",
    "I cancelled the subscription and I am still waiting for my refund.",
    "The refund for the returned jacket has not reached my bank account yet.",
]
_ACCOUNT = [
    "I cannot log in, the app says my password is wrong.",
    "My account is locked after too many login attempts, please unlock it.",
    "I want to change the email address on my account profile.",
    "The password reset link does not work, I still cannot sign in.",
    "Someone else logged into my account, please secure it and reset my password.",
]
_REPLY = {
    "delivery_delay": "I'm sorry about the delivery. I will call the courier and call you back "
    "tomorrow before noon.",
    "refund": "The refund was issued today, it takes five business days to reach your card.",
    "account": "I have sent you a reset link by email, it is valid for one hour.",
}


def calls() -> dict[str, CallSpec]:
    out: dict[str, CallSpec] = {}
    for prefix, label, texts in (
        ("d", "delivery_delay", _DELIVERY),
        ("r", "refund", _REFUND),
        ("a", "account", _ACCOUNT),
    ):
        for i, text in enumerate(texts):
            day = f"2026-10-{10 + i:02d}"
            out[f"{prefix}{i}"] = (
                [label],
                day,
                [
                    ("agent", "Thanks for calling, how can I help?"),
                    ("customer", text),
                    ("agent", _REPLY[label]),
                ],
            )
    out[MISLABELED] = (
        ["delivery_delay"],
        "2026-10-20",
        [
            ("agent", "Thanks for calling, how can I help?"),
            (
                "customer",
                "I sent the shoes back and I still have not got my refund, I want my money.",
            ),
            ("agent", _REPLY["refund"]),
        ],
    )
    return out
