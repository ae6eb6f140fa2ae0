"""A rule on one call: every condition type, roles, time windows, ordering, negation and the
evidence (turns, times, why) a match rests on, in Chinese and English."""

from __future__ import annotations

import pytest

from retrieval.inspection import CallView, TurnView, evaluate, parse_rule


def rule(when: dict, name: str = "r"):
    return parse_rule({"name": name, "when": when})


def call(*turns: tuple, **fields) -> CallView:
    """Turns as (role, text) or (role, text, start, end)."""
    views = [
        TurnView(i, t[0], t[1], *(t[2:4] if len(t) > 2 else (None, None)))
        for i, t in enumerate(turns)
    ]
    return CallView("c", views, **fields)


ZH = call(
    ("agent", "您好，很高兴为您服务。", 0.0, 3.0),
    ("customer", "我要查一下我的账户余额。", 4.0, 7.0),
    ("agent", "好的，请先提供身份证后四位，我帮您核实。", 8.0, 12.0),
    ("customer", "1234。", 13.0, 14.0),
    ("agent", "核实通过，您的账户余额是三百元。", 50.0, 55.0),
    ("agent", "还有什么可以帮您？再见。", 56.0, 60.0),
)
EN = call(
    ("agent", "Your balance is 300 dollars.", 0.0, 4.0),
    ("customer", "Great, thanks.", 5.0, 6.0),
    ("agent", "Can you confirm your date of birth for security?", 7.0, 10.0),
    ("customer", "This is ridiculous, I want to complain.", 11.0, 14.0),
)


def test_keywords_any_all_and_at_least_with_the_turns_that_said_them() -> None:
    found = evaluate(rule({"said": {"speaker": "agent", "any": ["您好", "hello"]}}), ZH)
    assert found.matched and [e.turn for e in found.evidence] == [0]
    assert found.evidence[0].why == "said “您好”" and found.evidence[0].start == 0.0
    both = rule({"said": {"all": ["余额", "核实"]}})
    assert [e.turn for e in evaluate(both, ZH).evidence] == [1, 2, 4]
    assert not evaluate(rule({"said": {"all": ["余额", "退款"]}}), ZH).matched
    two_of = rule({"said": {"at_least": 2, "of": ["balance", "security", "refund"]}})
    assert evaluate(two_of, EN).matched
    assert not evaluate(rule({"said": {"at_least": 2, "of": ["balance", "refund"]}}), EN).matched


def test_english_words_match_at_word_starts_any_case() -> None:
    assert evaluate(rule({"said": {"any": ["COMPLAIN"]}}), EN).matched  # "complain."
    assert not evaluate(rule({"said": {"any": ["plain"]}}), EN).matched  # inside "complain"


def test_roles_keep_to_their_speaker() -> None:
    assert not evaluate(rule({"said": {"speaker": "agent", "any": ["ridiculous"]}}), EN).matched
    assert evaluate(rule({"said": {"speaker": "customer", "any": ["ridiculous"]}}), EN).matched


def test_regex() -> None:
    found = evaluate(rule({"said": {"speaker": "agent", "regex": r"余额是\S+元"}}), ZH)
    assert found.matched and found.evidence[0].why == "said “余额是三百元”"


@pytest.mark.parametrize(
    ("within", "turns"),
    [
        ({"first_seconds": 5}, [0]),
        ({"last_seconds": 10}, [4, 5]),
        ({"first_turns": 3}, [0, 2]),
        ({"last_turns": 2}, [4, 5]),
    ],
)
def test_time_and_turn_windows(within: dict, turns: list[int]) -> None:
    found = evaluate(rule({"said": {"speaker": "agent", "regex": ".", "within": within}}), ZH)
    assert [e.turn for e in found.evidence] == turns


def test_a_transcript_without_times_gets_times_from_its_words() -> None:
    untimed = call(
        ("agent", "您好，请问有什么可以帮您？"),  # 13 characters: about 3 s
        ("customer", "我想" + "查询" * 60),  # about 30 s
        ("agent", "好的，再见。"),
    )
    first = rule({"said": {"speaker": "agent", "any": ["您好"], "within": {"first_seconds": 10}}})
    last = rule({"said": {"speaker": "agent", "any": ["您好"], "within": {"last_seconds": 10}}})
    assert evaluate(first, untimed).matched and not evaluate(last, untimed).matched
    assert evaluate(first, untimed).evidence[0].start is None  # estimated times are not shown


def test_before_is_about_the_first_turn_of_each() -> None:
    verified_first = rule(
        {"before": [{"said": {"any": ["核实"]}}, {"said": {"speaker": "agent", "any": ["余额"]}}]}
    )
    assert evaluate(verified_first, ZH).matched  # verified (turn 2) before the balance (turn 4)
    account_first = rule(
        {"before": [{"said": {"any": ["confirm your"]}}, {"said": {"any": ["balance"]}}]}
    )
    assert not evaluate(account_first, EN).matched  # the balance came first
    missing = rule({"before": [{"said": {"any": ["退款"]}}, {"said": {"any": ["余额"]}}]})
    assert not evaluate(missing, ZH).matched


