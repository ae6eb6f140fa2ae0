"""Quality-inspection rules on the stored calls: saved as versions, applied to every call
without embedding the calls again, only where a rule changed, undone, previewed without a
trace, checked on new, reclassified and relabeled calls, and filterable as categories; meaning
conditions on the real turn vectors in Chinese and English."""

from __future__ import annotations

import json

import pytest

from app.core.errors import InputError
from app.core.filters import CallFilter
from app.runtime import Runtime
from app.services import inspection
from app.services.labels import relabel_call
from app.services.search import search
from tests.textcalls import text_sources

CALLS = {
    "zh-good": (["balance"], "2026-10-01", [
        ("agent", "您好，很高兴为您服务。"),
        ("customer", "我想查一下账户余额。"),
        ("agent", "好的，请先提供身份证后四位，我帮您核实。"),
        ("customer", "1234。"),
        ("agent", "核实通过，您的账户余额是三百元。还有什么可以帮您？"),
    ]),
    "zh-bad": (["complaint"], "2026-10-02", [
        ("agent", "喂。"),
        ("customer", "我要投诉，你们的快递一周都没到！"),
        ("agent", "不关我的事，你自己看着办。"),
    ]),
    "en-bad": (["complaint"], "2026-10-03", [
        ("agent", "Your balance is 300 dollars."),
        ("customer", "I'd like to file a complaint about the engineer who never came."),
        ("agent", "Can you confirm your date of birth?"),
    ]),
    "en-good": (["balance"], "2026-10-04", [
        ("agent", "Hello, thank you for calling."),
        ("customer", "Thanks, I just wanted to check my balance."),
        ("agent", "Sure, it is 300 dollars. Anything else? Goodbye."),
    ]),
}  # fmt: skip

RULES = """
rules:
  - name: no_greeting
    title: 坐席未问候
    severity: low
    when:
      not:
        said: {speaker: agent, within: {first_turns: 1}, any: [您好, hello]}
  - name: complaint
    severity: medium
    when:
      meaning: {speaker: customer, examples: [我要投诉你们, I want to make a complaint]}
  - name: forbidden
    severity: critical
    when: {said: {speaker: agent, regex: "不关我的事|shut up"}}
"""


@pytest.fixture
def stored(make_settings, embedder):
    with Runtime(make_settings(), embedder=embedder) as runtime:
        assert {r.status for r in runtime.pipeline().run(text_sources(CALLS))} == {"indexed"}
        yield runtime


def with_agents(sources: list, agents: tuple[str, ...] = ("Li", "Wang", "Li", "Wang")) -> list:
    """The test calls with an agent each (zh-good Li, zh-bad Wang, en-bad Li, en-good Wang)."""
    for source, agent in zip(sources, agents, strict=True):
        source.metadata = {"agent": agent}
    return sources


def matched(runtime: Runtime, rule: str) -> list[str]:
    return runtime.rule_book.matched_calls(rule)


def test_saved_rules_are_applied_to_every_stored_call_and_filter_as_categories(
    stored: Runtime,
) -> None:
    embedded = stored.embedder.calls if hasattr(stored.embedder, "calls") else None
    actions, applied = inspection.save_rules(stored, RULES, by="supervisor")
    assert actions == {"no_greeting": "added", "complaint": "added", "forbidden": "added"}
    assert applied is not None and applied.calls == 4 and applied.checked == 12
    assert matched(stored, "no_greeting") == ["en-bad", "zh-bad"]
    # Meaning, on the turn vectors the index holds: a complaint in each language.
    assert matched(stored, "complaint") == ["en-bad", "zh-bad"]
    assert matched(stored, "forbidden") == ["zh-bad"]
    if embedded is not None:  # only the rules' example sentences were embedded
        assert stored.embedder.calls - embedded <= 1
    # The matched rules ride on the call's points: filter and facet like labels.
    assert stored.calls.count({"categories": "forbidden"}) == 1
    assert stored.turns.count({"categories": "forbidden"}) == 3  # every turn of zh-bad
    found = search(stored, "快递", filters=CallFilter(categories=("no_greeting",)), k=5)
    assert {p.call_id for p in found.passages} <= {"zh-bad", "en-bad"} and found.passages
    assert CallFilter.parse(["category=complaint"]).spec() == {"categories": "complaint"}
    rules = {r.name: r for r in inspection.list_rules(stored)}
    assert (rules["complaint"].matched, rules["complaint"].checked) == (2, 4)
    assert rules["no_greeting"].title == "坐席未问候" and rules["no_greeting"].version == 1


