"""What every tab's handlers share: the API app's Runtime and job queue, looked up when an event
runs (the Runtime is built in the API's lifespan, after the UI is mounted), and the rule for
which recordings the browser may fetch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.jobs import JobRunner
    from app.runtime import Runtime
    from ingest.ledger import LedgerRow


def uploads_dir(settings: Settings) -> Path:
    """Where the API stores uploaded calls (``app.uploads.uploads_dir``)."""
    return settings.paths.state_dir / "uploads"


def audio_source(row: LedgerRow | None, start: float | None) -> tuple[Path | None, float]:
    """The recording to play for a call and where to start (seconds): a call ingested from an
    audio file that is still on disk, from the cited second (never before 0)."""
    position = max(0.0, float(start or 0.0))
    if row is None or row.kind != "audio":
        return None, position
    path = Path(row.origin)
    return (path if path.is_file() else None), position


def audio_dirs(settings: Settings) -> list[str]:
    """The folders the UI may serve recordings from: the API's uploads and the folders of the
    recordings in the ledger (read only when the ledger exists; nothing is created)."""
    dirs = {str(uploads_dir(settings).resolve())}
    if settings.paths.ledger.is_file():
        from ingest.ledger import Ledger

        ledger = Ledger(settings.paths.ledger)
        try:
            dirs |= {
                str(Path(r.origin).resolve().parent) for r in ledger.rows() if r.kind == "audio"
            }
        finally:
            ledger.close()
    return sorted(dirs)


@dataclass
class UIContext:
    """The mounted UI's link to its FastAPI app."""

    app: FastAPI
    settings: Settings
    #: ``gradio.Blocks`` once built: its ``allowed_paths`` grow with new recording folders.
    blocks: Any = None

    @property
    def runtime(self) -> Runtime:
        runtime = getattr(self.app.state, "runtime", None)
        if runtime is None:
            from app.errors import StoreError

            raise StoreError("the service is still starting; try again in a moment")
        return runtime

    @property
    def jobs(self) -> JobRunner | None:
        return getattr(self.app.state, "jobs", None)

    def playable(self, call_id: str, start: float | None) -> tuple[str | None, float]:
        """``(path, position)`` of a call's recording, allowing its folder to be served; the
        path comes from the ledger only, never from the browser."""
        path, position = audio_source(self.runtime.ledger.get(call_id), start)
        if path is None:
            return None, position
        folder = str(path.resolve().parent)
        if self.blocks is not None and folder not in self.blocks.allowed_paths:
            self.blocks.allowed_paths.append(folder)
        return str(path), position
