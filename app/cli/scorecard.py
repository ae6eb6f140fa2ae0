"""``callscope scorecard``: quality-inspection scorecards over ``app.services.scorecards``:
load a YAML/JSON file, list them, score the stored calls, one call's answers, and the mean
score per agent (team, queue) and week."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from app.cli.console import App, console, err_console
from app.cli.rules import ByOpt, FileArg, JsonOpt, _read, _runtime, print_history

scorecard_app = App(
    help="Quality scorecards (质检评分表): sections of weighted questions answered by the "
    "inspection rules, by conditions or by the LLM; a score per call, per agent and week.",
)


@scorecard_app.command("load")
def load(path: FileArg, by: ByOpt = "cli") -> None:
    """Save the scorecards of a file (a changed one becomes a new version)."""
    from app.services.scorecards import save_scorecards

    with _runtime() as runtime:
        actions = save_scorecards(runtime, _read(path), by=by)
    for name, action in actions.items():
        console.print(f"{name}: {action}", highlight=False)


@scorecard_app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """The scorecards, their questions, how many calls were scored and the mean score."""
    from app.services.scorecards import list_scorecards

    with _runtime() as runtime:
        found = list_scorecards(runtime)
    if as_json:
        typer.echo(json.dumps([{k: v for k, v in vars(c).items() if k != "source"}
                               for c in found], ensure_ascii=False))  # fmt: skip
        return
    if not found:
        console.print("no scorecards yet: write one (README \"Scorecards\"), then "
                      "`callscope scorecard load card.yaml`", highlight=False)  # fmt: skip
        return
    table = Table("scorecard", "title", "version", "questions", "scored", "mean score")
    for c in found:
        mean = "" if c.mean is None else f"{c.mean:g}"
        table.add_row(c.name, c.title, str(c.version), str(c.questions), str(c.scored), mean)
    console.print(table)


@scorecard_app.command("score")
def score(
    name: str,
    calls: Annotated[
        Optional[list[str]], typer.Option("--call", help="Score these calls (repeat).")
    ] = None,
    again: Annotated[bool, typer.Option(help="Score calls already scored too.")] = False,
    llm: Annotated[bool, typer.Option(help="Let the LLM answer its questions.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Score the stored calls not yet scored with this version of the scorecard."""
    from app.services.scorecards import score_calls

    with _runtime() as runtime:
        done = score_calls(
            runtime, name, calls or None, again=again, use_llm=llm,
            progress=lambda d, t, line: err_console.print(f"… {line}", highlight=False),
        )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(done, ensure_ascii=False))
        return
    mean = "no score" if done["mean"] is None else f"mean score {done['mean']:g}"
    console.print(f"{name} v{done['version']}: scored {done['scored']} calls; {mean}",
                  highlight=False)  # fmt: skip


@scorecard_app.command("call")
def call(call_id: str, as_json: JsonOpt = False) -> None:
    """One call's answers to every scorecard, with the turns they rest on."""
    from app.services.scorecards import call_cards

    with _runtime() as runtime:
        found = call_cards(runtime, call_id)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    for card in found:
        score = "no score" if card["score"] is None else f"{card['score']:g}"
        console.print(f"{card['scorecard']} ({card['title']}): {score}", highlight=False)
        for a in card["answers"]:
            held = not a["counted"] and a["answer"] in ("yes", "no")  # an LLM answer held back
            by = f"{a['by']}, not scored until reviewers agree" if held else a["by"]
            console.print(escape(f"  {a['answer']:<14} {a['text']}  [{by}] {a['note']}"),
                          highlight=False)  # fmt: skip
            for e in a["evidence"][:3]:
                console.print(escape(f"      T{e['turn']} {e['speaker']}: {e['text'][:70]}"),
                              highlight=False)  # fmt: skip


