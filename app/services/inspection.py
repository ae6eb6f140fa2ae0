"""Quality inspection (质检): the rules a supervisor keeps, checked on every call.

One service behind ``callscope rules …``, ``/api/rules…`` and the Quality tab:

* rules are read from YAML or JSON (the grammar: ``retrieval.inspection.rules``), saved as new
  versions (every change undoable) and applied at once to every stored call whose results were
  made with another version: nothing is transcribed or embedded again (meaning conditions use
  the turn vectors the index holds; only a rule's own example sentences are embedded);
* a preview checks a rule that is not saved on chosen calls and keeps nothing;
* calls are checked as they are indexed (``calls``, ``batch``) once rules exist;
* what a rule found stays with its evidence (``RuleBook``) and the names of the matched rules
  go on the call's points as ``categories``, so ``-f category=no_greeting`` filters and
  Insights counts them like labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from app.core.errors import InputError, NoSuchCall
from app.runtime import Runtime
from app.services import alerts
from app.services.inspection_calls import (
    CallChecker,
    call_payloads,
    stored_call_ids,
    stored_payloads,
)
from retrieval.inspection import (
    Rule,
    RuleResult,
    evaluate,
    evaluate_page,
    has_meaning,
    parse_rules,
)
from retrieval.inspection.book import NoSuchRule
from retrieval.inspection.rules import call_fields
from retrieval.inspection.scorecards import parse_scorecards

#: The payload key the matched rules' names go under (keyword-indexed, like labels).
CATEGORIES = "categories"
#: Rules found in one file at most: a file is written by a person.
MAX_RULES = 500


def starter_rules() -> str:
    """The starter pack (Chinese and English) as YAML, for a supervisor to edit."""
    return files("retrieval.inspection").joinpath("starter_rules.yaml").read_text("utf-8")


def read_rules(text: str) -> list[Rule]:
    """Rules from YAML or JSON text (JSON is YAML); an ``InputError`` says what and where."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"rules: not YAML or JSON ({_short(exc)})") from None
    rules = parse_rules(data)
    if len(rules) > MAX_RULES:
        raise InputError(f"rules: {len(rules)} rules in one file; at most {MAX_RULES}")
    return rules


@dataclass(frozen=True)
class RuleInfo:
    name: str
    title: str
    description: str
    severity: str
    version: int
    #: Calls it matched, of the calls it was checked on (at any version).
    matched: int
    checked: int
    source: dict[str, Any]


def list_rules(runtime: Runtime) -> list[RuleInfo]:
    book = runtime.rule_book
    counts = book.counts()
    return [
        RuleInfo(r.name, r.title, r.description, r.severity, v, *counts.get(r.name, (0, 0)),
                 source=r.source)
        for r, v in book.rules()
    ]  # fmt: skip


def matched_rules(runtime: Runtime, call_id: str) -> list[str]:
    """The current rules ``call_id`` matched (what its ``categories`` payload holds)."""
    live = {r.name for r, _ in runtime.rule_book.rules()}
    return sorted(
        r.rule for r, _, _ in runtime.rule_book.results(call_id) if r.matched and r.rule in live
    )


def rule_titles(runtime: Runtime) -> dict[str, str]:
    """name -> what the table shows: the rule's title, else its name."""
    return {r.name: r.title or r.name for r, _ in runtime.rule_book.rules()}


@dataclass(frozen=True)
class Applied:
    """What applying the rules did: calls checked, results made, matches by rule."""

    calls: int
    checked: int
    matched: dict[str, int]


