"""Scorecards (质检评分表), the use case: save them (YAML/JSON, each change a version), score
stored calls with them (questions answered by the rules already checked, by conditions, or by
the LLM when one is configured), read one call's answers with their evidence, and report the
scores per agent (or team, queue) and week. Nothing is transcribed or embedded again; a call
is scored again only when the scorecard changed (or when asked to).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.core.errors import InputError, NoSuchCall
from app.runtime import Runtime
from app.services.insights_report import CardScores, ScoreMean
from app.services.inspection import apply_rules
from app.services.inspection_calls import CallChecker, call_payloads, stored_call_ids
from retrieval.inspection.card_book import NoSuchScorecard
from retrieval.inspection.scorecards import (
    UNANSWERED,
    CardResult,
    Scorecard,
    agreement_floor,
    counts,
    parse_scorecards,
    score_call,
)

__all__ = [
    "NoSuchScorecard",
    "call_cards",
    "card_dict",
    "counted_questions",
    "call_scores",
    "delete_scorecard",
    "restore_scorecard",
    "scorecard_history",
    "scorecard_of",
    "list_scorecards",
    "save_scorecards",
    "score_calls",
    "scorecard_report",
]


def _rules(runtime: Runtime) -> dict[str, Any]:
    return {r.name: r for r, _ in runtime.rule_book.rules()}


def _cards(runtime: Runtime) -> list[tuple[Scorecard, int]]:
    rules = _rules(runtime)
    out = []
    for source, version in runtime.card_book.sources():
        [card] = parse_scorecards([source], rules)
        out.append((card, version))
    return out


def scorecard_of(runtime: Runtime, name: str) -> tuple[Scorecard, int]:
    """The current version of scorecard ``name`` (NoSuchScorecard when there is none)."""
    found = next(((c, v) for c, v in _cards(runtime) if c.name == name), None)
    if found is None:
        raise NoSuchScorecard(f"no scorecard {name!r}")
    return found


def save_scorecards(runtime: Runtime, text: str, *, by: str) -> dict[str, str]:
    """Save the scorecards of ``text`` (checked against the current rules first)."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(
            f"scorecards: not YAML or JSON ({' '.join(str(exc).split())[:200]})"
        ) from None
    cards = parse_scorecards(data, _rules(runtime))
    return runtime.card_book.save([c.source for c in cards], by)


def scorecard_history(runtime: Runtime, name: str) -> list[dict[str, Any]]:
    return runtime.card_book.history(name)


def delete_scorecard(runtime: Runtime, name: str, *, by: str) -> None:
    """Delete a scorecard (``restore_scorecard`` brings it back; its scores and reviews are
    kept for that)."""
    runtime.card_book.delete(name, by)


def restore_scorecard(runtime: Runtime, name: str, version: int, *, by: str) -> None:
    """Make an earlier version of a scorecard current again; refused when a rule it reads is
    gone (restore the rule first). Calls are scored again by the next ``score_calls``."""
    source = runtime.card_book.history(name)  # a clear error for an unknown name
    found = next((h["scorecard"] for h in source if h["version"] == version), None)
    if found is None:
        raise NoSuchScorecard(f"scorecard {name!r} has no version {version} to restore")
    parse_scorecards({"scorecards": [found]}, _rules(runtime))
    runtime.card_book.restore(name, version, by)


@dataclass(frozen=True)
class CardInfo:
    name: str
    title: str
    version: int
    questions: int
    scored: int
    mean: float | None
    source: dict[str, Any]


def list_scorecards(runtime: Runtime) -> list[CardInfo]:
    out = []
    for card, version in _cards(runtime):
        scores = [s for _, s in runtime.card_book.scored(card.name).values() if s is not None]
        mean = round(sum(scores) / len(scores), 1) if scores else None
        out.append(CardInfo(card.name, card.title, version, len(card.questions),
                            len(scores), mean, card.source))  # fmt: skip
    return out


