"""Helpers every CallScope prompt shares: classification, label review and Q&A.

Transcripts are untrusted text from the public (a caller can say "ignore previous
instructions"), so every prompt quotes them as data inside tags (``<call>``, ``<example>``,
``<passage>``). ``neutralize`` and ``quote_attr`` defuse anything in them that looks like a tag
or could close an attribute, so a transcript cannot end its block and speak as us. The token
helpers keep prompts within a budget and estimate usage when a server reports none; they count
with tiktoken, the same way for every prompt, so budgets and estimates agree.
"""

from __future__ import annotations

import re

import tiktoken

from app.core.text import encoding

#: The encoding used when a caller names none (the chunker's default, close for most models).
DEFAULT_ENCODING = "cl100k_base"
#: Per-message framing tokens of the chat format (OpenAI's counting recipe), and the reply primer.
PER_MESSAGE_TOKENS = 4
PRIMER_TOKENS = 3

# A "<" that could open a tag or a chat-template token (</call>, <example, <|im_end|>, <!--).
_TAG_OPEN = re.compile(r"<(?=\s*[/!?|A-Za-z])")
#: The head of a trimmed text gets this share: the reason for a call is usually stated early,
#: how it ended at the end.
_HEAD_SHARE = 0.6


def neutralize(text: str) -> str:
    """Defuse tag-like ``<`` in quoted data (``</call>`` becomes ``‹/call>``)."""
    return _TAG_OPEN.sub("\u2039", text)


def quote_attr(value: str) -> str:
    """``value`` made safe inside a double-quoted tag attribute, on one line."""
    return " ".join(value.split()).replace('"', "'").replace("<", "\u2039").replace(">", "\u203a")


def count_prompt_tokens(messages: list[dict], encoding_name: str = DEFAULT_ENCODING) -> int:
    """Prompt tokens of chat messages as tiktoken counts them, with the chat-format framing."""
    enc = encoding(encoding_name)
    per_message = (len(enc.encode(str(m["content"]))) + PER_MESSAGE_TOKENS for m in messages)
    return sum(per_message) + PRIMER_TOKENS


def count_text_tokens(text: str, encoding_name: str = DEFAULT_ENCODING) -> int:
    """Tokens of a plain text (a model's answer) as tiktoken counts them."""
    return len(encoding(encoding_name).encode(text)) if text else 0


def trim_middle(text: str, max_tokens: int, enc: tiktoken.Encoding) -> str:
    """``text`` cut to ``max_tokens`` by keeping its head and tail around a marker."""
    ids = enc.encode(text)
    if len(ids) <= max_tokens:
        return text
    marker = f"\n[... {len(ids)} tokens in all, middle omitted ...]\n"
    keep = max(max_tokens - len(enc.encode(marker)), 2)
    head = max(int(keep * _HEAD_SHARE), 1)
    tail = max(keep - head, 1)
    # A cut inside a multi-byte character decodes to U+FFFD; drop those halves.
    head_text = enc.decode(ids[:head]).rstrip().rstrip("\ufffd")
    return head_text + marker + enc.decode(ids[-tail:]).lstrip("\ufffd").lstrip()
