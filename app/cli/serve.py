"""``callscope serve``: the HTTP API and the web UI in one uvicorn process."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated, Optional

import typer

from app.cli.console import console, err_console
from app.core.config import Settings, load_settings


def serve(
    host: Annotated[Optional[str], typer.Option(help="Interface (default api.host).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default api.port).")] = None,
    ui: Annotated[bool, typer.Option(help="Serve the web UI at /ui too.")] = True,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs) and the web UI (/ui) until interrupted."""
    settings = load_settings()
    settings = settings.with_changes(api={"ui": settings.api.ui and ui})
    if not settings.api.dev_mode and not settings.api.api_keys:
        err_console.print(
            "[yellow]warning:[/] no API keys configured (API__API_KEYS): protected routes will "
            "answer 503 until one is set, or API__DEV_MODE=true on a trusted machine",
            highlight=False,
        )
    run_server(settings, host or settings.api.host, port or settings.api.port)


def run_server(settings: Settings, host: str, port: int) -> None:
    # The UI's copies of uploads and played recordings hold call audio: keep them under the
    # state dir with everything else, not in a shared /tmp/gradio (read when gradio loads).
    os.environ.setdefault("GRADIO_TEMP_DIR", str((settings.paths.state_dir / "ui-cache").resolve()))
    import uvicorn

    from app.api.app import create_app

    base = f"http://{host}:{port}"
    console.print(f"CallScope API on {base}  (docs: {base}/docs)", highlight=False)
    if settings.api.ui:
        console.print(f"CallScope web UI on {base}/ui", highlight=False)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        # Bounded: slow or half-open clients get 503 beyond max_connections instead of holding
        # every worker, and idle keep-alive connections are closed (README "Serving").
        limit_concurrency=settings.api.max_connections,
        timeout_keep_alive=int(settings.api.keep_alive_s),
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
