"""Plain data passed between the ingest stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

SourceKind = Literal["audio", "transcript", "text"]


@dataclass(frozen=True)
class Turn:
    """One speaker's uninterrupted stretch of a call. Times are seconds from the call start,
    ``None`` for text transcripts that carry no timing."""

    speaker: str
    text: str
    start: float | None = None
    end: float | None = None
    #: The date of the session this turn belongs to, as the source wrote it (a call that holds
    #: several contacts over days); None = the call's own date.
    date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["date"] is None:
            del data["date"]  # transcripts without sessions stay as they were
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        return cls(
            speaker=str(data.get("speaker") or "speaker"),
            text=str(data.get("text") or ""),
            start=_opt_float(data.get("start")),
            end=_opt_float(data.get("end")),
            date=str(data["date"]) if data.get("date") not in (None, "") else None,
        )


#: One run of one speaker's speech without a pause: (speaker, start s, end s, words in it).
Speech = tuple[str, float, float, int]

#: How a call's speakers were found: one per channel of a stereo recording; told apart by
#: voice in a mono one; not separable by voice (one speaker kept); or as a transcript named them.
SpeakerSource = Literal["channels", "voices", "uncertain", "mono", "transcript"]


@dataclass
class Transcript:
    """A whole call as speaker turns."""

    turns: list[Turn]
    language: str | None = None
    duration: float | None = None
    speaker_source: SpeakerSource | None = None
    #: Finer than turns: every pause-free run of speech with its word count, from word timings
    #: (recordings only). What conversation metrics (silence, overtalk, speech rate) are
    #: measured from; turns join a speaker's runs across short pauses.
    speech: list[Speech] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "turns": [t.to_dict() for t in self.turns],
            "language": self.language,
            "duration": self.duration,
        }
        if self.speaker_source:
            data["speaker_source"] = self.speaker_source
        if self.speech:
            data["speech"] = [list(s) for s in self.speech]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        return cls(
            turns=[Turn.from_dict(t) for t in data.get("turns", [])],
            language=data.get("language"),
            duration=_opt_float(data.get("duration")),
            speaker_source=data.get("speaker_source"),
            speech=[
                (str(s[0]), float(s[1]), float(s[2]), int(s[3])) for s in data.get("speech") or []
            ],
        )


#: Where a call's date came from, stored beside it as ``date_source`` (see ``CallSource``).
DATE_SOURCES = ("call", "file", "upload")


@dataclass
class CallSource:
    """One input to ingest: a recording, a transcript file, or inline turns from a label file.

    ``origin`` says where it came from (a path, or ``labels.csv:12``) for messages and the ledger.
    """

    call_id: str
    kind: SourceKind
    origin: str
    path: Path | None = None
    transcript: Transcript | None = None
    labels: list[str] = field(default_factory=list)
    date: str | None = None
    #: Where ``date`` came from (:data:`DATE_SOURCES`): ``call`` (given by the import, the
    #: manifest, the upload or the transcript itself), ``file`` (the time of a file read from
    #: disk that came without one) or ``upload`` (the time it was uploaded, for an upload that
    #: came without one); None = ``call``.
    date_source: str | None = None
    split: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: Call metadata (agent, team, queue, direction, tags, as declared in
    #: ``ingest.metadata_fields``): stored as filterable payload.
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Who the agent is when the import knows better than the voices (``ingest.roles``):
    #: ``first``/``second`` speaker, ``swap`` the decided roles; None = as decided.
    agent_speaker: str | None = None
    #: Domain terms this import's recordings are listened for (product, plan and place names),
    #: added to the deployment's ``whisper.hotwords``.
    hotwords: tuple[str, ...] = ()


def _opt_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


@dataclass(frozen=True)
class Columns:
    """Which column holds what. ``None`` means "the usual name, if the file has it" (``id``,
    ``text``/``turns``/``transcript``, ``audio``, ``label``/``labels``/``category``/``intent``); a
    name given explicitly must exist."""

    id: str | None = None
    text: str | None = None
    audio: str | None = None
    label: str | None = None
    label_sep: str = ";"
    #: Metadata columns kept as filterable payload when the file has them
    #: (``ingest.metadata_fields``: agent, team, queue, direction, tags).
    metadata: tuple[str, ...] = ()


#: What became of one input to ingest.
IngestStatus = Literal["indexed", "unchanged", "failed"]


@dataclass
class IngestResult:
    """What happened to one input."""

    call_id: str
    origin: str
    status: IngestStatus
    #: Turn points stored for the call (one per turn, or per piece of a long turn).
    turn_points: int = 0
    seconds_audio: float | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TurnRef:
    """A cited turn: its number as in the prompt (1 = the first turn of the transcript)."""

    turn: int
    start: float | None
    end: float | None
    speaker: str
    text: str


@dataclass(frozen=True)
class SummaryPoint:
    """One point of a summary and the turns it rests on."""

    text: str
    citations: list[TurnRef]
    #: Cited values that name no turn the model was shown, as given (dropped from citations).
    invalid: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FollowUp(SummaryPoint):
    """A promised later action."""

    #: Who promised it, as the model read it from the call ("" when not said).
    by: str = ""
    #: When it is due, as said in the call ("" when not said).
    due: str = ""