def score_calls(
    runtime: Runtime,
    name: str,
    call_ids: Sequence[str] | None = None,
    *,
    again: bool = False,
    use_llm: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any]:
    """Score the stored calls (all, or ``call_ids``) not yet scored with this version of the
    scorecard (all of them with ``again``); returns how many and their mean score."""
    card, version = scorecard_of(runtime, name)
    ids = list(call_ids) if call_ids is not None else stored_call_ids(runtime)
    apply_rules(runtime, ids)  # the rule answers read the rules' results
    rules = _rules(runtime)
    done = runtime.card_book.scored(name)
    todo = [c for c in ids if again or done.get(c, (None, None))[0] != version]
    ask = _asker(runtime) if use_llm and any(q.ask_llm for q in card.questions) else None
    counted = counted_questions(runtime, card)
    checker = CallChecker(runtime)
    payloads = call_payloads(runtime, todo)
    report = progress or (lambda done, total, line: None)
    scores = []
    for n, call_id in enumerate(todo):
        report(n, len(todo), f"scored {n} of {len(todo)} calls")
        row = runtime.ledger.get(call_id)
        if row is None or row.transcript is None or call_id not in payloads:
            continue
        view = checker.view(row, payloads[call_id])
        results = {r.rule: r for r, _, _ in runtime.rule_book.results(call_id)}
        result = score_call(card, view, results, rules, ask, counted)
        runtime.card_book.store(call_id, result, version)
        if result.score is not None:
            scores.append(result.score)
    report(len(todo), len(todo), f"scored {len(todo)} calls")
    mean = round(sum(scores) / len(scores), 1) if scores else None
    return {"scorecard": name, "version": version, "scored": len(todo), "mean": mean}


def _asker(runtime: Runtime) -> Any:
    if runtime.llm is None:
        return None
    from retrieval.inspection.llm_questions import llm_answerer

    return llm_answerer(runtime.llm)


def call_scores(runtime: Runtime, call_id: str) -> list[tuple[Scorecard, CardResult]]:
    """Every scorecard's answers for one call (scored now where missing or outdated)."""
    if runtime.ledger.get(call_id) is None:
        raise NoSuchCall(f"no call {call_id!r}")
    cards = _cards(runtime)
    for card, version in cards:
        if runtime.card_book.scored(card.name).get(call_id, (None,))[0] != version:
            score_calls(runtime, card.name, [call_id])
    stored = {r.scorecard: r for r, _ in runtime.card_book.results(call_id)}
    return [(card, stored[card.name]) for card, _ in cards if card.name in stored]


def scorecard_report(runtime: Runtime, name: str, by: str = "agent") -> dict[str, Any]:
    """Mean scores per value of a metadata field (``by``) and per week (Monday), from the
    stored scores; calls without that field count under "" (said as such by the faces)."""
    scorecard_of(runtime, name)
    if by not in runtime.settings.ingest.metadata_fields:
        raise InputError(
            f"report by {by!r}: use a metadata field "
            f"({', '.join(runtime.settings.ingest.metadata_fields)})"
        )
    scored = runtime.card_book.scored(name)
    payloads = call_payloads(runtime, list(scored))
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    totals: dict[str, list[float]] = defaultdict(list)
    for call_id, (_, score) in scored.items():
        if score is None or call_id not in payloads:
            continue
        payload = payloads[call_id]
        value = payload.get(by)
        group = ", ".join(map(str, value)) if isinstance(value, list) else str(value or "")
        week = _week(payload.get("date"))
        cells[(group, week)].append(score)
        totals[group].append(score)
    rows = []
    for group in sorted(totals, key=lambda g: sum(totals[g]) / len(totals[g])):
        weeks = {w: _mean(v) for (g, w), v in sorted(cells.items()) if g == group}
        rows.append({by: group, "calls": len(totals[group]), "mean": _mean(totals[group]),
                     "weeks": weeks})  # fmt: skip
    return {"scorecard": name, "by": by, "rows": rows}


