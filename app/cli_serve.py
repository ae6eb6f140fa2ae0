"""``callscope serve``: the HTTP API (and later the web UI) in one uvicorn process."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from app.config import load_settings
from app.console import console, err_console
from app.errors import CallScopeError


def serve(
    host: Annotated[Optional[str], typer.Option(help="Interface (default api.host).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default api.port).")] = None,
    ui: Annotated[bool, typer.Option(help="Serve the web UI at /ui too.")] = True,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs) until interrupted."""
    import uvicorn

    from app.api import create_app

    try:
        settings = load_settings()
    except CallScopeError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None
    settings.api.ui = settings.api.ui and ui
    host = host or settings.api.host
    port = port or settings.api.port
    if not settings.api.dev_mode and not settings.api.api_keys:
        err_console.print(
            "[yellow]warning:[/] no API keys configured (API__API_KEYS): protected routes will "
            "answer 503 until one is set, or API__DEV_MODE=true on a trusted machine",
            highlight=False,
        )
    console.print(f"CallScope API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
