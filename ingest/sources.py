"""Finding inputs on disk and reading transcript files into turns.

Accepted: recordings (see :data:`ingest.audio.AUDIO_EXTENSIONS`) and transcripts as ``.txt``
(``Speaker: text`` lines, optionally ``[mm:ss]``-stamped; plain prose becomes one speaker's
turns) or ``.json`` (``{"turns": [{"speaker", "text", "start"?, "end"?}], ...}``, a bare list of
turns, or ``{"text": ...}``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from app.core.errors import InputError
from app.core.models import CallSource, Transcript, Turn
from app.core.names import AUDIO_EXTENSIONS, SUPPORTED, safe_call_id
from app.core.text import labels_from, normalize

# "[01:02] Agent: hello", "客户：你好", "Customer - hi". A speaker name is short and has no
# sentence punctuation, so "Note: the parcel..." in prose is not mistaken for long.
_TURN = re.compile(
    r"^\s*(?:\[(?P<ts>\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?)\]\s*)?"
    r"(?P<speaker>[^\s:：\-\[\]][^:：\[\]]{0,23}?)\s*[:：]\s*(?P<text>.+)$"
)


#: Chinese role names mapped to the English ones filters and the UI use.
_SPEAKER_ALIASES = {
    "坐席": "agent",
    "客服": "agent",
    "客户": "customer",
    "顾客": "customer",
    "用户": "customer",
    "caller": "customer",
    "client": "customer",
    "representative": "agent",
    "rep": "agent",
}


def speaker_name(raw: str) -> str:
    name = raw.strip().lower() or "speaker"
    return _SPEAKER_ALIASES.get(name, name)


def discover(paths: Iterable[Path]) -> tuple[list[CallSource], list[tuple[str, str]]]:
    """Expand files and folders into call sources; problems come back as (origin, message)."""
    sources: list[CallSource] = []
    errors: list[tuple[str, str]] = []
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            errors.append((str(path), "no such file or folder"))
        elif path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in SUPPORTED
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.suffix.lower() not in SUPPORTED:
            errors.append(
                (
                    str(path),
                    f"unsupported file type {path.suffix or '(none)'!r}; expected one of "
                    + ", ".join(sorted(SUPPORTED)),
                )
            )
        else:
            files.append(path)

    seen: dict[str, Path] = {}
    for path in files:
        call_id = call_id_for(path, seen)
        if path.suffix.lower() in AUDIO_EXTENSIONS:
            sources.append(CallSource(call_id=call_id, kind="audio", origin=str(path), path=path))
            continue
        try:
            transcript, meta = read_transcript(path)
        except InputError as exc:
            errors.append((str(path), str(exc)))
            continue
        sources.append(
            CallSource(
                call_id=str(meta.get("id") or call_id),
                kind="transcript",
                origin=str(path),
                path=path,
                transcript=transcript,
                labels=labels_from(meta.get("labels") or meta.get("label")),
                date=meta.get("date"),
                split=meta.get("split"),
            )
        )
    return sources, errors


def call_id_for(path: Path, seen: dict[str, Path]) -> str:
    """The file name without extension, which is how staff refer to a call (made safe:
    ``app.core.names.safe_call_id``); made unique with a short path hash when two folders hold
    the same name."""
    call_id = safe_call_id(path.stem)
    if call_id in seen and seen[call_id] != path:
        call_id = f"{call_id}-{hashlib.sha1(str(path).encode()).hexdigest()[:6]}"
    seen[call_id] = path
    return call_id


def read_transcript(path: Path) -> tuple[Transcript, dict[str, Any]]:
    """Parse a .txt or .json transcript; raises :class:`InputError` when unusable."""
    try:
        raw = path.read_text("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text") from exc
    if not raw.strip():
        raise InputError(f"{path}: empty transcript")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from exc
        return transcript_from_json(data, str(path))
    return Transcript(turns=parse_text_turns(raw)), {}


def transcript_from_json(data: Any, origin: str) -> tuple[Transcript, dict[str, Any]]:
    meta: dict[str, Any] = {}
    if isinstance(data, dict):
        meta = {k: v for k, v in data.items() if k not in ("turns", "text")}
        if isinstance(data.get("turns"), list):
            turns_data = data["turns"]
        elif isinstance(data.get("text"), str):
            return Transcript(
                turns=parse_text_turns(data["text"]), language=data.get("language")
            ), meta
        else:
            raise InputError(f"{origin}: JSON transcript needs a 'turns' list or a 'text' string")
    elif isinstance(data, list):
        turns_data = data
    else:
        raise InputError(f"{origin}: JSON transcript must be an object or a list of turns")
    turns = []
    for i, item in enumerate(turns_data):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise InputError(f"{origin}: turn {i} needs a 'text' string")
        try:
            turn = Turn.from_dict(item)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{origin}: turn {i} has a bad start/end time") from exc
        turns.append(Turn(speaker_name(turn.speaker), normalize(turn.text), turn.start, turn.end))
    turns = [t for t in turns if t.text]
    if not turns:
        raise InputError(f"{origin}: transcript has no text")
    return Transcript(
        turns=turns, language=data.get("language") if isinstance(data, dict) else None
    ), meta


def parse_text_turns(text: str) -> list[Turn]:
    """``Speaker: text`` lines become turns; unprefixed lines continue the previous turn;
    text with no speaker prefixes at all becomes one turn per paragraph."""
    turns: list[Turn] = []
    for line in text.splitlines():
        line = normalize(line)
        if not line:
            continue
        match = _TURN.match(line)
        if match:
            start = _seconds(match["ts"]) if match["ts"] else None
            turns.append(Turn(speaker_name(match["speaker"]), match["text"].strip(), start))
        elif turns:
            last = turns[-1]
            turns[-1] = Turn(last.speaker, f"{last.text} {line}", last.start, last.end)
        else:
            turns.append(Turn("speaker", line))
    if not turns:
        raise InputError("transcript has no text")
    return turns


def _seconds(stamp: str) -> float:
    total = 0.0
    for part in stamp.split(":"):
        total = total * 60 + float(part)
    return total