def test_negation_all_and_any() -> None:
    no_apology = rule(
        {
            "all": [
                {"said": {"speaker": "customer", "any": ["complain", "投诉"]}},
                {"not": {"said": {"speaker": "agent", "any": ["sorry", "抱歉"]}}},
            ]
        }
    )
    found = evaluate(no_apology, EN)
    assert found.matched and [e.turn for e in found.evidence] == [3]  # `not` rests on no turn
    assert not evaluate(no_apology, ZH).matched
    either = rule({"any": [{"said": {"any": ["退款"]}}, {"said": {"any": ["再见"]}}]})
    assert [e.turn for e in evaluate(either, ZH).evidence] == [5]
    assert evaluate(rule({"not": {"said": {"any": ["退款"]}}}), ZH).evidence == ()


def test_silence_by_who_is_kept_waiting() -> None:
    # The customer spoke at 13-14 s; the agent answered at 50 s: 36 s of waiting.
    waited = evaluate(rule({"silence": {"waiting": "customer", "min_seconds": 30}}), ZH)
    assert waited.matched and [e.turn for e in waited.evidence] == [4]
    assert waited.evidence[0].why == "silence of 36 s before this turn"
    assert not evaluate(rule({"silence": {"waiting": "agent", "min_seconds": 30}}), ZH).matched
    assert not evaluate(rule({"silence": {"waiting": "any", "min_seconds": 40}}), ZH).matched
    untimed = call(("customer", "hello"), ("agent", "hi"))
    assert not evaluate(rule({"silence": {"min_seconds": 1}}), untimed).matched


def test_metrics_and_what_the_call_is() -> None:
    c = call(
        ("agent", "hi", 0.0, 1.0),
        metrics={"longest_silence": 36.0},
        labels=["refund", "billing"],
        predicted="unknown",
        confidence=0.3,
        metadata={"team": "A", "tags": ["vip", "new"]},
    )
    holds = [
        {"metric": "longest_silence>=30"},
        {"label": ["refund"]},
        {"predicted": ["unknown"]},
        {"unknown": True},
        {"confidence": "<0.5"},
        {"metadata": {"team": ["A"]}},
        {"metadata": {"tags": ["vip"]}},
    ]
    fails = [
        {"metric": "longest_silence>40"},
        {"metric": "interruptions>=1"},  # not measured on this call: does not hold
        {"label": ["delivery"]},
        {"unknown": False},
        {"confidence": ">=0.5"},
        {"metadata": {"team": ["B"]}},
        {"metadata": {"queue": ["x"]}},
    ]
    for when in holds:
        assert evaluate(rule(when), c).matched, when
    for when in fails:
        assert not evaluate(rule(when), c).matched, when


def test_meaning_uses_the_similarity_of_stored_turn_vectors() -> None:
    asked: list[tuple[str, ...]] = []

    def similarity(examples: tuple[str, ...]) -> dict[int, tuple[float, str]]:
        asked.append(examples)
        return {1: (0.91, "我要投诉"), 3: (0.95, "我要投诉"), 2: (0.99, "我要投诉")}

    c = call(*[(r, t, s, e) for r, t, s, e in [(t.role, t.text, t.start, t.end) for t in ZH.turns]])
    c.similarity = similarity
    found = evaluate(
        rule(
            {"meaning": {"speaker": "customer", "examples": ["我要投诉"], "min_similarity": 0.92}}
        ),
        c,
    )
    # Turn 2 is the agent's; turn 1 is under the threshold.
    assert [e.turn for e in found.evidence] == [3] and found.evidence[
        0
    ].why == "means “我要投诉” (0.95)"
    assert asked == [("我要投诉",)]
    assert not evaluate(rule({"meaning": {"examples": ["x"]}}), ZH).matched  # no vectors: no


def test_a_word_is_found_once_in_the_call_and_credited_to_its_turn() -> None:
    """Keywords are searched in the whole call's text; a hit at a turn's start, a word
    spread over several turns and a scope that leaves the only hit out all come out as a
    turn-by-turn search would have them."""
    opening = call(("customer", "refund please"), ("agent", "Refunds take a week."),
                   ("customer", "ok"))  # fmt: skip
    found = evaluate(rule({"said": {"any": ["refund"]}}), opening)
    assert [(e.turn, e.why) for e in found.evidence] == [(0, "said “refund”"), (1, "said “refund”")]
    assert not evaluate(rule({"said": {"speaker": "customer", "any": ["week"]}}), opening).matched
    # "okay" is not "ok" + a turn boundary: the line break is not part of any word.
    assert not evaluate(rule({"said": {"all": ["ok", "refund please ok"]}}), opening).matched
    assert evaluate(rule({"said": {"all": ["ok", "please"]}}), opening).matched
    assert not evaluate(rule({"said": {"any": ["fund"]}}), opening).matched  # inside "refund"


def test_a_call_without_timings_still_has_its_number_of_turns() -> None:
    untimed = call(("agent", "您好"), ("customer", "查余额"), ("agent", "好的"))
    assert evaluate(rule({"metric": "turns>=3"}), untimed).matched
    assert not evaluate(rule({"metric": "turns>=4"}), untimed).matched
    assert not evaluate(rule({"metric": "longest_silence>=0"}), untimed).matched  # not known
