"""Reading quality-inspection rules: every condition type, and a clear error (saying where)
for anything that could not run."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest
import yaml

from app.core.errors import InputError
from retrieval.inspection.rules import (
    CallIs,
    Group,
    Meaning,
    MetricBound,
    Said,
    Silence,
    Window,
    parse_rules,
)

RULES = """
rules:
  - name: greeting
    title: 坐席未问候
    severity: low
    when:
      not:
        said: {speaker: agent, within: {first_seconds: 15}, any: [您好, hello]}
  - name: verify_first
    severity: high
    when:
      before:
        - said: {speaker: agent, all: [核实, 身份证]}
        - said: {speaker: agent, at_least: 2, of: [余额, 账户, 卡号]}
  - name: 投诉
    when:
      any:
        - meaning: {speaker: customer, examples: [我要投诉], min_similarity: 0.8}
        - said: {regex: "滚|shut up", within: {last_turns: 3}}
  - name: calls
    when:
      all:
        - silence: {waiting: customer, min_seconds: 20}
        - metric: longest_silence>=20
        - label: [refund]
        - predicted: refund
        - unknown: false
        - confidence: "<0.5"
        - metadata: {team: [A, B]}
"""


def test_every_condition_type_is_read() -> None:
    greeting, verify, complaint, calls = parse_rules(yaml.safe_load(RULES))
    assert (greeting.name, greeting.title, greeting.severity) == ("greeting", "坐席未问候", "low")
    assert greeting.when == Group(
        "not",
        (Said("any", ("您好", "hello"), speaker="agent", within=Window("first_seconds", 15)),),
    )
    first, then = verify.when.parts
    assert verify.when.op == "before" and first.mode == "all"
    assert (then.mode, then.n, then.words) == ("at_least", 2, ("余额", "账户", "卡号"))
    meaning, regex = complaint.when.parts
    assert meaning == Meaning(("我要投诉",), 0.8, "customer", None)
    assert regex.regex == "滚|shut up" and regex.within == Window("last_turns", 3)
    assert calls.when.parts == (
        Silence(20.0, "customer"),
        MetricBound("longest_silence", "gte", 20.0),
        CallIs("label", ("refund",)),
        CallIs("predicted", ("refund",)),
        CallIs("unknown", value=0.0),
        CallIs("confidence", op="lt", value=0.5),
        CallIs("metadata", ("A", "B"), key="team"),
    )
    assert complaint.source["name"] == "投诉"  # as written, for the editor


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "Bad Name", "when": {"unknown": True}}, "a name is 1-60 lowercase"),
        ({"name": "r"}, "rule r: no condition (when)"),
        ({"name": "r", "when": {"unknown": True}, "severity": "urgent"}, "severity is one of"),
        (
            {"name": "r", "when": {"said": {"any": []}}},
            "rule r: when.said.any: expected a non-empty",
        ),
        ({"name": "r", "when": {"said": {"any": ["a"], "regex": "b"}}}, "exactly one of"),
        ({"name": "r", "when": {"said": {"regex": "(unclosed"}}}, "when.said.regex: missing )"),
        ({"name": "r", "when": {"said": {"at_least": 3, "of": ["a", "b"]}}}, "from 1 to 2"),
        ({"name": "r", "when": {"said": {"any": ["a"], "speaker": "boss"}}}, "speaker: one of"),
        ({"name": "r", "when": {"said": {"any": ["a"], "within": {"first": 5}}}}, "unknown key"),
        ({"name": "r", "when": {"all": [{"unknown": True}, {"sad": {}}]}}, "when.all[1].sad"),
        ({"name": "r", "when": {"before": [{"unknown": True}]}}, "expected two conditions"),
        ({"name": "r", "when": {"metric": "loudness>3"}}, "unknown metric"),
        ({"name": "r", "when": {"metric": "longest_silence>>3"}}, "written as >="),
        ({"name": "r", "when": {"meaning": {"examples": ["x"], "min_similarity": 2}}}, "0 to 1"),
        ({"name": "r", "when": {"silence": {"min_seconds": -1}}}, "min_seconds: a number"),
        ({"name": "r", "when": {"metadata": {"a": ["x"], "b": ["y"]}}}, "one field per"),
        ({"name": "r", "when": {"unknown": True, "label": ["x"]}}, "a mapping with one key"),
    ],
)
def test_a_rule_that_could_not_run_is_refused_saying_where(rule: dict, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        parse_rules([rule])


def test_names_are_unique_and_a_file_holds_rules() -> None:
    with pytest.raises(InputError, match="used twice"):
        parse_rules([{"name": "a", "when": {"unknown": True}}] * 2)
    with pytest.raises(InputError, match="expected a list of rules"):
        parse_rules({"rule": []})


def test_the_starter_pack_reads_and_speaks_both_languages() -> None:
    text = files("retrieval.inspection").joinpath("starter_rules.yaml").read_text("utf-8")
    rules = parse_rules(yaml.safe_load(text))
    assert len(rules) >= 6
    for rule in rules:
        assert rule.title and rule.description, rule.name
        assert any("\u4e00" <= c <= "\u9fff" for c in rule.title + rule.description), rule.name