def period_scores(
    runtime: Runtime,
    now: dict[str, Any],
    before: dict[str, Any],
    weeks: Sequence[tuple[date, date]],
    fields: Sequence[str],
) -> list[CardScores]:
    """Each scorecard's mean score over the calls matching ``now`` (a store filter: the
    Insights period and scope), ``before`` (the previous period), per week and per value of
    each metadata field: what Insights shows beside the rules' counts."""
    cards = _cards(runtime)
    if not cards:
        return []
    keys = ["call_id", "date", *fields]

    def calls_of(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {
            p.payload["call_id"]: p.payload
            for p in runtime.calls.scroll(spec, fields=keys)
            if p.payload.get("call_id")
        }

    now_calls, before_calls = calls_of(now), calls_of(before)
    out = []
    for card, _ in cards:
        scored = runtime.card_book.scored(card.name)

        def mean_of(ids: Iterable[str], scored: dict = scored) -> ScoreMean:
            values = [scored[i][1] for i in ids if i in scored and scored[i][1] is not None]
            return ScoreMean(_mean(values) if values else None, len(values))

        by_week = {
            start.isoformat(): mean_of(
                i for i, p in now_calls.items()
                if start.isoformat() <= str(p.get("date") or "")[:10] <= end.isoformat()
            )
            for start, end in weeks
        }  # fmt: skip
        groups: dict[str, dict[str, ScoreMean]] = {}
        for f in fields:
            members: dict[str, list[str]] = defaultdict(list)
            for call_id, payload in now_calls.items():
                value = payload.get(f)
                for v in value if isinstance(value, list) else [] if value is None else [value]:
                    members[str(v)].append(call_id)
            cells = {v: mean_of(ids) for v, ids in members.items()}
            groups[f] = dict(
                sorted(cells.items(), key=lambda kv: (kv[1].mean is None, kv[1].mean or 0, kv[0]))
            )
        out.append(CardScores(card.name, card.title, mean_of(now_calls), mean_of(before_calls),
                              by_week, groups))  # fmt: skip
    return out


def card_dict(
    card: Scorecard, result: CardResult, counted: Collection[str] | None = None
) -> dict[str, Any]:
    """A call's answers as the faces show them; ``counted`` (see :func:`counted_questions`)
    says for each answer whether it counts in the score."""
    questions = {q.id: q for q in card.questions}
    return {
        "scorecard": card.name,
        "title": card.title,
        "score": result.score,
        "answers": [
            {"question": a.question, "text": questions[a.question].text if a.question in
             questions else "", "weight": questions[a.question].weight if a.question in
             questions else None, "answer": a.value, "by": a.by, "note": a.note,
             "counted": counts(a, counted),
             "evidence": [{"turn": e.turn, "speaker": e.role, "text": e.text,
                           "start": e.start, "end": e.end} for e in a.evidence]}
            for a in result.answers
        ],
    }  # fmt: skip


def call_cards(runtime: Runtime, call_id: str) -> list[dict[str, Any]]:
    """One call's answers to every scorecard (:func:`card_dict`), scored now where missing or
    outdated."""
    return [
        card_dict(card, result, counted_questions(runtime, card))
        for card, result in call_scores(runtime, call_id)
    ]


def counted_questions(runtime: Runtime, card: Scorecard) -> frozenset[str]:
    """The LLM questions of ``card`` whose answers count in scores: those the reviewers have
    agreed with often enough (``LLM__SCORECARD_MIN_AGREEMENT``, the lower end of the 95%
    interval of the agreement). An LLM answer of another question is shown, not scored: a
    model that disagrees with the reviewers does not move an agent's score."""
    asked = [q.id for q in card.questions if q.ask_llm]
    floor = runtime.settings.llm.scorecard_min_agreement
    if not asked or floor <= 0:
        return frozenset(asked)
    judged = _judged(runtime, card)
    return frozenset(q for q in asked if agreement_floor(*judged.get(q, (0, 0))) >= floor)


def _judged(runtime: Runtime, card: Scorecard) -> dict[str, tuple[int, int]]:
    """Per question: (agreed, reviewed), the last review of each call counting; a review of
    an answer the scorecard could not give (unanswered) is not a judgement of its answers."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for h in runtime.card_book.reviews(card.name):
        last[(h["call_id"], h["question"])] = h
    out: dict[str, list[int]] = {}
    for (_, question), h in last.items():
        if h["automatic"] == UNANSWERED:
            continue
        cell = out.setdefault(question, [0, 0])
        cell[0] += h["value"] == h["automatic"]
        cell[1] += 1
    return {q: (a, n) for q, (a, n) in out.items()}


def _week(day: Any) -> str:
    try:
        d = date.fromisoformat(str(day)[:10])
    except ValueError:
        return ""
    return date.fromordinal(d.toordinal() - d.weekday()).isoformat()


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 1)
