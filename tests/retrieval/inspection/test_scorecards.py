"""Scorecards: questions answered by a rule, a condition or the LLM, "not applicable"
conditions, weights, and the score; the LLM's answer read strictly (its citations checked)."""

from __future__ import annotations

import pytest

from app.core.errors import InputError
from retrieval.inspection import parse_rules
from retrieval.inspection.llm_questions import read_answer
from retrieval.inspection.scorecards import (
    NO,
    NOT_APPLICABLE,
    UNANSWERED,
    YES,
    parse_scorecards,
    score_call,
)
from tests.retrieval.inspection.test_evaluate import EN, ZH

RULES = {
    r.name: r
    for r in parse_rules(
        [
            {"name": "no_greeting", "when": {"not": {"said": {"speaker": "agent",
             "within": {"first_turns": 1}, "any": ["您好", "hello"]}}}},
        ]
    )
}  # fmt: skip
CARD = {
    "name": "standard",
    "title": "标准服务评分表",
    "sections": [
        {
            "title": "开场",
            "questions": [
                {"id": "greeted", "text": "坐席是否问候？", "weight": 10,
                 "fails_on": "no_greeting"},
                {
                    "id": "verified_first",
                    "text": "Verified before the balance?",
                    "weight": 30,
                    "passes_when": {"before": [{"said": {"any": ["核实", "confirm your"]}},
                                               {"said": {"speaker": "agent",
                                                         "any": ["余额", "balance"]}}]},
                    "not_applicable": {"not": {"said": {"any": ["余额", "balance"]}}},
                },
            ],
        },
        {
            "title": "解决",
            "questions": [
                {"id": "resolved", "text": "Was it resolved?", "weight": 60, "ask_llm": True}
            ],
        },
    ],
}  # fmt: skip


def test_rule_condition_and_llm_answers_make_the_score() -> None:
    [card] = parse_scorecards({"scorecards": [CARD]}, RULES)
    asked = []

    def ask(question, call):
        asked.append(question.id)
        return YES, [], "the agent gave the balance"

    zh = score_call(card, ZH, {}, RULES, ask)
    answers = {a.question: a for a in zh.answers}
    assert (answers["greeted"].value, answers["greeted"].by) == (YES, "rule")
    assert answers["verified_first"].value == YES and answers["verified_first"].evidence
    assert answers["resolved"].value == YES and asked == ["resolved"]
    assert zh.score == 100.0
    en = score_call(card, EN, {}, RULES, ask)
    by_id = {a.question: a.value for a in en.answers}
    # No greeting, balance before verification: 60 of 100.
    assert by_id == {"greeted": NO, "verified_first": NO, "resolved": YES} and en.score == 60.0
    no_llm = score_call(card, EN, {}, RULES, None)
    assert {a.question: a.value for a in no_llm.answers}["resolved"] == UNANSWERED
    assert no_llm.score == 0.0  # 0 of the 40 answerable


def test_not_applicable_questions_count_in_no_score() -> None:
    [card] = parse_scorecards([CARD], RULES)
    from tests.retrieval.inspection.test_evaluate import call

    plain = call(("agent", "您好。", 0.0, 2.0), ("customer", "谢谢。", 3.0, 4.0))
    result = score_call(card, plain, {}, RULES, lambda q, c: (NOT_APPLICABLE, [], "n/a"))
    assert [a.value for a in result.answers] == [YES, NOT_APPLICABLE, NOT_APPLICABLE]
    assert result.score == 100.0  # 10 of 10
    nothing = score_call(card, plain, {}, RULES, lambda q, c: (UNANSWERED, [], "failed"))
    assert nothing.score == 100.0
    only_na = parse_scorecards([{**CARD, "sections": [CARD["sections"][1]]}], RULES)[0]
    assert (
        score_call(only_na, plain, {}, RULES, lambda q, c: (NOT_APPLICABLE, [], "")).score is None
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fails_on": "no_such_rule"}, "fails_on names no rule"),
        ({"ask_llm": True}, "exactly one of fails_on, passes_when, ask_llm"),
        ({"weight": 0}, "weight is a number above 0"),
        ({"text": ""}, "text (the question) is missing"),
        ({"colour": "red"}, "unknown key 'colour'"),
    ],
)
def test_a_bad_question_is_refused_saying_where(change: dict, message: str) -> None:
    question = {**CARD["sections"][0]["questions"][0], **change}
    card = {**CARD, "sections": [{"title": "x", "questions": [question]}]}
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_scorecards([card], RULES)


def test_the_llm_answer_is_read_strictly() -> None:
    sent = frozenset({1, 2, 3})
    value, evidence, note = read_answer(
        {"reason": "balance given", "answer": "yes", "turns": [2, 9, "x"]}, ZH, sent
    )
    assert value == YES and [e.turn for e in evidence] == [1]  # turn number 2 is index 1
    assert "invalid citations dropped: 9, x" in note
    assert read_answer({"answer": "maybe"}, ZH, sent)[0] == UNANSWERED
    assert read_answer({"answer": "NOT_APPLICABLE", "turns": []}, ZH, sent)[0] == NOT_APPLICABLE
