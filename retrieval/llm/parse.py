"""The JSON object in a model's text answer, however the model wrapped it.

Servers without structured output (and models that ignore it) answer with prose around the
JSON, a ``` fence, or a reasoning preamble; the JSON path of ``LLMClient`` reads all of them
rather than paying for another request.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)
# Reasoning models (DeepSeek-R1, Qwen3) think aloud before answering; braces in there are noise.
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_MAX_OBJECT_STARTS = 64


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a model's text: whole text, a ``` fence, or embedded in prose."""
    text = _THINK.sub("", text).strip()
    for candidate in [text, *(m.group(1).strip() for m in _FENCE.finditer(text))]:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    starts = [i for i, ch in enumerate(text) if ch == "{"][:_MAX_OBJECT_STARTS]
    for start in starts:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None
