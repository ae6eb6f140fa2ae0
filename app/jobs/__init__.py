"""Background jobs: the queue and worker (``queue``), their table (``store``) and what each kind
does (``kinds``: thin adapters over ``app.services``). :func:`job_runner` wires them: the queue
knows nothing of the kinds it runs (they are handed to it here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.jobs.queue import JobRunner
    from app.runtime import Runtime


def job_runner(runtime: Runtime) -> JobRunner:
    """The job queue of ``runtime``'s state dir, with every kind registered."""
    from app.jobs.kinds import CLEANUPS, HANDLERS
    from app.jobs.queue import JobRunner, JobStore

    store = JobStore(runtime.settings.paths.state_dir / "jobs.sqlite")
    return JobRunner(runtime, store, HANDLERS, CLEANUPS)
