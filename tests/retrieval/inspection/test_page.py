"""Rules on a page of calls give what they give call by call: every condition type, roles,
windows (timed and untimed calls), ordering, negation, regexes that may span turns, meaning
over stored vectors, in Chinese and English (the demo's 120 calls, with times and metadata
added)."""

# ruff: noqa: E501 (the rules are one YAML line each, as a supervisor would write them)
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import yaml

from retrieval.inspection import CallView, TurnView, evaluate, parse_rules
from retrieval.inspection.page import evaluate_page

DEMO = Path(__file__).resolve().parents[3] / "app" / "demo" / "calls.jsonl"

RULES = """
rules:
- {name: greet, when: {said: {speaker: agent, any: [您好, hello, "thank you for calling"], within: {first_turns: 2}}}}
- {name: no_greet, when: {not: {said: {speaker: agent, any: [您好, hello], within: {first_seconds: 10}}}}}
- {name: all_words, when: {said: {all: [refund, order]}}}
- {name: all_dup, when: {said: {all: [退款, 退款]}}}
- {name: two_of, when: {said: {at_least: 2, of: [退款, 快递, 发票, refund, delivery, invoice, account]}}}
- {name: cust_last, when: {said: {speaker: customer, any: [谢谢, thanks, bye, 再见], within: {last_seconds: 20}}}}
- {name: agent_last_turns, when: {said: {speaker: agent, any: ["anything else", 还有什么], within: {last_turns: 3}}}}
- {name: digits, when: {said: {regex: "\\\\d{3,}"}}}
- {name: money_zh, when: {said: {speaker: agent, regex: "[0-9一二三四五六七八九十百千]+元"}}}
- {name: starts_ok, when: {said: {regex: "^(ok|好的)"}}}
- {name: word_b, when: {said: {regex: "\\\\bsorry\\\\b"}}}
- {name: spans, when: {said: {regex: "[^a-z]{40}"}}}
- {name: spaced, when: {said: {regex: "the\\\\s+order"}}}
- {name: empty_ok, when: {said: {regex: "x*", within: {first_turns: 1}}}}
- {name: w_first_s, when: {said: {speaker: agent, regex: ".", within: {first_seconds: 15}}}}
- {name: w_last_s, when: {said: {speaker: customer, regex: ".", within: {last_seconds: 15}}}}
- {name: w_first_t, when: {said: {speaker: agent, regex: ".", within: {first_turns: 3}}}}
- {name: w_last_t, when: {said: {regex: ".", within: {last_turns: 3}}}}
- {name: meaning_any, when: {meaning: {examples: [我要投诉, I want to complain]}}}
- {name: meaning_cust, when: {meaning: {examples: [refund please, 退钱], speaker: customer, within: {first_seconds: 60}, min_similarity: 0.35}}}
- {name: silent, when: {silence: {waiting: customer, min_seconds: 4}}}
- {name: silent_any, when: {silence: {waiting: any, min_seconds: 6}}}
- {name: long, when: {metric: "turns>=12"}}
- {name: labeled, when: {label: [complaint_escalation, billing_dispute]}}
- {name: pred, when: {predicted: [refund_request]}}
- {name: unk, when: {unknown: true}}
- {name: conf, when: {confidence: "<0.6"}}
- {name: team, when: {metadata: {team: [北京一组]}}}
- {name: order, when: {before: [{said: {any: [order, 订单]}}, {said: {any: [refund, 退款]}}]}}
- {name: order_meaning, when: {before: [{meaning: {examples: [hello]}}, {said: {speaker: customer, regex: "\\\\?|？"}}]}}
- name: nested
  when:
    all:
      - any: [{said: {any: [sorry, 抱歉, 对不起]}}, {meaning: {examples: [我很抱歉]}}]
      - not: {label: [general_inquiry]}
      - any: [{metric: "turns>=4"}, {silence: {min_seconds: 2}}]
- {name: none_said, when: {any: [{said: {any: [zzzz]}}, {not: {said: {speaker: customer, any: [the, 的]}}}]}}
"""


def _vector(rand: random.Random) -> np.ndarray:
    # Components 0 or ±0.25 in 16 dimensions: every dot product is exact in float32, so the
    # page's one product and a call's own product give the same bits.
    return np.array([rand.choice((-0.25, 0.0, 0.25)) for _ in range(16)], dtype=np.float32)


