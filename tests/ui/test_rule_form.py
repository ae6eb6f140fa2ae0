"""The rule form writes rules the service reads: every kind of condition, who and where,
absence, a second condition joined by and / or / before; a new rule appended to the editor
keeps its comments, a rule of the same name is replaced, and a bad rule or editor is refused."""

from __future__ import annotations

import pytest

from app.core.errors import InputError
from app.services import inspection
from ui.rule_form import condition, editor_rules, rule_of, with_rule


@pytest.mark.parametrize(
    ("form", "written"),
    [
        (
            ("words_any", "您好，你好、hello\nhi", "agent", "first_seconds", 10),
            {
                "said": {
                    "speaker": "agent",
                    "within": {"first_seconds": 10},
                    "any": ["您好", "你好", "hello", "hi"],
                }
            },
        ),
        (("words_all", "退款, 发票", "any", "anywhere", None), {"said": {"all": ["退款", "发票"]}}),
        (
            ("regex", r"\d{6}", "customer", "last_turns", 2),
            {"said": {"speaker": "customer", "within": {"last_turns": 2}, "regex": r"\d{6}"}},
        ),
        (
            ("meaning", "我要投诉, 马上\nI want to complain", "customer", "anywhere", None),
            {
                "meaning": {
                    "speaker": "customer",
                    "examples": ["我要投诉, 马上", "I want to complain"],
                }
            },
        ),
        (
            ("silence", "", "customer", "anywhere", 45),
            {"silence": {"waiting": "customer", "min_seconds": 45}},
        ),
        (
            ("metric", "longest_silence>=30", "any", "anywhere", None),
            {"metric": "longest_silence>=30"},
        ),
    ],
)
def test_each_kind_is_written_as_the_rule_file_says_it(form: tuple, written: dict) -> None:
    assert condition(*form) == written
    rule = rule_of("r", "", "low", written, False, "none", None, False)
    assert len(inspection.read_rules(with_rule("", rule))) == 1


def test_absence_and_a_second_condition() -> None:
    hello = condition("words_any", "您好", "agent", "first_turns", 1)
    verify = condition("words_any", "核实", "agent", "anywhere", None)
    assert rule_of("a", "", "high", hello, True, "none", verify, False)["when"] == {"not": hello}
    both = rule_of("b", "T", "low", verify, False, "before", hello, True)
    assert both["when"] == {"before": [verify, {"not": hello}]} and both["title"] == "T"
    assert rule_of("c", "", "low", verify, False, "or", hello, False)["when"] == {
        "any": [verify, hello]
    }


def test_a_new_rule_is_appended_and_the_editors_comments_stay() -> None:
    start = inspection.starter_rules()
    rule = rule_of("未问候", "坐席未问候", "high",
                   condition("words_any", "您好", "agent", "first_seconds", 10), True,
                   "none", None, False)  # fmt: skip
    out = with_rule(start, rule)
    assert out.startswith(start.rstrip()) and "#" in start
    names = [r.name for r in inspection.read_rules(out)]
    assert names[-1] == "未问候" and len(names) == len(inspection.read_rules(start)) + 1
    regex = condition("regex", "您好", "agent", "anywhere", None)
    changed = rule_of("未问候", "改过", "low", regex, False, "none", None, False)
    again = inspection.read_rules(with_rule(out, changed))
    assert [r.name for r in again] == names and again[-1].title == "改过"


def test_a_bad_rule_or_editor_is_refused() -> None:
    empty = rule_of("r", "", "low", condition("words_any", " , ", "any", "anywhere", None), False,
                    "none", None, False)  # fmt: skip
    with pytest.raises(InputError, match="non-empty list of words"):
        with_rule("", empty)
    bad_name = rule_of("Bad Name", "", "low", condition("words_any", "x", "any", "anywhere", None),
                       False, "none", None, False)  # fmt: skip
    with pytest.raises(InputError, match="name"):
        with_rule("", bad_name)
    for text in ("rules: 5", "{a: [", "just words"):
        with pytest.raises(ValueError):
            editor_rules(text)
    assert editor_rules("") == {"rules": []} and editor_rules("[]") == {"rules": []}
