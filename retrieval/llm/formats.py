"""The forms a JSON answer can be asked for, strictest first, and how each is sent.

OpenAI and vLLM take ``json_schema``; llama.cpp's server refuses it but compiles a schema given
inside ``json_object`` into a grammar (so an enum of labels holds); older servers take plain
``json_object``; the rest get no ``response_format`` and a tolerant parse of the text.
"""

from __future__ import annotations

from typing import Any, Literal

Mode = Literal["json_schema", "json_object_schema", "json_object", "text"]
MODES: tuple[Mode, ...] = ("json_schema", "json_object_schema", "json_object", "text")


def modes_to_try(fixed: Mode | None, known: Mode | None) -> tuple[Mode, ...]:
    """A mode set in the settings alone; else the one the endpoint took before, then the others
    (another server may sit behind the same address now); else all, strictest first."""
    if fixed is not None:
        return (fixed,)
    if known is not None:
        return (known, *(m for m in MODES if m != known))
    return MODES


def response_format(mode: Mode, schema: dict, schema_name: str) -> dict[str, Any]:
    """The ``response_format`` argument of a mode (none in text mode)."""
    if mode == "json_schema":
        strict = {"name": schema_name, "schema": schema, "strict": True}
        return {"response_format": {"type": "json_schema", "json_schema": strict}}
    if mode == "json_object_schema":
        # llama.cpp's server (llama-cpp-python) compiles this schema into a grammar.
        return {"response_format": {"type": "json_object", "schema": schema}}
    if mode == "json_object":
        return {"response_format": {"type": "json_object"}}
    return {}
