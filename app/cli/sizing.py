"""``callscope sizing``: the hardware a weekly volume needs, from a measured batch run (over
``app.services.sizing``)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from app.cli.console import console, settings_for

if TYPE_CHECKING:
    from app.services.sizing import Sizing


class Device(StrEnum):
    cpu = "cpu"
    cuda = "cuda"


def sizing(
    calls_per_week: Annotated[
        int, typer.Option("--calls-per-week", min=1, help="Calls to process each week.")
    ],
    minutes: Annotated[
        float, typer.Option("--minutes", min=0.01, help="Average length of a call, in minutes.")
    ],
    window_hours: Annotated[
        Optional[float],
        typer.Option(
            "--window-hours",
            min=0.1,
            help="Hours the batch may take each week (default 120: 24 h × 5 days, around the "
            "clock through a working week).",
        ),
    ] = None,
    run: Annotated[
        Optional[str],
        typer.Option("--run", help="Size from this batch run (default: the latest that did work)."),
    ] = None,
    summary: Annotated[
        Optional[Path], typer.Option("--summary", help="Size from this summary.json.")
    ] = None,
    model: Annotated[
        Optional[str],
        typer.Option("--model", help="Speech model to size for (must be the measured run's)."),
    ] = None,
    device: Annotated[
        Optional[Device],
        typer.Option("--device", help="Device to size for (must be the measured run's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON.")] = False,
) -> None:
    """Plan the cores and machines a weekly volume needs, from a batch run measured here.

    Uses the latest `callscope batch` run that transcribed new calls (or --run/--summary):
    its seconds per audio hour and per call, scaled to the week."""
    from app.runtime import Runtime
    from app.services.sizing import WINDOW_HOURS, find_run, size

    with Runtime(settings_for()) as runtime:
        measured = find_run(runtime, run=run, summary=summary)
    plan = size(
        measured,
        calls=calls_per_week,
        minutes=minutes,
        window_hours=WINDOW_HOURS if window_hours is None else window_hours,
        model=model,
        device=device.value if device else None,
    )
    if as_json:
        print(json.dumps(plan.to_dict(), ensure_ascii=False))
        return
    _print(plan)


def _print(plan: Sizing) -> None:
    from app.services.sizing import CUSTOMER_SERVERS, SERVER_CORES, WINDOW_HOURS

    cores = plan.measured_cores
    table = Table(
        title=f"{plan.calls:,} calls × {plan.minutes:g} min a week ({plan.audio_hours:,.1f} h of "
        f"audio) on the measured machine ({cores} cores)"
    )
    table.add_column("stage")
    table.add_column("measured rate", justify="right")
    table.add_column("wall h", justify="right")
    table.add_column("core-h", justify="right")
    table.add_column("runs on")
    for s in plan.stages:
        table.add_row(
            s.name,
            f"{s.rate:.3g} s / {s.per}",
            f"{s.wall_hours:,.1f}",
            f"{s.core_hours:,.1f}",
            "workers (scales)" if s.scales else "driver (does not scale)",
        )
    table.add_row(
        "[bold]total",
        "",
        f"[bold]{plan.wall_hours:,.1f}",
        f"{sum(s.core_hours for s in plan.stages):,.1f}",
        "",
    )
    console.print(table)
    window = f"the {plan.window_hours:g} h window" + (
        " (24 h × 5 days: around the clock through a working week)"
        if plan.window_hours == WINDOW_HOURS
        else ""
    )
    fits = "fits in" if plan.wall_hours <= plan.window_hours else "does not fit in"
    console.print(
        f"On the measured machine: {plan.wall_hours:,.1f} h a week, {fits} {window}.",
        highlight=False,
    )
    console.print(
        f"Driver (every stage but transcription, one process): {plan.driver_hours:,.1f} h on any "
        "number of machines.",
        highlight=False,
    )
    customer = CUSTOMER_SERVERS * SERVER_CORES
    if plan.cores_needed is None:
        console.print(
            f"[red]The driver alone needs more than {window}[/]: no number of machines finishes "
            "the week; a faster driver or a longer window is needed.",
            highlight=False,
        )
    else:
        console.print(
            f"[bold]Cores needed: {plan.cores_needed}[/] (transcription core-hours in the "
            f"{plan.window_hours - plan.driver_hours:,.1f} h the driver leaves) = "
            f"{plan.machines_needed} machine(s) like the measured one = {plan.servers_needed} × "
            f"{SERVER_CORES}-core server(s).",
            highlight=False,
        )
    verdict = "fits" if plan.customer_hours <= plan.window_hours else "does not fit"
    console.print(
        f"Worked line: the first customer's {CUSTOMER_SERVERS} × {SERVER_CORES}-core servers "
        f"({customer} cores) take {plan.customer_hours:,.1f} h a week: {verdict} in {window}.",
        highlight=False,
    )
    console.print("Assumes:")
    for line in plan.assumes:
        console.print(f"  - {line}", highlight=False)