def test_a_changed_rule_is_applied_again_alone_and_every_change_can_be_undone(
    stored: Runtime,
) -> None:
    inspection.save_rules(stored, RULES, by="supervisor")
    again, applied = inspection.save_rules(stored, RULES, by="supervisor")
    assert set(again.values()) == {"unchanged"} and applied.checked == 0
    changed = RULES.replace("不关我的事|shut up", "不关我的事|shut up|dollars")
    actions, applied = inspection.save_rules(stored, changed, by="lead")
    assert actions["forbidden"] == "changed" and applied.checked == 4  # one rule, four calls
    assert matched(stored, "forbidden") == ["en-bad", "en-good", "zh-bad"]

    inspection.delete_rule(stored, "forbidden", by="lead")
    assert "forbidden" not in {r.name for r in inspection.list_rules(stored)}
    assert stored.calls.count({"categories": "forbidden"}) == 0
    history = inspection.rule_history(stored, "forbidden")
    assert [(h["version"], h["action"], h["by"]) for h in history] == [
        (1, "added", "supervisor"), (2, "changed", "lead"), (3, "deleted", "lead"),
    ]  # fmt: skip
    inspection.restore_rule(stored, "forbidden", 1, by="lead")  # undo both
    assert matched(stored, "forbidden") == ["zh-bad"]
    assert stored.calls.count({"categories": "forbidden"}) == 1
    with pytest.raises(InputError, match="no version 3 to restore"):
        inspection.restore_rule(stored, "forbidden", 3, by="lead")


def test_a_preview_checks_without_keeping_anything(stored: Runtime) -> None:
    rule = 'rules: [{name: late, when: {said: {speaker: customer, any: ["快递", "engineer"]}}}]'
    found = inspection.preview_rule(stored, rule, ["zh-bad", "zh-good", "en-bad"])
    assert [(p.call_id, p.result.matched) for p in found] == [
        ("zh-bad", True), ("zh-good", False), ("en-bad", True),
    ]  # fmt: skip
    [evidence] = found[0].result.evidence
    assert (evidence.turn, evidence.role, evidence.why) == (1, "customer", "said “快递”")
    assert inspection.list_rules(stored) == [] and stored.calls.count({"categories": "late"}) == 0
    with pytest.raises(InputError, match="no indexed call 'nope'"):
        inspection.preview_rule(stored, rule, ["nope"])
    with pytest.raises(InputError, match="not YAML or JSON"):
        inspection.preview_rule(stored, "rules: [unclosed", ["zh-bad"])


def test_new_relabeled_and_reclassified_calls_are_checked(stored: Runtime) -> None:
    rules = (
        RULES
        + """
  - name: refund_calls
    when: {label: [refund]}
"""
    )
    inspection.save_rules(stored, rules, by="supervisor")
    new = {"zh-new": (["refund"], "2026-10-05", [("agent", "喂？"), ("customer", "退款。")])}
    from app.services.calls import ingest_sources

    ingest_sources(stored, text_sources(new))
    assert "zh-new" in matched(stored, "no_greeting") and "zh-new" in matched(
        stored, "refund_calls"
    )
    relabel_call(stored, "zh-good", labels=["refund"], source="test")
    assert "zh-good" in matched(stored, "refund_calls")
    before = {r.rule: at for r, _, at in stored.rule_book.results("zh-new")}
    relabel_call(stored, "zh-new", labels=["balance"], source="test")
    assert "zh-new" not in matched(stored, "refund_calls")
    assert stored.calls.count({"categories": "refund_calls"}) == 1
    # Only the rule that reads the labels was checked again; the others' results stand.
    after = {r.rule: at for r, _, at in stored.rule_book.results("zh-new")}
    assert [name for name in after if after[name] != before[name]] == ["refund_calls"]


