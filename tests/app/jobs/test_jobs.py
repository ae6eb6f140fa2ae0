"""The job queue itself (app/jobs.py): order, progress, failure, cancel, shutdown and resume after
a restart. Handlers here are small test kinds registered like the real ones; the real kinds run
in tests/app/test_api_jobs.py."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import InputError
from app.jobs.queue import Job, JobRunner, JobStore, Progress


class Steps:
    """A job kind that counts to ``params["n"]``, remembering what it saw; it can be held at a
    step so a test can cancel or stop it mid-way."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []
        self.hold_at: int | None = None
        self.held = threading.Event()
        self.release = threading.Event()

    def __call__(self, runtime: Any, job: Job, progress: Progress) -> dict[str, Any]:
        n = job.params["n"]
        for i in range(1, n + 1):
            if i == self.hold_at:
                self.held.set()
                self.release.wait(10)
            self.seen.append((job.id, i))
            progress(i, n, f"step {i}")
        return {"counted": n}


def failing(runtime: Any, job: Job, progress: Progress) -> dict[str, Any]:
    raise InputError("this input cannot work")


def crashing(runtime: Any, job: Job, progress: Progress) -> dict[str, Any]:
    raise ZeroDivisionError("secret detail")


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    s = JobStore(tmp_path / "jobs.sqlite")
    yield s
    s.close()


def _runner(store: JobStore, steps: Steps) -> JobRunner:
    return JobRunner(
        runtime=None,  # type: ignore[arg-type]
        store=store,
        handlers={"steps": steps, "failing": failing, "crashing": crashing},
    )


def test_jobs_run_in_order_with_progress_and_results(store: JobStore) -> None:
    steps = Steps()
    runner = _runner(store, steps)
    runner.start()
    try:
        a = runner.submit("steps", {"n": 3})
        b = runner.submit("steps", {"n": 2})
        done_b = runner.wait(b.id, timeout=10)
        done_a = runner.wait(a.id, timeout=10)
    finally:
        runner.stop()
    assert done_a.state == done_b.state == "done"
    assert done_a.result == {"counted": 3} and (done_a.done, done_a.total) == (3, 3)
    assert done_a.message == "done" and done_a.attempts == 1
    assert done_a.finished_at is not None and done_a.started_at is not None
    # One worker: every step of the first job before any of the second.
    assert [job for job, _ in steps.seen] == [a.id] * 3 + [b.id] * 2
    total, listed = store.list()
    assert total == 2 and [j.id for j in listed] == [b.id, a.id]
    assert store.list(state="done")[0] == 2 and store.list(kind="other")[0] == 0


def test_failures_are_recorded_and_the_worker_goes_on(store: JobStore) -> None:
    steps = Steps()
    runner = _runner(store, steps)
    runner.start()
    try:
        bad = runner.submit("failing", {})
        crash = runner.submit("crashing", {})
        good = runner.submit("steps", {"n": 1})
        good = runner.wait(good.id, timeout=10)
    finally:
        runner.stop()
    bad_job, crash_job = store.get(bad.id), store.get(crash.id)
    assert bad_job is not None and crash_job is not None
    assert bad_job.state == "failed" and bad_job.error == "this input cannot work"
    # A bug fails the job without its details (they go to the log), and the worker survives.
    assert crash_job.state == "failed" and crash_job.error == "internal error: ZeroDivisionError"
    assert good.state == "done"
    with pytest.raises(InputError, match="unknown job kind"):
        runner.submit("nope", {})


def test_cancel_queued_and_running(store: JobStore) -> None:
    steps = Steps()
    steps.hold_at = 2
    runner = _runner(store, steps)
    runner.start()
    try:
        running = runner.submit("steps", {"n": 5})
        queued = runner.submit("steps", {"n": 5})
        assert steps.held.wait(10)
        assert runner.cancel(queued.id).state == "cancelled"
        asked = runner.cancel(running.id)
        assert asked.state == "running" and asked.cancel  # it stops at its next step
        steps.release.set()
        ended = runner.wait(running.id, timeout=10)
    finally:
        runner.stop()
    assert ended.state == "cancelled"
    # It stopped at its first progress report after the cancel.
    assert [i for job, i in steps.seen if job == running.id] == [1, 2]
    assert [i for job, i in steps.seen if job == queued.id] == []
    with pytest.raises(InputError, match="no job"):
        runner.cancel("missing")


def test_a_job_interrupted_by_a_restart_resumes(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    # The first process: a job is running when the process stops.
    first = JobStore(path)
    steps = Steps()
    steps.hold_at = 3
    runner = _runner(first, steps)
    runner.start()
    job = runner.submit("steps", {"n": 4})
    assert steps.held.wait(10)
    stopper = threading.Thread(target=runner.stop)
    stopper.start()
    steps.release.set()
    stopper.join(10)
    interrupted = first.get(job.id)
    assert interrupted is not None and interrupted.state == "queued"
    assert "shutdown" in interrupted.message
    first.close()

    # A crash instead of a clean stop leaves the row "running": the next start queues it again.
    crashed = JobStore(path)
    other = crashed.create("steps", {"n": 2})
    assert crashed.claim_next() is not None  # the first job, oldest first
    assert crashed.get(job.id).state == "running"  # type: ignore[union-attr]
    crashed.close()

    second = JobStore(path)
    steps2 = Steps()
    runner2 = _runner(second, steps2)
    runner2.start()
    try:
        resumed = runner2.wait(job.id, timeout=10)
        after = runner2.wait(other.id, timeout=10)
    finally:
        runner2.stop()
        second.close()
    assert resumed.state == "done" and resumed.attempts == 3 and resumed.result == {"counted": 4}
    assert after.state == "done"
    assert [j for j, _ in steps2.seen] == [job.id] * 4 + [other.id] * 2


def test_a_job_that_keeps_dying_with_the_process_is_not_started_again(tmp_path: Path) -> None:
    from app.jobs.queue import MAX_ATTEMPTS

    store = JobStore(tmp_path / "jobs.sqlite")
    job = store.create("steps", {"n": 1})
    for attempt in range(1, MAX_ATTEMPTS + 1):
        started = store.claim_next()  # started, and then the process died with it ...
        assert started is not None and started.attempts == attempt
        requeued = store.requeue_interrupted()  # ... so the next start finds it "running"
        assert requeued == ([job.id] if attempt < MAX_ATTEMPTS else [])
    failed = store.get(job.id)
    store.close()
    assert failed is not None and failed.state == "failed" and failed.attempts == MAX_ATTEMPTS
    assert "not started again" in (failed.error or "")
