"""What the API shows of server-side data: never where things live on the server.

Jobs carry the paths of their uploads and result files, label runs the folder of their report;
clients get file names (downloads go through ``/api/jobs/{id}/results`` and
``/api/label-runs/{id}/{kind}``), as the README promises.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Any


def without_paths(value: Any) -> Any:
    """``value`` with every absolute path (POSIX or Windows) cut to its last component."""
    if isinstance(value, dict):
        return {k: without_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_paths(v) for v in value]
    if isinstance(value, str) and value.startswith("/") and len(value) > 1:
        return PurePosixPath(value).name
    if isinstance(value, str) and PureWindowsPath(value).drive and value[2:3] in ("\\", "/"):
        return PureWindowsPath(value).name
    return value
