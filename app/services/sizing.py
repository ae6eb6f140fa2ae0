"""Hardware for a weekly volume, planned from a batch run measured on a real machine
(``callscope sizing``).

A run's ``summary.json`` says how long each stage of that invocation took (``stage_seconds``),
how much new work it did (``new_calls``, ``new_audio_hours``) and on what (``machine``). From it:
transcription costs wall seconds per audio hour, index and classify (and the rest of the run:
reading inputs, writing results) seconds per call. Transcription is spread over worker
processes or Ray actors, so more cores shorten it; index and classify run in the one driver
process, so they take as long on ten machines as on one and are counted apart.

Nothing here measures anything or guesses a speed factor: a GPU, another model or another
machine is sized only from a run measured there.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from app.core.errors import ConfigError, InputError
from app.runtime import Runtime
from app.services.batch_run import batches_dir

#: Default window: the batch may run around the clock for a working week (24 h × 5 days).
WINDOW_HOURS = 24.0 * 5
#: The worked example under the table: the first customer runs two 8-core servers.
SERVER_CORES = 8
CUSTOMER_SERVERS = 2

TRANSCRIBE = "transcribe"
#: The run's seconds outside every timed stage (reading and hashing inputs, the ledger,
#: writing results): paid per call, in the driver.
OTHER = "other"

_ORDER = {TRANSCRIBE: 0, "index": 1, "classify": 2}

_SAMPLE_HINT = (
    "run `callscope batch` on a sample first (a few dozen calls like the real ones), "
    "or pass --summary PATH"
)


@dataclass(frozen=True)
class MeasuredRun:
    """A batch run's summary and where it came from."""

    run: str
    path: Path
    #: When the summary was written (the file's modification time).
    written: datetime
    summary: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> MeasuredRun:
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"no run summary at {path}: {_SAMPLE_HINT}") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"{path} is not a readable run summary ({exc})") from exc
        if not isinstance(summary, dict):
            raise InputError(f"{path} is not a run summary (not a JSON object)")
        written = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
        return cls(path.parent.name, path, written, summary)


@dataclass(frozen=True)
class Stage:
    """One stage of the weekly volume on the measured machine."""

    name: str
    #: Seconds per ``per`` on the measured machine.
    rate: float
    per: str
    #: Wall hours of the weekly volume on the measured machine.
    wall_hours: float
    #: ``wall_hours`` × the measured machine's cores.
    core_hours: float
    #: Spread over transcription workers (more cores or machines shorten it); False: the one
    #: driver process.
    scales: bool


@dataclass(frozen=True)
class Sizing:
    """The plan for a weekly volume; ``to_dict`` is what ``callscope sizing --json`` prints."""

    calls: int
    minutes: float
    audio_hours: float
    window_hours: float
    stages: list[Stage]
    #: The whole weekly volume on the measured machine.
    wall_hours: float
    #: The driver's part (every stage but transcription): the same on any number of machines.
    driver_hours: float
    #: Cores that transcribe the week in what the driver leaves of the window; None when the
    #: driver alone does not fit in it (no number of machines helps then).
    cores_needed: int | None
    machines_needed: int | None
    servers_needed: int | None
    #: The week on the first customer's servers (CUSTOMER_SERVERS × SERVER_CORES cores).
    customer_hours: float
    measured: dict[str, Any]
    assumes: list[str] = field(default_factory=list)

    @property
    def measured_cores(self) -> int:
        return int(self.measured["machine"]["cores"])

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["stages"] = {s["name"]: s for s in out["stages"]}
        out["customer"] = {
            "servers": CUSTOMER_SERVERS,
            "cores": CUSTOMER_SERVERS * SERVER_CORES,
            "wall_hours": out.pop("customer_hours"),
            "fits": self.customer_hours <= self.window_hours,
        }
        out["server_cores"] = SERVER_CORES
        return out


