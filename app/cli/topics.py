"""``callscope topics``: discover topics among the calls without a label (or classified
``unknown``), show one, and turn one into a label (over ``app.services.topics``)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from app.cli.console import App, console, handled, settings_for
from app.cli.options import IndexOpt

topics_app = App(
    help="Discover topics among unlabeled calls (and calls classified unknown); show one; "
    "turn one into a label.",
)

RunOpt = Annotated[
    Optional[str], typer.Option("--run", help="A stored run's id (default: the newest).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only.")]


def topics(
    ctx: typer.Context,
    # The defaults are the service's (TopicOptions); None here keeps `--help` from loading it.
    method: Annotated[
        Optional[str],
        typer.Option(help="Clustering: agglomerative (default) or hdbscan."),
    ] = None,
    min_size: Annotated[
        Optional[int],
        typer.Option(
            help="Fewest calls per topic (default: 1% of the pool, 5 to 20; a pool under 25 "
            "calls: a fifth of it, at least 3)."
        ),
    ] = None,
    bm25_weight: Annotated[
        Optional[float], typer.Option(help="Weight of BM25 words against call vectors (0-1).")
    ] = None,
    scope: Annotated[
        str,
        typer.Option(help="all (unlabeled or classified unknown), unlabeled, or unknown."),
    ] = "all",
    max_calls: Annotated[
        Optional[int], typer.Option(help="The most calls clustered (the newest are kept).")
    ] = None,
    llm: Annotated[
        bool, typer.Option(help="Name topics with the LLM when one is configured.")
    ] = True,
    latest: Annotated[
        bool, typer.Option("--latest", help="List the newest stored run; discover nothing.")
    ] = False,
    as_json: JsonOpt = False,
    index: IndexOpt = None,
) -> None:
    """Cluster the calls without a label (or classified unknown) and list the topics."""
    from app.runtime import Runtime
    from app.services import topics as service
    from app.services.topics import TopicOptions

    if ctx.invoked_subcommand is not None:
        return
    settings = settings_for(index)
    if latest:
        run = service.load_run(settings)
    else:
        given = {"method": method, "min_size": min_size, "bm25_weight": bm25_weight}
        options = TopicOptions(**{k: v for k, v in given.items() if v is not None})
        with Runtime(settings) as runtime:
            run = service.discover(
                runtime,
                options,
                scope=scope,
                max_calls=service.MAX_CALLS if max_calls is None else max_calls,
                use_llm=llm,
            )
    if as_json:
        print(json.dumps(run, ensure_ascii=False))
        return
    _print_run(run)


topics_app.callback(invoke_without_command=True)(handled(topics))


def _print_run(run: dict[str, Any]) -> None:
    table = Table(title=f"Topics of run {run['run_id']} ({run['method']}, scope {run['scope']})")
    for col in ("#", "calls", "name / distinctive terms", "suggested label", "cohesion"):
        table.add_column(col, justify="right" if col in ("#", "calls", "cohesion") else "left")
    for t in run["topics"]:
        terms = ", ".join(x["term"] for x in t["terms"][:6])
        title = f"[bold]{t['name']}[/]\n{terms}" if t["name"] else terms
        done = f" → {t['promotions'][-1]['label']}" if t.get("promotions") else ""
        table.add_row(
            str(t["id"]), str(t["size"]), title, t["suggested_label"] + done, f"{t['cohesion']:.2f}"
        )
    console.print(table)
    total = (
        f" (the newest {run['pool']} of {run['pool_total']})"
        if run["pool_total"] > run["pool"]
        else ""
    )
    console.print(
        f"{run['pool']} calls{total}: {run['clustered']} in {len(run['topics'])} topics, "
        f"{len(run['unclustered'])} in none · {run['seconds']['total']:.1f} s",
        highlight=False,
    )
    if run.get("note"):
        console.print(f"[yellow]note[/] {run['note']}", highlight=False)
    for failure in (run.get("llm") or {}).get("failed") or []:
        console.print(f"[yellow]LLM naming failed[/] {failure}", highlight=False)
    if run["topics"]:
        console.print(
            "next: callscope topics show N · callscope topics label N NAME", highlight=False
        )


@topics_app.command()
def show(
    topic: Annotated[int, typer.Argument(help="The topic number in the run.")],
    run: RunOpt = None,
    as_json: JsonOpt = False,
    index: IndexOpt = None,
) -> None:
    """A topic's terms and its calls, the closest to its centroid first."""
    from app.runtime import Runtime
    from app.services import topics as service

    with Runtime(settings_for(index)) as runtime:
        found = service.show(runtime, topic, run)
    if as_json:
        print(json.dumps(found, ensure_ascii=False))
        return
    head = found["name"] or ", ".join(x["term"] for x in found["terms"])
    console.print(f"[bold]Topic {topic}[/] of run {found['run_id']}: {head}", highlight=False)
    if found["description"]:
        console.print(found["description"], highlight=False)
    console.print(
        "terms: " + ", ".join(f"{x['term']} ({x['score']:.3f})" for x in found["terms"]),
        highlight=False,
    )
    table = Table()
    for col in ("call", "similarity", "labels now", "excerpt"):
        table.add_column(col)
    representatives = set(found["representatives"])
    for call in found["calls"]:
        mark = "★ " if call["call_id"] in representatives else ""
        now = call["labels_now"]
        labels = "(deleted)" if now is None else ", ".join(now) or "-"
        table.add_row(mark + call["call_id"], f"{call['similarity']:.3f}", labels, call["excerpt"])
    console.print(table)
    console.print(
        f"★ representative (closest to the centroid) · to label: callscope topics label "
        f"{topic} {found['suggested_label']}",
        highlight=False,
    )