@scorecard_app.command("report")
def report(
    name: str,
    by: Annotated[str, typer.Option(help="A metadata field: agent, team, queue...")] = "agent",
    as_json: JsonOpt = False,
) -> None:
    """The mean score per agent (or team, queue) and week, lowest first."""
    from app.services.scorecards import scorecard_report

    with _runtime() as runtime:
        found = scorecard_report(runtime, name, by=by)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    weeks = sorted({w for r in found["rows"] for w in r["weeks"]})
    table = Table(by, "calls", "mean", *weeks)
    for r in found["rows"]:
        cells = [f"{r['weeks'][w]:g}" if w in r["weeks"] else "" for w in weeks]
        table.add_row(r[by] or "(none)", str(r["calls"]), f"{r['mean']:g}", *cells)
    console.print(table)


@scorecard_app.command("review")
def review(
    call_id: str,
    name: str,
    question: str,
    answer: Annotated[str, typer.Argument(help="yes, no or not_applicable.")],
    comment: Annotated[str, typer.Option(help="Why (kept in the review history).")] = "",
    by: ByOpt = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Confirm or overturn one answer of a call's scorecard (人工复核)."""
    from app.services.scorecard_reviews import review_answer

    with _runtime() as runtime:
        state = review_answer(runtime, call_id, name, question, answer, comment=comment, by=by)
    if as_json:
        typer.echo(json.dumps(state, ensure_ascii=False))
        return
    auto = "no score" if state["score"] is None else f"{state['score']:g}"
    now = "no score" if state["reviewed_score"] is None else f"{state['reviewed_score']:g}"
    console.print(f"{call_id} {name}: automatic {auto}, reviewed {now} "
                  f"(reviews so far: {len(state['history'])})", highlight=False)  # fmt: skip


@scorecard_app.command("queue")
def queue(name: str, limit: int = 20, as_json: JsonOpt = False) -> None:
    """Scored calls no one has reviewed yet, lowest score first."""
    from app.services.scorecard_reviews import review_queue

    with _runtime() as runtime:
        found = review_queue(runtime, name, limit)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    for row in found:
        console.print(f"{row['score']:>6g}  {row['call_id']}", highlight=False)


@scorecard_app.command("agreement")
def agreement_(name: str, as_json: JsonOpt = False) -> None:
    """Per question, how often the automatic answer was what the reviewers said, and whether
    an LLM question's answers count in scores yet (LLM__SCORECARD_MIN_AGREEMENT)."""
    from app.services.scorecard_reviews import agreement

    with _runtime() as runtime:
        found = agreement(runtime, name)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    table = Table("question", "reviewed", "agreed", "agreement", "LLM answers scored")
    for r in found["questions"]:
        share = "" if r["agreement"] is None else f"{r['agreement']:.0%}"
        scored = "" if r["counted"] is None else "yes" if r["counted"] else "not yet"
        table.add_row(r["question"], str(r["reviewed"]), str(r["agreed"]), share, scored)
    console.print(table)


@scorecard_app.command("history")
def history(name: str, as_json: JsonOpt = False) -> None:
    """Every version of a scorecard: who changed it, when, and how."""
    from app.services.scorecards import scorecard_history

    with _runtime() as runtime:
        print_history(scorecard_history(runtime, name), as_json)


@scorecard_app.command("delete")
def delete(
    name: str,
    by: ByOpt = "cli",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Delete a scorecard (its scores and reviews are kept; `restore` brings it back)."""
    from app.services.scorecards import delete_scorecard

    if not yes and not typer.confirm(f"Delete scorecard {name!r}?"):
        raise typer.Exit(1)
    with _runtime() as runtime:
        delete_scorecard(runtime, name, by=by)
    console.print(f"deleted {name} (undo: callscope scorecard history {name}, then restore)",
                  highlight=False)  # fmt: skip


@scorecard_app.command("restore")
def restore(name: str, version: int, by: ByOpt = "cli") -> None:
    """Make an earlier version of a scorecard current again (undoes a change or a deletion)."""
    from app.services.scorecards import restore_scorecard

    with _runtime() as runtime:
        restore_scorecard(runtime, name, version, by=by)
    console.print(f"{name}: version {version} restored; `callscope scorecard score {name}` "
                  "scores the calls with it", highlight=False)  # fmt: skip