def unusable(summary: dict[str, Any]) -> str | None:
    """Why a summary cannot be sized from (None: it can)."""
    stages = summary.get("stage_seconds")
    if not isinstance(stages, dict) or not isinstance(summary.get("machine"), dict):
        return "it has no stage times (written by an older CallScope)"
    if not summary.get("new_calls"):
        return "that invocation processed no new calls (a resumed run with nothing left to do)"
    if not stages.get(TRANSCRIBE) or not summary.get("new_audio_hours"):
        # Text-only inputs, or calls already indexed (``unchanged``): no transcription timed.
        return "it transcribed no audio"
    return None


def latest_run(batches: Path) -> MeasuredRun:
    """The most recently written summary under ``batches`` that measured transcription."""
    found: list[MeasuredRun] = []
    seen = 0
    for path in batches.glob("*/summary.json"):
        seen += 1
        try:
            run = MeasuredRun.read(path)
        except InputError:
            continue  # a summary torn by a crash mid-write: the other runs still count
        if unusable(run.summary) is None:
            found.append(run)
    if not found:
        why = (
            f"none of the {seen} run summaries there transcribed new calls"
            if seen
            else "no run summary there"
        )
        raise InputError(f"nothing to size from under {batches} ({why}): {_SAMPLE_HINT}")
    return max(found, key=lambda r: (r.written, r.run))


def find_run(
    runtime: Runtime, *, run: str | None = None, summary: Path | None = None
) -> MeasuredRun:
    """The run to size from: ``summary``'s file, the run named ``run``, or the latest usable
    run in this state dir; a named one that cannot be sized from is an InputError saying why."""
    if run is not None and summary is not None:
        raise InputError("give --run or --summary, not both")
    if run is None and summary is None:
        return latest_run(batches_dir(runtime))
    path = summary if summary is not None else batches_dir(runtime) / run / "summary.json"
    measured = MeasuredRun.read(path)
    why = unusable(measured.summary)
    if why:
        raise InputError(f"cannot size from {path}: {why}; {_SAMPLE_HINT}")
    return measured


def rates(summary: dict[str, Any]) -> dict[str, float]:
    """Seconds per audio hour (transcribe) and per call (every other stage, and ``other``)."""
    stages: dict[str, float] = summary.get("stage_seconds") or {}
    calls = float(summary.get("new_calls") or 0)
    if not calls:
        raise InputError("the run processed no new calls: it measured nothing")
    audio_hours = float(summary.get("new_audio_hours") or 0)
    out: dict[str, float] = {}
    if stages.get(TRANSCRIBE):
        if not audio_hours:
            raise InputError("the run timed transcription but counted no audio hours")
        out[TRANSCRIBE] = float(stages[TRANSCRIBE]) / audio_hours
    # The driver's stages in pipeline order, any stage a later version adds after them.
    for name in sorted(stages, key=lambda k: (_ORDER.get(k, len(_ORDER)), k)):
        if name != TRANSCRIBE:
            out[name] = float(stages[name]) / calls
    # Each time is rounded to 0.1 s in the summary, so a run with almost no overhead can come
    # out a hair below zero.
    rest = float(summary["seconds"]) - sum(float(s) for s in stages.values())
    out[OTHER] = max(rest, 0.0) / calls
    return out


def predict_wall_seconds(summary: dict[str, Any], calls: int, audio_hours: float) -> float:
    """Wall seconds the measured machine would take for ``calls`` calls of ``audio_hours`` of
    audio in all: transcription scales with the audio, every other stage (and the run's
    untimed rest) with the calls."""
    per = rates(summary)
    if audio_hours and TRANSCRIBE not in per:
        raise InputError("the measured run transcribed no audio: it cannot predict transcription")
    return per.get(TRANSCRIBE, 0.0) * audio_hours + sum(
        rate * calls for name, rate in per.items() if name != TRANSCRIBE
    )


