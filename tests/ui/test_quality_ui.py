"""Why a turn counts, on a Chinese page: every reason the rules give (said, means, silence,
and several joined) said in Chinese, the words and examples kept as they are; an English page
keeps the rules' own words."""

from __future__ import annotations

import re

from retrieval.inspection import CallView, TurnView, evaluate, parse_rule
from ui.quality import evidence_text, why_words

CALL = CallView(
    "c",
    [
        TurnView(0, "agent", "Hello, 您好。", 0.0, 2.0),
        TurnView(1, "customer", "我要投诉 refund", 40.0, 44.0),
    ],
)


def test_every_reason_is_said_in_chinese() -> None:
    rule = parse_rule({"name": "r", "when": {"all": [
        {"said": {"any": ["hello", "您好"]}},
        {"said": {"speaker": "customer", "any": ["投诉"]}},
        {"meaning": {"examples": ["I want to complain"], "min_similarity": 0.1}},
        {"silence": {"waiting": "any", "min_seconds": 30}},
    ]}})  # fmt: skip
    CALL.similarity = lambda examples: {1: (0.5, examples[0])}
    found = evaluate(rule, CALL)
    assert found.matched and len(found.evidence) == 2
    zh = evidence_text(found, "zh-CN")
    # Left in English: only what the rule looked for (the words and the example).
    assert re.findall(r"[A-Za-z]+", zh) == ["hello", "I", "want", "to", "complain"], zh
    assert "说了“hello”、“您好”" in zh and "此句前静音 38 秒" in zh and "（相似度 0.50）" in zh
    assert zh.startswith("第 0 句 ") and "；" in zh
    assert evidence_text(found, "en") == " · ".join(f"T{e.turn} {e.why}" for e in found.evidence)


def test_a_reason_not_known_is_shown_as_it_is() -> None:
    assert why_words("matched by hand", "zh-CN") == "matched by hand"