@topics_app.command()
def label(
    topic: Annotated[int, typer.Argument(help="The topic number in the run.")],
    name: Annotated[str, typer.Argument(help="The label its calls get.")],
    exclude: Annotated[
        Optional[list[str]],
        typer.Option("--exclude", "-x", help="A call of the topic to leave out (repeatable)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Show what would change; write nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Label without asking first.")] = False,
    run: RunOpt = None,
    as_json: JsonOpt = False,
    index: IndexOpt = None,
) -> None:
    """Give a topic's calls a new label (labeled examples from now on; history kept), after
    showing the change and asking (``--yes`` does not ask; undo: ``callscope undo-relabel``)."""
    from app.runtime import Runtime
    from app.services import topics as service

    with Runtime(settings_for(index)) as runtime:
        args = dict(run_id=run, exclude=exclude or ())
        result = service.label_topic(runtime, topic, name, dry_run=True, **args)
        if not dry_run and result["changed"]:
            if not yes:
                _show_labeling(result, dry_run=True)
                if not _confirm_labeling(result):
                    console.print("nothing changed", highlight=False)
                    return
            result = service.label_topic(runtime, topic, name, dry_run=False, **args)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    _show_labeling(result, dry_run=dry_run)


def _confirm_labeling(preview: dict) -> bool:
    """No answer (no terminal) is no: a topic's calls are never relabeled unasked."""
    try:
        return typer.confirm(
            f"Label {len(preview['changed'])} calls {preview['label']!r}?", default=False
        )
    except typer.Abort:
        return False


def _show_labeling(result: dict, *, dry_run: bool) -> None:
    table = Table(title=f"Label {result['label']!r}" + (" (dry run)" if dry_run else ""))
    for col in ("id", "from", "to"):
        table.add_column(col)
    for change in result["changed"]:
        table.add_row(change["call_id"], ", ".join(change["old"]) or "-", ", ".join(change["new"]))
    console.print(table)
    for skipped in result["skipped"]:
        console.print(
            f"[yellow]skipped[/] {skipped['call_id']}: {skipped['reason']}", highlight=False
        )
    existing = " (a label that already existed)" if result["existing_label"] else ""
    console.print(
        f"{'would label' if dry_run else 'labeled'} {len(result['changed'])} calls "
        f"{result['label']!r}{existing}; unchanged {len(result['unchanged'])}, excluded "
        f"{len(result['excluded'])}, skipped {len(result['skipped'])}",
        highlight=False,
    )
    if result["changed"] and not dry_run:
        console.print("undo one: callscope undo-relabel <id> --entry <history>", highlight=False)
