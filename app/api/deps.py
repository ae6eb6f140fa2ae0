"""``Annotated`` dependencies of the API routes; tests swap them with ``app.dependency_overrides``.

The Runtime lives on ``app.state`` (built once in the lifespan), so a route never builds models.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.core.config import Settings
from app.jobs.queue import JobRunner
from app.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_jobs(request: Request) -> JobRunner:
    return request.app.state.jobs


JobsDep = Annotated[JobRunner, Depends(get_jobs)]

#: Upper bound of every paging offset: SQLite integers are 64-bit, and a bigger number from a
#: URL must be a 422, not an OverflowError deep in a query.
MAX_OFFSET = 1_000_000_000
