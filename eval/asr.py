"""``callscope eval asr``: word/character error rate and real-time factor of the product's
transcriber on a manifest of recordings with reference transcripts, optionally beside plain
``faster_whisper.WhisperModel.transcribe`` on the same files in the same run.

Manifest: JSONL, one row per scored stream::

    {"audio": "calls/a.mp3", "text": "reference words", "language": "en", "channel": 0}

``audio`` is relative to the manifest's folder (or absolute); ``language`` (``en``/``zh``) picks
WER or CER and is guessed from the reference when missing; ``channel`` (0 = left, 1 = right)
scores one side of a stereo call against a reference of that side only.

Timing: *ours* transcribes each recording once, both channels, exactly as ingest does, so rows
of the same file share one processing time; *plain* decodes each row on its own. RTF totals are
processing seconds over the seconds of the distinct recordings each side scored, so a manifest
that lists both channels of a call compares like with like (both sides decode both channels).
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core import bundled
from app.core.config import BUNDLED_WHISPER, Settings
from app.core.digest import file_sha256
from app.core.errors import AudioError, ConfigError, InputError, TranscriptionError
from app.core.models import Transcript
from app.core.text import has_cjk, normalize
from app.runtime import Runtime
from ingest.transcribe import Transcriber

log = logging.getLogger(__name__)

METRIC = {"en": "wer", "zh": "cer"}
#: Deleted rather than turned into a space, so "I'm" and "im" stay one word on both sides.
_APOSTROPHES = frozenset("'\u2019")


# -- normalisers and metrics ---------------------------------------------------------------


def _is_punct(char: str) -> bool:
    # Unicode punctuation (P*) and symbols (S*: "$", "&", "%"): whisper writes them
    # inconsistently ("$389" vs "389"), and they are not what a listener hears as words.
    return unicodedata.category(char)[0] in "PS"


def normalize_en(text: str) -> list[str]:
    """English words: lower-cased, punctuation and symbols stripped, split on whitespace."""
    text = unicodedata.normalize("NFKC", text).lower()
    kept = "".join("" if c in _APOSTROPHES else " " if _is_punct(c) else c for c in text)
    return kept.split()


def normalize_zh(text: str) -> list[str]:
    """Chinese characters: Simplified (whisper often writes Traditional, and the reference may be
    either), punctuation, symbols and whitespace stripped, one token per character."""
    # app.core.text.normalize converts with opencc (a dependency of the product) when the text
    # holds CJK: the same conversion ingest applies to our side, applied here to both sides so
    # the script a model chose never counts as an error.
    text = unicodedata.normalize("NFKC", normalize(text)).lower()
    return [c for c in text if not c.isspace() and not _is_punct(c)]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance over tokens (substitutions + deletions + insertions). Two rows of
    the table, O(len(ref) * len(hyp)) time: fine for call-length references."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def _rate(ref: list[str], hyp: list[str]) -> float:
    # An empty reference has no error rate (run() rejects such rows); here it scores 0 when
    # the hypothesis is empty too and 1 otherwise, rather than dividing by zero.
    return edit_distance(ref, hyp) / len(ref) if ref else float(bool(hyp))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of one English hypothesis (edits / reference words)."""
    return _rate(normalize_en(reference), normalize_en(hypothesis))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of one Chinese hypothesis (edits / reference characters)."""
    return _rate(normalize_zh(reference), normalize_zh(hypothesis))


def tokens(language: str, text: str) -> list[str]:
    """The scored units of ``text``: words for English, characters for Chinese."""
    return normalize_zh(text) if language == "zh" else normalize_en(text)


# -- the manifest --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    line: int
    audio: str
    path: Path
    channel: int | None
    language: str
    reference: list[str]


def _parse_row(line: int, raw: str, base: Path) -> _Row:
    """One manifest line, or ValueError with the reason (a per-row error, not a crash)."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    audio, text = data.get("audio"), data.get("text")
    if not isinstance(audio, str) or not audio.strip():
        raise ValueError("missing audio path")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("missing reference text")
    channel = data.get("channel")
    if channel is not None and (isinstance(channel, bool) or channel not in (0, 1)):
        raise ValueError(f"channel must be 0 (left) or 1 (right), not {channel!r}")
    language = data.get("language") or ("zh" if has_cjk(text) else "en")
    language = str(language).lower().split("-")[0]
    if language not in METRIC:
        raise ValueError(f"language must be en or zh, not {data.get('language')!r}")
    reference = tokens(language, text)
    if not reference:
        raise ValueError("reference text is empty after normalisation")
    path = Path(audio).expanduser()
    return _Row(
        line, audio, path if path.is_absolute() else base / path, channel, language, reference
    )


