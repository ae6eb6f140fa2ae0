"""Scorecards (质检评分表): sections of weighted questions, each answered for a call by a rule
or by the LLM, with "not applicable" conditions, and the call's score.

Written in YAML beside the rules::

    scorecards:
      - name: standard
        title: 标准服务评分表
        sections:
          - title: 开场 Opening
            questions:
              - id: greeted
                text: 坐席是否在开场问候客户？ Did the agent greet the caller?
                weight: 10
                fails_on: no_greeting          # a rule: the question fails when it matches
              - id: verified
                text: Was the caller verified before account details were discussed?
                weight: 20
                passes_when: {before: [...]}   # or a condition of its own
                not_applicable: {not: {said: {any: [余额, balance]}}}
              - id: resolved
                text: 客户的问题是否得到解决？ Was the customer's problem resolved?
                weight: 30
                ask_llm: true                  # the LLM answers yes / no / not applicable

The score is the weight of the questions answered yes over the weight of those answered yes
or no, as a percentage; a question not applicable (or one the LLM could not answer) counts in
neither, and a call with no answerable question has no score.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import InputError
from retrieval.inspection.evaluate import (
    CallView,
    Evidence,
    RuleResult,
    check,
    evaluate,
    evidence_of,
)
from retrieval.inspection.rules import Condition, Rule, parse_condition

_ID = re.compile(r"^[a-z0-9_\u4e00-\u9fff]{1,60}$")
#: What a question may be answered.
YES, NO, NOT_APPLICABLE, UNANSWERED = "yes", "no", "not_applicable", "unanswered"


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    weight: float
    #: Answered by a rule: it fails when this rule matches the call.
    fails_on: str | None = None
    #: Answered by a condition: it passes when the condition holds.
    passes_when: Condition | None = None
    #: Answered by the LLM (question + the call's turns -> yes / no / not applicable).
    ask_llm: bool = False
    not_applicable: Condition | None = None


@dataclass(frozen=True)
class Section:
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Scorecard:
    name: str
    title: str
    sections: tuple[Section, ...]
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def questions(self) -> list[Question]:
        return [q for s in self.sections for q in s.questions]


@dataclass(frozen=True)
class Answer:
    question: str
    value: str
    #: ``rule``, ``condition`` or ``llm``.
    by: str
    evidence: tuple[Evidence, ...] = ()
    #: Why, in a few words (the LLM's reason; "rule no_greeting matched").
    note: str = ""


@dataclass(frozen=True)
class CardResult:
    scorecard: str
    #: 0-100, None when no question could be answered yes or no.
    score: float | None
    answers: tuple[Answer, ...]


#: ``ask(question, call) -> (yes / no / not_applicable / unanswered, evidence, note)``.
LLMAnswerer = Any


def parse_scorecards(data: Any, rules: dict[str, Rule]) -> list[Scorecard]:
    """Scorecards from parsed YAML/JSON (``{"scorecards": [...]}`` or a list); a question's
    ``fails_on`` must name one of ``rules``."""
    items = data.get("scorecards") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InputError('scorecards: expected a list (or {"scorecards": [...]})')
    cards = [_card(item, rules) for item in items]
    names = [c.name for c in cards]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"scorecards: the name {twice[0]!r} is used twice")
    return cards


def _card(item: Any, rules: dict[str, Rule]) -> Scorecard:
    if not isinstance(item, dict) or not _ID.match(str(item.get("name", ""))):
        raise InputError("scorecard: a name of 1-60 lowercase letters, digits, _ or Chinese")
    where = f"scorecard {item['name']}"
    extra = sorted(set(item) - {"name", "title", "sections"})
    if extra:
        raise InputError(f"{where}: unknown key {extra[0]!r}")
    sections = item.get("sections")
    if not isinstance(sections, list) or not sections:
        raise InputError(f"{where}: expected sections (a non-empty list)")
    seen: set[str] = set()
    parsed = []
    for i, section in enumerate(sections):
        here = f"{where}: sections[{i}]"
        if not isinstance(section, dict) or not isinstance(section.get("questions"), list):
            raise InputError(f"{here}: expected a title and questions (a list)")
        questions = []
        for j, q in enumerate(section["questions"]):
            question = _question(q, f"{here}.questions[{j}]", rules)
            if question.id in seen:
                raise InputError(f"{where}: question id {question.id!r} is used twice")
            seen.add(question.id)
            questions.append(question)
        if not questions:
            raise InputError(f"{here}: no questions")
        parsed.append(Section(str(section.get("title", "")), tuple(questions)))
    return Scorecard(item["name"], str(item.get("title", "")), tuple(parsed), source=dict(item))


def _question(q: Any, where: str, rules: dict[str, Rule]) -> Question:
    if not isinstance(q, dict):
        raise InputError(f"{where}: expected a mapping")
    allowed = {"id", "text", "weight", "fails_on", "passes_when", "ask_llm", "not_applicable"}
    extra = sorted(set(q) - allowed)
    if extra:
        raise InputError(f"{where}: unknown key {extra[0]!r}; known: {', '.join(sorted(allowed))}")
    qid = str(q.get("id", ""))
    if not _ID.match(qid):
        raise InputError(f"{where}: id is 1-60 lowercase letters, digits, _ or Chinese")
    text = q.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: text (the question) is missing")
    weight = q.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1000:
        raise InputError(f"{where}: weight is a number above 0 (at most 1000)")
    ways = [k for k in ("fails_on", "passes_when", "ask_llm") if q.get(k) not in (None, False)]
    if len(ways) != 1:
        raise InputError(f"{where}: answered by exactly one of fails_on, passes_when, ask_llm")
    rule = q.get("fails_on")
    if rule is not None and rule not in rules:
        raise InputError(f"{where}: fails_on names no rule: {rule!r}")
    return Question(
        id=qid,
        text=text.strip(),
        weight=float(weight),
        fails_on=rule,
        passes_when=parse_condition(q["passes_when"], f"{where}.passes_when")
        if "passes_when" in q
        else None,
        ask_llm=bool(q.get("ask_llm")),
        not_applicable=parse_condition(q["not_applicable"], f"{where}.not_applicable")
        if "not_applicable" in q
        else None,
    )


def score_call(
    card: Scorecard,
    call: CallView,
    results: dict[str, RuleResult],
    rules: dict[str, Rule],
    ask: LLMAnswerer | None = None,
    counted: Collection[str] | None = None,
) -> CardResult:
    """Answer every question of ``card`` for ``call`` and score it. ``results``: what the
    rules found on the call (a missing one is evaluated here); ``ask``: the LLM, or None (its
    questions are then unanswered); ``counted``: see :func:`card_score`."""
    answers = []
    for q in card.questions:
        if q.not_applicable is not None and check(q.not_applicable, call).holds:
            answers.append(Answer(q.id, NOT_APPLICABLE, "condition"))
            continue
        if q.fails_on is not None:
            found = results.get(q.fails_on) or evaluate(rules[q.fails_on], call)
            value = NO if found.matched else YES
            note = f"rule {q.fails_on} matched" if found.matched else ""
            answers.append(Answer(q.id, value, "rule", found.evidence, note))
        elif q.passes_when is not None:
            held = check(q.passes_when, call)
            answers.append(Answer(q.id, YES if held.holds else NO, "condition",
                                  evidence_of(call, held.hits)))  # fmt: skip
        elif ask is None:
            answers.append(Answer(q.id, UNANSWERED, "llm", note="no LLM configured"))
        else:
            value, evidence, note = ask(q, call)
            answers.append(Answer(q.id, value, "llm", tuple(evidence), note))
    return CardResult(card.name, card_score(card, answers, counted), tuple(answers))


def card_score(
    card: Scorecard,
    answers: Sequence[Answer],
    counted: Collection[str] | None = None,
) -> float | None:
    """The weight answered yes over the weight answered yes or no, 0-100. ``counted``: the
    questions whose LLM answers count (None: all); an LLM answer to another question is shown
    but left out, as if unanswered (a reviewer's answer always counts)."""
    weights = {q.id: q.weight for q in card.questions}
    kept = [a for a in answers if counts(a, counted)]
    got = sum(weights[a.question] for a in kept if a.value == YES)
    out_of = sum(weights[a.question] for a in kept if a.value in (YES, NO))
    return round(100 * got / out_of, 1) if out_of else None


def counts(answer: Answer, counted: Collection[str] | None) -> bool:
    """Whether ``answer`` counts in a score (see :func:`card_score`)."""
    return answer.by != "llm" or counted is None or answer.question in counted


def agreement_floor(agreed: int, reviewed: int, z: float = 1.96) -> float:
    """The lower end of the 95% Wilson interval of an agreement of ``agreed`` in ``reviewed``
    (0 with no review): 10 of 10 gives 0.72, 19 of 20 0.76, 18 of 20 0.699, 8 of 10 0.49: how
    sure the reviews make it that the automatic answers agree at least that often."""
    if reviewed <= 0:
        return 0.0
    p, n = agreed / reviewed, reviewed
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - margin) / (1 + z * z / n)