def test_the_evidence_of_a_call(stored: Runtime) -> None:
    inspection.save_rules(stored, RULES, by="supervisor")
    found = {info.name: result for info, result in inspection.call_inspection(stored, "zh-bad")}
    assert set(found) == {"no_greeting", "complaint", "forbidden"}
    data = inspection.result_dict(found["forbidden"])
    assert data["matched"] and data["evidence"][0]["turn"] == 2
    assert data["evidence"][0]["why"] == "said “不关我的事”"
    assert data["evidence"][0]["start"] == 20.0 and data["evidence"][0]["speaker"] == "agent"
    assert json.dumps(data, ensure_ascii=False)
    with pytest.raises(InputError, match="no call 'nope'"):
        inspection.call_inspection(stored, "nope")


def test_the_starter_pack_runs_on_the_stored_calls(stored: Runtime) -> None:
    actions, applied = inspection.save_rules(stored, inspection.starter_rules(), by="setup")
    assert set(actions.values()) == {"added"} and applied.calls == 4
    assert "zh-bad" in matched(stored, "forbidden_phrase")
    assert "zh-bad" in matched(stored, "no_apology_on_complaint")
    assert "en-bad" in matched(stored, "identity_not_verified")  # balance before verification
    assert "zh-good" not in matched(stored, "identity_not_verified")  # verified first


def test_insights_count_the_rules_per_period_and_per_agent(make_settings, embedder) -> None:
    from app.services.insights import InsightsQuery, insights, insights_dict

    sources = with_agents(text_sources(CALLS))
    with Runtime(make_settings(), embedder=embedder) as runtime:
        runtime.pipeline().run(sources)
        inspection.save_rules(runtime, RULES, by="supervisor")
        report = insights_dict(insights(runtime, InsightsQuery()))
    rules = {c["label"]: c for c in report["categories"]}
    assert rules["no_greeting"]["current"]["value"] == 2
    assert rules["no_greeting"]["current"]["filter"]["categories"] == "no_greeting"
    assert rules["forbidden"]["current"]["value"] == 1
    by_agent = {r["value"]: r["categories"] for r in report["groups"]["agent"]}
    # zh-bad (Wang) and en-bad (Li) skipped the greeting; only Wang used a forbidden phrase.
    assert (
        by_agent["Wang"]["no_greeting"]["value"] == 1
        and by_agent["Li"]["no_greeting"]["value"] == 1
    )
    assert by_agent["Wang"]["forbidden"]["value"] == 1 and by_agent["Li"]["forbidden"]["value"] == 0
    weeks = [w["categories"].get("no_greeting", {}).get("value", 0) for w in report["weeks"]]
    assert sum(weeks) == 2


def test_a_batch_checks_its_calls_and_says_what_they_broke(stored: Runtime, tmp_path) -> None:
    from app.services.batch_run import run_batch

    inspection.save_rules(stored, RULES, by="supervisor")
    new = {
        "zh-batch": ([], "2026-10-06", [("agent", "喂。"), ("agent", "不关我的事。")]),
        "en-batch": ([], "2026-10-06", [("agent", "Hello, how can I help?")]),
    }
    summary = run_batch(stored, text_sources(new), [], folder=tmp_path / "run", source="test")
    assert summary["failed"] == 0
    rows = {
        r["call_id"]: r
        for r in map(json.loads, (tmp_path / "run" / "results.jsonl").read_text().splitlines())
    }
    assert rows["zh-batch"]["categories"] == "forbidden;no_greeting"
    assert rows["en-batch"]["categories"] == ""


def test_the_insights_workbook_has_the_rules(make_settings, embedder) -> None:
    import io

    from openpyxl import load_workbook

    from app.services.insights import InsightsQuery, insights
    from app.services.insights_xlsx import insights_xlsx

    sources = with_agents(text_sources(CALLS))
    with Runtime(make_settings(), embedder=embedder) as runtime:
        runtime.pipeline().run(sources)
        inspection.save_rules(runtime, RULES, by="supervisor")
        report = insights(runtime, InsightsQuery())
    book = load_workbook(io.BytesIO(insights_xlsx(report, "zh-CN")))
    rows = list(book["质检规则"].values)
    assert rows[0][0] == "规则"
    assert ("forbidden", 1) in {(r[0], r[1]) for r in rows[1:]}
    agents = list(book[[n for n in book.sheetnames if "agent" in n][0]].values)
    head = agents[0]
    column = head.index("⚑ forbidden")
    assert {r[0]: r[column] for r in agents[1:]} == {"Wang": 1, "Li": 0}