def _read_manifest(manifest: Path) -> list[_Row | dict[str, Any]]:
    """Rows to score, and error rows (dicts) for lines that cannot be scored."""
    if not manifest.is_file():
        raise InputError(f"{manifest}: no such manifest file")
    rows: list[_Row | dict[str, Any]] = []
    base = manifest.resolve().parent
    for n, raw in enumerate(manifest.read_text("utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            rows.append(_parse_row(n, raw, base))
        except ValueError as exc:
            rows.append(_error_row(n, raw, str(exc)))
    if not rows:
        raise InputError(f"{manifest}: the manifest has no rows")
    return rows


def _error_row(line: int, raw: str | _Row, error: str) -> dict[str, Any]:
    if isinstance(raw, _Row):
        return {"line": line, "audio": raw.audio, "channel": raw.channel, "error": error}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        data = None
    audio = data.get("audio") if isinstance(data, dict) else None
    channel = data.get("channel") if isinstance(data, dict) else None
    return {"line": line, "audio": audio, "channel": channel, "error": error}


# -- the two transcribers ------------------------------------------------------------------


def hypothesis(transcript: Transcript, channel: int | None, speakers: tuple[str, str]) -> str:
    """The text of a transcript (or of one channel's speaker), its turns in time order.

    The Transcriber names the left channel's turns ``speakers[0]`` and the right's
    ``speakers[1]``; a recording it found to be mono (or the same signal on both channels)
    carries neither name, and then its whole text is that channel's text."""
    turns = sorted(transcript.turns, key=lambda t: t.start or 0.0)
    if channel is not None and any(t.speaker in speakers for t in turns):
        turns = [t for t in turns if t.speaker == speakers[channel]]
    return " ".join(t.text for t in turns)


class _Plain:
    """Plain faster-whisper: the same model files and compute type as ours, every other
    option at its default (beam 5, no VAD, language detection, stereo downmixed)."""

    def __init__(self, settings: Settings) -> None:
        from faster_whisper import WhisperModel

        s = settings.whisper
        started = time.perf_counter()
        try:
            if s.model == BUNDLED_WHISPER:
                self.model = WhisperModel(
                    str(bundled.whisper_base_dir(settings.paths.models)),
                    device="cpu",
                    compute_type=s.compute_type,
                )
            else:  # a named model: only from the models dir, a baseline never downloads
                self.model = WhisperModel(
                    s.model,
                    device="cpu",
                    compute_type=s.compute_type,
                    download_root=str(settings.paths.models),
                    local_files_only=True,
                )
        except Exception as exc:  # CTranslate2/HF raise many unrelated types here
            raise ConfigError(
                f"cannot load whisper model {s.model!r} for --baseline: {exc}"
            ) from exc
        self.load_seconds = time.perf_counter() - started

    def transcribe(self, path: Path, channel: int | None) -> str:
        from faster_whisper import decode_audio

        source: Any = str(path)
        if channel is not None:
            # split_stereo upmixes a mono file, so both channels of a mono file are its audio.
            source = decode_audio(str(path), split_stereo=True)[channel]
        segments, _ = self.model.transcribe(source)
        return " ".join(s.text.strip() for s in segments)  # segments is lazy: this decodes


# -- the run -------------------------------------------------------------------------------


def _side(score: dict[str, Any], seconds: float, audio_seconds: float, text: str) -> dict:
    return {
        **score,
        "seconds": round(seconds, 3),
        "rtf": round(seconds / audio_seconds, 4) if audio_seconds else None,
        "hypothesis": text,
    }


def _score(row: _Row, text: str) -> dict[str, Any]:
    edits = edit_distance(row.reference, tokens(row.language, text))
    return {"edits": edits, METRIC[row.language]: round(edits / len(row.reference), 4)}


def _totals(rows: list[dict[str, Any]], side: str, load_seconds: float) -> dict[str, Any]:
    """Corpus-level rates (total edits / total reference tokens, not a mean of row rates)
    and RTF over the distinct recordings this side scored."""
    scored = [r for r in rows if isinstance(r.get(side), dict) and "edits" in r[side]]
    out: dict[str, Any] = {"rows": len(scored)}
    for language, metric in METRIC.items():
        mine = [r for r in scored if r["language"] == language]
        ref = sum(r["ref_tokens"] for r in mine)
        edits = sum(r[side]["edits"] for r in mine)
        out[metric] = round(edits / ref, 4) if ref else None
        out[f"{metric}_edits"], out[f"{metric}_ref_tokens"] = edits, ref
    audio = {r["file"]: r["audio_seconds"] for r in scored}
    if side == "ours":  # one transcription per recording, shared by its rows
        seconds = sum({r["file"]: r[side]["seconds"] for r in scored}.values())
    else:
        seconds = sum(r[side]["seconds"] for r in scored)
    out["seconds"] = round(seconds, 3)
    out["audio_seconds"] = round(sum(audio.values()), 3)
    out["rtf"] = round(seconds / out["audio_seconds"], 4) if out["audio_seconds"] else None
    out["load_seconds"] = round(load_seconds, 3)
    return out


def run(settings: Settings, manifest: Path, baseline: bool = False) -> dict[str, Any]:
    """Score every manifest row; returns the summary the CLI prints (and ``--json`` emits).

    Bad rows (unreadable line, missing text, missing or undecodable audio) come back as rows
    with an ``error``; only a missing/empty manifest or a model that cannot load stops the run.
    """
    started = time.perf_counter()
    parsed = _read_manifest(manifest)
    out_rows: list[dict[str, Any]] = []
    ours_load = 0.0
    plain: _Plain | None = None
    # A throwaway state dir: ingest's transcript cache must neither serve these files (RTF
    # would be the time of a JSON read) nor keep them. The models dir is the real one, so the
    # bundled model is assembled only once.
    with tempfile.TemporaryDirectory(prefix="callscope-asr-") as tmp:
        run_settings = settings.with_changes(
            paths={"state_dir": Path(tmp), "models_dir": settings.paths.models}
        )
        with Runtime(run_settings) as runtime:
            transcriber = runtime.transcriber()
            speakers = run_settings.whisper.channel_speakers
            done: dict[Path, tuple[Transcript, list[str], float] | str] = {}
            for i, row in enumerate(parsed, 1):
                log.info("asr eval: row %d of %d", i, len(parsed))
                if isinstance(row, dict):
                    out_rows.append(row)
                    continue
                key = row.path.resolve()
                if key not in done and not row.path.is_file():
                    done[key] = f"{row.path}: no such file"
                elif key not in done:
                    if transcriber._model is None:  # noqa: SLF001 - model load is not RTF
                        t0 = time.perf_counter()
                        transcriber._load()  # noqa: SLF001
                        ours_load = time.perf_counter() - t0
                    done[key] = _transcribe_ours(transcriber, row.path)
                result = done[key]
                if isinstance(result, str):
                    out_rows.append(_error_row(row.line, row, result))
                    continue
                transcript, warnings, seconds = result
                audio_seconds = float(transcript.duration or 0.0)
                text = hypothesis(transcript, row.channel, speakers)
                entry: dict[str, Any] = {
                    "line": row.line,
                    "audio": row.audio,
                    "file": str(key),
                    "channel": row.channel,
                    "language": row.language,
                    "metric": METRIC[row.language],
                    "ref_tokens": len(row.reference),
                    "audio_seconds": round(audio_seconds, 3),
                    "ours": _side(_score(row, text), seconds, audio_seconds, text),
                    "warnings": warnings,
                    "error": None,
                }
                if baseline:
                    if plain is None:
                        plain = _Plain(run_settings)
                    entry["plain"] = _transcribe_plain(plain, row, audio_seconds)
                out_rows.append(entry)
            model_id = transcriber.model_id

    scored = [r for r in out_rows if not r.get("error")]
    summary: dict[str, Any] = {
        "manifest": str(manifest),
        "model": model_id,
        "compute_type": settings.whisper.compute_type,
        "n_rows": len(out_rows),
        "n_scored": len(scored),
        "n_errors": len(out_rows) - len(scored),
        "n_files": len({r["file"] for r in scored}),
        "audio_seconds": round(sum({r["file"]: r["audio_seconds"] for r in scored}.values()), 3),
        "ours": _totals(scored, "ours", ours_load),
    }
    if baseline:
        summary["plain"] = _totals(scored, "plain", plain.load_seconds if plain else 0.0)
        ours_rtf, plain_rtf = summary["ours"]["rtf"], summary["plain"]["rtf"]
        # Above 1: ours takes longer per audio second than plain faster-whisper.
        summary["rtf_ours_over_plain"] = (
            round(ours_rtf / plain_rtf, 3) if ours_rtf and plain_rtf else None
        )
    summary["wall_seconds"] = round(time.perf_counter() - started, 3)
    summary["rows"] = out_rows
    return summary


def _transcribe_ours(
    transcriber: Transcriber, path: Path
) -> tuple[Transcript, list[str], float] | str:
    """The product's transcription of one recording, timed; or the reason it failed."""
    try:
        audio_hash = file_sha256(path)  # the cache key ingest uses; not part of the timing
        t0 = time.perf_counter()
        transcript, warnings = transcriber.transcribe(path, audio_hash)
        return transcript, warnings, time.perf_counter() - t0
    except (AudioError, TranscriptionError, OSError) as exc:
        return str(exc)


def _transcribe_plain(plain: _Plain, row: _Row, audio_seconds: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        text = plain.transcribe(row.path, row.channel)
    except Exception as exc:  # PyAV and CTranslate2 raise many unrelated types
        return {"error": f"plain faster-whisper failed: {exc}"}
    return _side(_score(row, text), time.perf_counter() - t0, audio_seconds, text)