def check_setup(summary: dict[str, Any], *, model: str | None, device: str | None) -> None:
    """Refuse a model or device the run was not measured with: their speed is not known here."""
    machine = summary["machine"]
    for key, value in (("model", model), ("device", device)):
        if value is not None and value != machine.get(key):
            where = (
                "on the GPU host" if key == "device" and value == "cuda" else "where it will run"
            )
            raise ConfigError(
                f"the measured run used {key} {machine.get(key)!r}, not {value!r}, and no speed "
                f"factor is guessed: measure a run with it first (e.g. "
                f"`WHISPER__{key.upper()}={value} callscope batch SAMPLE/` {where}), then size "
                "from that run"
            )


def size(
    run: MeasuredRun,
    *,
    calls: int,
    minutes: float,
    window_hours: float = WINDOW_HOURS,
    model: str | None = None,
    device: str | None = None,
) -> Sizing:
    """The weekly volume (``calls`` calls of ``minutes`` each) in wall hours and core-hours on
    the measured machine, and the cores, machines and servers that finish it in the window."""
    if calls < 1 or minutes <= 0 or window_hours <= 0:
        raise InputError("calls, minutes and window hours must be positive")
    summary = run.summary
    why = unusable(summary)
    if why:
        raise InputError(f"cannot size from {run.path}: {why}; {_SAMPLE_HINT}")
    check_setup(summary, model=model, device=device)
    machine = summary["machine"]
    cores = int(machine["cores"])
    audio_hours = calls * minutes / 60
    stages = []
    for name, rate in rates(summary).items():
        scales = name == TRANSCRIBE
        wall = rate * (audio_hours if scales else calls) / 3600
        per = "audio hour" if scales else "call"
        stages.append(Stage(name, rate, per, wall, wall * cores, scales))
    wall_hours = sum(s.wall_hours for s in stages)
    driver = sum(s.wall_hours for s in stages if not s.scales)
    transcribe_core_hours = sum(s.core_hours for s in stages if s.scales)
    left = window_hours - driver
    need = math.ceil(transcribe_core_hours / left) if left > 0 else None
    customer = CUSTOMER_SERVERS * SERVER_CORES
    return Sizing(
        calls=calls,
        minutes=minutes,
        audio_hours=audio_hours,
        window_hours=window_hours,
        stages=stages,
        wall_hours=wall_hours,
        driver_hours=driver,
        cores_needed=need,
        machines_needed=None if need is None else max(1, math.ceil(need / cores)),
        servers_needed=None if need is None else max(1, math.ceil(need / SERVER_CORES)),
        customer_hours=transcribe_core_hours / customer + driver,
        measured={
            "run": run.run,
            "path": str(run.path),
            "written": run.written.isoformat(timespec="seconds"),
            "calls": summary["new_calls"],
            "audio_hours": summary["new_audio_hours"],
            "seconds": summary["seconds"],
            "machine": machine,
        },
        assumes=_assumes(run, cores),
    )


def _assumes(run: MeasuredRun, cores: int) -> list[str]:
    s, m = run.summary, run.summary["machine"]
    return [
        "transcription scales linearly with cores: its workers are independent (measured "
        f"{m.get('transcription')}: {m.get('workers')} worker(s) of {m.get('threads_per_worker')} "
        f"thread(s) on {cores} cores)",
        "index, classify and the rest run in the one driver process: they do not scale with "
        "machines, so they are subtracted from the window, and the driver is a machine like the "
        "measured one",
        "the calls are like the measured ones in length and language, and new to the state dir "
        "(transcribed, not found already indexed or in the transcript cache)",
        f"model {m.get('model')}, device {m.get('device')}, compute type {m.get('compute_type')}, "
        "as measured",
        "start-up costs (loading the models) are scaled with the volume: from a small sample "
        "this errs on the side of more hardware",
        f"measured run {run.run}: {s['new_calls']} calls, {s['new_audio_hours']} h of audio in "
        f"{s['seconds']} s, written {run.written:%Y-%m-%d %H:%M}",
    ]