def save_rules(
    runtime: Runtime,
    text: str,
    *,
    by: str,
    apply: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> tuple[dict[str, str], Applied | None]:
    """Save the rules of ``text`` (each a new version when it changed) and, with ``apply``,
    check every stored call against the rules that changed. Returns name -> added / changed /
    unchanged, and what applying did."""
    rules = read_rules(text)
    if apply:
        runtime.calls  # noqa: B018 - a store that cannot open fails before anything is saved
    actions = runtime.rule_book.save(rules, by)
    if not apply:
        return actions, None
    return actions, apply_rules(runtime, progress=progress)


def delete_rule(runtime: Runtime, name: str, *, by: str) -> None:
    """Delete a rule and its results (``restore_rule`` brings it back); its category leaves
    the calls it matched. Refused while a scorecard's question is answered by it."""
    remaining = {r.name: r for r, _ in runtime.rule_book.rules() if r.name != name}
    for source, _ in runtime.card_book.sources():
        try:
            parse_scorecards([source], remaining)
        except InputError:
            raise InputError(
                f"rule {name!r} answers a question of scorecard {source.get('name')!r}: change "
                "the scorecard first (or delete it)"
            ) from None
    calls = runtime.rule_book.matched_calls(name)
    runtime.rule_book.delete(name, by)
    _set_categories(runtime, calls)


def restore_rule(runtime: Runtime, name: str, version: int, *, by: str) -> Applied:
    """Make an earlier version of a rule current again, and apply it."""
    runtime.rule_book.restore(name, version, by)
    return apply_rules(runtime)


def rule_history(runtime: Runtime, name: str) -> list[dict[str, Any]]:
    return runtime.rule_book.history(name)


def rule_names(runtime: Runtime) -> dict[str, bool]:
    """Every rule ever saved, name -> deleted now (a deleted rule can be restored)."""
    return runtime.rule_book.names()


def apply_rules(
    runtime: Runtime,
    call_ids: Sequence[str] | None = None,
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> Applied:
    """Check the stored calls (all, or ``call_ids``) against every rule whose result on them
    was made with another version (or never). Nothing is transcribed or embedded again.

    A page of calls at a time: their ledger rows, what was checked on them and (when a rule
    has a meaning condition) their turn vectors are each read in one query, and the results
    written in one transaction, so an interrupted apply keeps every page it finished."""
    current = runtime.rule_book.rules()
    report = progress or (lambda done, total, line: None)
    if not current:
        return Applied(0, 0, {})
    if call_ids is None:  # every stored call: their ids and payloads from one scroll
        payloads = stored_payloads(runtime)
        ids = sorted(payloads)
    else:
        ids = list(call_ids)
        payloads = call_payloads(runtime, ids)
    checker = CallChecker(runtime)
    matched: dict[str, int] = {}
    fresh: list[tuple[str, dict[str, Any], RuleResult]] = []
    checked = calls = 0
    for at in range(0, len(ids), _PAGE):
        report(at, len(ids), f"checked {at} of {len(ids)} calls")
        page = [c for c in ids[at : at + _PAGE] if c in payloads]
        rows = runtime.ledger.get_many(page)
        done = runtime.rule_book.checked_many(page)
        todo = {}
        for call_id in page:
            row = rows.get(call_id)
            if row is None or row.transcript is None:
                continue
            mine = done.get(call_id, {})
            stale = [(r, v) for r, v in current if mine.get(r.name) != v]
            if stale:
                todo[call_id] = stale
        if any(has_meaning(r.when) for stale in todo.values() for r, _ in stale):
            checker.load_vectors(list(todo))
        # Every rule stale on some call of the page, on the whole page at once; each call
        # keeps the results of its own stale rules.
        wanted = {r.name: r for stale in todo.values() for r, _ in stale}
        views = [checker.view(rows[c], payloads[c]) for c in todo]
        on_page = evaluate_page(list(wanted.values()), views, checker)
        position = {name: k for k, name in enumerate(wanted)}
        found = []
        for (call_id, stale), results_of_call in zip(todo.items(), on_page, strict=True):
            results = [(results_of_call[position[r.name]], v) for r, v in stale]
            found.append((call_id, results))
            checked += len(results)
            for result, _ in results:
                if result.matched:
                    matched[result.rule] = matched.get(result.rule, 0) + 1
        calls += len(found)
        new = runtime.rule_book.store_many(found)
        for call_id, results in found:
            fresh.extend(
                (call_id, payloads[call_id], r)
                for r, _ in results
                if r.rule in new.get(call_id, ())
            )
        _set_categories(runtime, list(todo), payloads)
    report(len(ids), len(ids), f"checked {len(ids)} calls")
    if fresh:
        alerts.raise_alerts(runtime, {r.name: r for r, _ in current}, fresh)
    return Applied(calls, checked, matched)


def recheck_calls(
    runtime: Runtime, call_ids: Iterable[str], reads: Iterable[str] | None = None
) -> None:
    """Check calls again after what a rule reads changed: indexed anew (every rule), or
    classified or relabeled (``reads``: the call fields that changed, e.g. ``predicted``;
    only the rules reading one of them: a batch's classification does not check again what
    its indexing just checked). Nothing to do without such rules."""
    ids = list(call_ids)
    current = runtime.rule_book.rules()
    if reads is not None:
        changed = set(reads)
        names = [r.name for r, _ in current if call_fields(r.when) & changed]
        if not names:
            return
    if not ids or not current:
        return
    for call_id in ids:
        runtime.rule_book.outdate_call(call_id, None if reads is None else names)
    apply_rules(runtime, ids)


@dataclass(frozen=True)
class Preview:
    call_id: str
    result: RuleResult


def preview_rule(
    runtime: Runtime, text: str, call_ids: Sequence[str] | None = None, *, limit: int = 50
) -> list[Preview]:
    """Check the rule(s) of ``text`` on ``call_ids`` (else the first ``limit`` stored calls)
    without saving anything: what a supervisor sees before saving a rule."""
    rules = read_rules(text)
    ids = list(call_ids) if call_ids else stored_call_ids(runtime)[:limit]
    checker = CallChecker(runtime)
    payloads = call_payloads(runtime, ids)
    out = []
    for call_id in ids:
        row = runtime.ledger.get(call_id)
        if row is None or row.transcript is None or call_id not in payloads:
            raise InputError(f"no indexed call {call_id!r}")
        view = checker.view(row, payloads[call_id])
        out.extend(Preview(call_id, evaluate(rule, view)) for rule in rules)
    return out


def call_inspection(runtime: Runtime, call_id: str) -> list[tuple[RuleInfo, RuleResult]]:
    """What each current rule found on one call, with its evidence (checked now if a rule is
    newer than its result)."""
    if runtime.ledger.get(call_id) is None:
        raise NoSuchCall(f"no call {call_id!r}")
    apply_rules(runtime, [call_id])
    rules = {r.name: r for r in list_rules(runtime)}
    return [
        (rules[result.rule], result)
        for result, _, _ in runtime.rule_book.results(call_id)
        if result.rule in rules
    ]


# -- internals -------------------------------------------------------------------------------


def _set_categories(
    runtime: Runtime,
    call_ids: Iterable[str],
    before: dict[str, dict[str, Any]] | None = None,
) -> None:
    """The names of the rules a call matches, on its call point and its turn points: one
    update per distinct set of names, all made durable together (a flush of the shard cost
    ~28 ms on Qdrant Edge: four fifths of an apply when it was one write per call)."""
    ids = list(dict.fromkeys(call_ids))
    live = {r.name for r, _ in runtime.rule_book.rules()}
    names = runtime.rule_book.matched_many(ids)
    groups: dict[tuple[str, ...], list[str]] = {}
    for call_id in ids:
        key = tuple(n for n in names.get(call_id, ()) if n in live)
        if before is not None and call_id in before:
            if list(before[call_id].get(CATEGORIES) or ()) == list(key):
                continue  # its points say so already (``before``: its call point's payload)
        groups.setdefault(key, []).append(call_id)
    updates = []
    for key, group in groups.items():
        for at in range(0, len(group), _WRITE_IDS):
            chunk = group[at : at + _WRITE_IDS]
            updates.append(({"call_id": chunk[0] if len(chunk) == 1 else chunk},
                            {CATEGORIES: list(key)}))  # fmt: skip
    # A note about the call, like its prediction: the classifier does not refit for it. Turn
    # points first: a call point that says so vouches for its turns (what ``before`` reads).
    for store in (runtime.turns, runtime.calls):
        store.set_payloads(updates, annotation=True)


#: The call fields a classification changes, and a relabeling (``recheck_calls``' ``reads``).
PREDICTION_FIELDS = frozenset({"predicted", "unknown", "confidence"})
LABEL_FIELDS = frozenset({"label"})
#: Calls read, checked and written together.
_PAGE = 1000
#: Call ids in one payload write (one filter condition of any-of values).
_WRITE_IDS = 500


def result_dict(result: RuleResult) -> dict[str, Any]:
    return {
        "rule": result.rule,
        "matched": result.matched,
        "evidence": [
            {"turn": e.turn, "speaker": e.role, "text": e.text, "start": e.start,
             "end": e.end, "why": e.why}
            for e in result.evidence
        ],
    }  # fmt: skip


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


__all__ = [
    "CATEGORIES",
    "LABEL_FIELDS",
    "PREDICTION_FIELDS",
    "NoSuchCall",
    "NoSuchRule",
    "Applied",
    "Preview",
    "RuleInfo",
    "apply_rules",
    "call_inspection",
    "delete_rule",
    "recheck_calls",
    "list_rules",
    "matched_rules",
    "preview_rule",
    "read_rules",
    "restore_rule",
    "result_dict",
    "rule_history",
    "rule_names",
    "rule_titles",
    "save_rules",
    "starter_rules",
]
