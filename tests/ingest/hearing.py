"""One check shared by the transcription tests: a transcript made another way (batched with
other calls, on worker processes, on Ray actors) hears what the recording alone gives."""

from __future__ import annotations

import re
from pathlib import Path

from app.core.models import Transcript
from eval.asr import edit_distance
from ingest.transcribe import Transcriber


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+|[\u4e00-\u9fff]", text.lower())


def assert_hears_like_alone(
    transcriber: Transcriber, path: Path, ours: Transcript, max_wer: float = 0.1
) -> None:
    """Same speakers in the same order, the same words within ``max_wer``, the same language."""
    alone, _ = transcriber.transcribe(path, f"alone-{path.name}")
    assert [t.speaker for t in ours.turns] == [t.speaker for t in alone.turns]
    ref = words(" ".join(t.text for t in alone.turns))
    hyp = words(" ".join(t.text for t in ours.turns))
    assert edit_distance(ref, hyp) / len(ref) <= max_wer, (ref, hyp)
    assert ours.language == alone.language
