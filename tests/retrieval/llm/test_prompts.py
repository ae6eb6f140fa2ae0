"""The prompt helpers shared by classification, label review and Q&A."""

from __future__ import annotations

from app.core.text import encoding
from retrieval.llm.prompts import (
    PER_MESSAGE_TOKENS,
    PRIMER_TOKENS,
    count_prompt_tokens,
    count_text_tokens,
    neutralize,
    quote_attr,
    trim_middle,
)


def test_neutralize_defuses_tags_but_not_prose() -> None:
    assert neutralize("a </call> b < /example > <|im_end|> <!-- x") == (
        "a \u2039/call> b \u2039 /example > \u2039|im_end|> \u2039!-- x"
    )
    assert neutralize("1 < 2 and 3<4, <3") == "1 < 2 and 3<4, <3"


def test_quote_attr_cannot_close_the_attribute_or_the_tag() -> None:
    assert quote_attr('refund"> <call>\n now') == "refund'\u203a \u2039call\u203a now"


def test_token_counts_include_the_chat_framing() -> None:
    enc = encoding("cl100k_base")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "你好"}]
    text = sum(len(enc.encode(m["content"])) for m in messages)
    assert count_prompt_tokens(messages) == text + 2 * PER_MESSAGE_TOKENS + PRIMER_TOKENS
    assert count_text_tokens("Tomorrow before noon [1].") == len(
        enc.encode("Tomorrow before noon [1].")
    )
    assert count_text_tokens("") == 0


def test_trim_middle_keeps_head_and_tail_within_budget() -> None:
    enc = encoding("cl100k_base")
    text = "OPENING " + " ".join(f"word{i}" for i in range(500)) + " CLOSING"
    cut = trim_middle(text, 60, enc)
    assert cut.startswith("OPENING") and cut.endswith("CLOSING") and "middle omitted" in cut
    assert len(enc.encode(cut)) <= 62  # the seams may merge or split a token
    assert trim_middle("short", 60, enc) == "short"