class Vectors:
    """Stored pieces (one or two a turn, sometimes of a turn the view lacks) and examples."""

    def __init__(self, calls: list[CallView]) -> None:
        rand = random.Random(7)
        self.stored: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for c in calls:
            turns = [t.index for t in c.turns for _ in range(rand.choice((1, 1, 2)))] + [99]
            self.stored[c.call_id] = (
                np.array(turns, dtype=np.int64),
                np.stack([_vector(rand) for _ in turns]),
            )

    def pieces(self, call_id: str) -> tuple[np.ndarray, np.ndarray]:
        return self.stored[call_id]

    def examples(self, examples: tuple[str, ...]) -> np.ndarray:
        return np.stack([_vector(random.Random(x)) for x in examples])

    def similarity(self, call_id: str):
        def scores(examples: tuple[str, ...]) -> dict[int, tuple[float, str]]:
            turns, matrix = self.stored[call_id]
            product = matrix @ self.examples(examples).T
            best: dict[int, tuple[float, str]] = {}
            for turn, k, s in zip(
                turns.tolist(), product.argmax(1), product.max(1).tolist(), strict=True
            ):
                if s > best.get(turn, (-1.0, ""))[0]:
                    best[turn] = (s, examples[k])
            return best

        return scores


def demo_calls() -> list[CallView]:
    rand = random.Random(3)
    calls = []
    for n, line in enumerate(DEMO.read_text(encoding="utf-8").splitlines()):
        item = json.loads(line)
        timed, at, turns = n % 2 == 0, 0.0, []
        for i, t in enumerate(item["turns"]):
            start = at + rand.choice((0.2, 1.0, 3.0, 5.0, 8.0))
            end = start + rand.uniform(1.0, 9.0)
            at = end - rand.choice((0.0, 0.0, 1.5))  # some overlap
            times = (start, end) if timed else (None, None)
            turns.append(TurnView(i, t["speaker"], t["text"], *times))
        calls.append(
            CallView(
                item["id"],
                turns,
                duration=at + 2.0 if timed else None,
                metrics={"turns": float(len(turns))} if timed else {},
                labels=item.get("labels", []),
                predicted=rand.choice(["refund_request", "unknown", "general_inquiry", None]),
                confidence=rand.choice([None, 0.3, 0.7, 0.95]),
                metadata={"team": rand.choice(["北京一组", "上海一组"])},
                meaning_threshold=0.3,
            )
        )
    return calls


def test_a_page_gives_what_each_call_gives() -> None:
    rules = parse_rules(yaml.safe_load(RULES))
    calls = demo_calls()
    vectors = Vectors(calls)
    for c in calls:
        c.similarity = vectors.similarity(c.call_id)
    page = evaluate_page(rules, calls, vectors)
    matched = {r.name: 0 for r in rules}
    for c, results in zip(calls, page, strict=True):
        for rule, got in zip(rules, results, strict=True):
            assert got == evaluate(rule, c), (rule.name, c.call_id)
            matched[rule.name] += got.matched
    # Every rule matches some calls and misses others (the comparison is not of empty sets),
    # bar the one whose words are never said, the empty match every first turn has and the
    # windows (their evidence is every turn inside).
    never_or_always = {n for n, k in matched.items() if not 0 < k < len(calls)}
    assert never_or_always - {"w_first_s", "w_last_s", "w_first_t", "w_last_t"} == {
        "all_dup",
        "empty_ok",
    }


def test_without_vectors_meaning_asks_each_call() -> None:
    rules = parse_rules(yaml.safe_load(RULES))
    calls = demo_calls()[:10]
    vectors = Vectors(calls)
    for c in calls:
        c.similarity = vectors.similarity(c.call_id)
    for c, results in zip(calls, evaluate_page(rules, calls), strict=True):
        assert results == [evaluate(r, c) for r in rules]


def test_an_empty_page_and_a_call_without_turns() -> None:
    rules = parse_rules(yaml.safe_load(RULES))
    assert evaluate_page(rules, []) == []
    bare = CallView("bare", [])
    assert evaluate_page(rules, [bare], Vectors([bare])) == [[evaluate(r, bare) for r in rules]]


def test_any_case_words_are_found_as_their_patterns_find_them() -> None:
    """English keywords are looked up in the page's lowercase text, then checked by their
    pattern: the same turns as the pattern alone, whatever the case, word starts, overlaps
    (``aa`` in ``aaaa``), and letters that match in any case but lowercase otherwise."""
    texts = [
        "REFUND please, it was Refunded? nonrefundable!",
        "aaaa a-aa baa",
        "Diſcount for the SSD, the İnvoice and ınvoice",
        "退款 refund 退款REFUND",
    ]
    words = ["refund", "aa", "discount", "invoice", "ss", "REFUND", "a-a", "退款refund"]
    rules = parse_rules(
        {"rules": [{"name": f"w{i}", "when": {"said": {"any": [w]}}} for i, w in enumerate(words)]}
    )
    for exotic in (False, True):  # a page without and with the letters that fold otherwise
        calls = [
            CallView(f"c{k}", [TurnView(0, "agent", text if exotic else text.replace("ſ", "s")
                                        .replace("İ", "I").replace("ı", "i"))])
            for k, text in enumerate(texts)
        ]  # fmt: skip
        got = evaluate_page(rules, calls)
        for c, results in zip(calls, got, strict=True):
            assert results == [evaluate(r, c) for r in rules], c.turns[0].text
    assert [r.matched for r in got[2]] == [False, False, True, True, True, False, False, False]
