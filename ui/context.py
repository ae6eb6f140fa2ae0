"""What every tab's handlers share: the API app's Runtime and job queue, looked up when an event
runs (the Runtime is built in the API's lifespan, after the UI is mounted), and the rule for
which recordings the browser may fetch."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.config import Settings
from app.services.call_views import call_audio
from ui.i18n import job_word, t
from ui.messages import error_text, job_message

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.jobs.queue import Job, JobRunner
    from app.runtime import Runtime


def audio_source(row: Any, start: float | None) -> tuple[Path | None, float]:
    """The recording to play for a call (``row``: a ledger row, with its ``recording``) and
    where to start (seconds): an audio call whose recording is still on disk, from the cited
    second (never before 0). Faces ask ``call_views.call_audio`` for the recording instead."""
    position = max(0.0, float(start or 0.0))
    return (row.recording if row is not None else None), position


#: Seconds between looks at a running job.
POLL_SECONDS = 1.0


def follow_job(
    jobs: JobRunner,
    job: Job,
    lang: str,
    pad: tuple[Any, ...],
    note: Callable[[Job, str], str] | None = None,
) -> Generator[tuple[Any, ...], None, Job | None]:
    """For a handler that streams a job's progress: yields ``(note, *pad)`` while the job runs
    (and once more saying why, if it fails); returns the finished job, None if it failed.
    ``note(job, lang)`` words the progress of a kind of job in the page's language (the job's
    own message is English: without ``note`` it is said in ``lang`` by ``ui.messages``).
    ``job = yield from follow_job(...)``."""
    while not job.finished:
        if note is not None:
            text = note(job, lang)
        else:
            total = f"/{job.total}" if job.total else ""
            text = t("lq.progress", lang).format(
                id=job.id,
                state=job_word("state", job.state, lang),
                done=job.done,
                total=total,
                message=job_message(job.message, lang),
            )
        yield (text, *pad)
        job = jobs.wait(job.id, timeout=POLL_SECONDS)
    if job.state != "done" or not job.result:
        state = job_word("state", job.state, lang)
        error = error_text(job.error or job.message, lang)
        yield (t("lq.failed", lang).format(state=state, error=error), *pad)
        return None
    return job


@dataclass
class UIContext:
    """The mounted UI's link to its FastAPI app."""

    app: FastAPI
    settings: Settings
    #: ``gradio.Blocks`` once built: its ``allowed_paths`` grow by each recording played.
    blocks: Any = None

    @property
    def runtime(self) -> Runtime:
        runtime = getattr(self.app.state, "runtime", None)
        if runtime is None:
            from app.core.errors import StoreError

            raise StoreError("the service is still starting; try again in a moment")
        return runtime

    @property
    def jobs(self) -> JobRunner | None:
        return getattr(self.app.state, "jobs", None)

    def playable(self, call_id: str, start: float | None) -> tuple[str | None, float]:
        """``(path, position)`` of a call's recording, allowing that one file to be served
        (never its folder, which may hold anything); the path comes from the service
        (``call_views.call_audio``, i.e. the ledger), never from the browser."""
        path, position = call_audio(self.runtime, call_id), max(0.0, float(start or 0.0))
        if path is None:
            return None, position
        exact = str(path.resolve())
        if self.blocks is not None and exact not in self.blocks.allowed_paths:
            self.blocks.allowed_paths.append(exact)
        return exact, position

    def seek(self, starts: list[dict[str, Any]], call_id: str, row: int | None) -> Any:
        """The recording of ``call_id`` from the second a clicked table row cites (``starts``:
        ``{"start": seconds}`` per row, ``{}`` for a row that cites none): an Audio update,
        gradio's skip for a row without a time, an empty player for a call without audio."""
        import gradio as gr

        if row is None or row >= len(starts) or starts[row].get("start") is None:
            return gr.skip()
        path, position = self.playable(call_id, starts[row]["start"])
        if path is None:
            return gr.Audio(value=None)
        return gr.Audio(value=path, playback_position=position)
