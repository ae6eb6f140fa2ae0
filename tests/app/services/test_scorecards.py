"""Scorecards on the stored calls: saved as versions, scores from the rules already checked and
from the LLM (a scripted endpoint), kept (a call is scored again only when the scorecard
changed), one call's answers with evidence, and the mean per agent and week."""

from __future__ import annotations

import pytest

from app.core.errors import InputError
from app.core.text import has_cjk
from app.runtime import Runtime
from app.services import inspection, scorecard_reviews, scorecards
from tests.app.services.test_inspection import CALLS, RULES, with_agents
from tests.llm_fixtures import fast_llm_settings, llm_server_fixture  # noqa: F401
from tests.llm_server import FakeLLMServer, Reply
from tests.textcalls import text_sources

CARD = """
scorecards:
  - name: standard
    title: 标准服务评分表
    sections:
      - title: 开场 Opening
        questions:
          - {id: greeted, text: 坐席是否问候？, weight: 20, fails_on: no_greeting}
          - {id: polite, text: 坐席是否避免服务禁语？, weight: 30, fails_on: forbidden}
      - title: 解决 Resolution
        questions:
          - {id: resolved, text: 客户的问题是否得到解决？, weight: 50, ask_llm: true}
"""


def _runtime(make_settings, embedder, llm_server: FakeLLMServer, min_agreement: float):
    sources = with_agents(text_sources(CALLS))
    llm = {**fast_llm_settings(llm_server).model_dump(), "scorecard_min_agreement": min_agreement}
    with Runtime(make_settings(llm=llm), embedder=embedder) as runtime:
        runtime.pipeline().run(sources)
        inspection.save_rules(runtime, RULES, by="lead")
        yield runtime


@pytest.fixture
def scored(make_settings, embedder, llm_server: FakeLLMServer):
    """LLM answers count from the start (the guard is tested on its own)."""
    yield from _runtime(make_settings, embedder, llm_server, 0.0)


@pytest.fixture
def guarded(make_settings, embedder, llm_server: FakeLLMServer):
    """LLM answers count once 3 of 3 reviews agree (floor 0.44 >= 0.4); 2 of 2 (0.34) and 3
    of 4 (0.30) are not enough."""
    yield from _runtime(make_settings, embedder, llm_server, 0.4)


def _scored_resolved(runtime: Runtime, llm_server: FakeLLMServer) -> None:
    """The standard card saved and every call scored, the LLM saying each was resolved."""
    scorecards.save_scorecards(runtime, CARD, by="lead")
    llm_server.default = Reply.json({"reason": "解决了", "answer": "yes", "turns": [3]})
    scorecards.score_calls(runtime, "standard")


def test_an_llm_question_counts_once_reviewers_agree_with_it(
    guarded: Runtime, llm_server: FakeLLMServer
) -> None:
    _scored_resolved(guarded, llm_server)
    scores = lambda: {c: s for c, (_, s) in guarded.card_book.scored("standard").items()}  # noqa: E731
    # The LLM's "resolved: yes" is shown, not scored: zh-bad 0/50 (no greeting, forbidden),
    # en-bad 30/50 (no greeting), the good calls 50/50.
    assert scores() == {"zh-bad": 0.0, "zh-good": 100.0, "en-bad": 60.0, "en-good": 100.0}
    [card] = scorecards.call_cards(guarded, "zh-bad")
    resolved = next(a for a in card["answers"] if a["question"] == "resolved")
    assert (resolved["answer"], resolved["counted"]) == ("yes", False)
    assert (
        scorecards.counted_questions(guarded, scorecards.scorecard_of(guarded, "standard")[0])
        == set()
    )

    for call in ("zh-good", "en-good"):
        scorecard_reviews.review_answer(guarded, call, "standard", "resolved", "yes", by="qa")
    assert scores()["zh-bad"] == 0.0  # 2 of 2: not yet
    state = scorecard_reviews.review_answer(
        guarded, "en-bad", "standard", "resolved", "yes", by="qa"
    )
    # 3 of 3: the question counts; every stored score is made again from its stored answers
    # (the LLM is not asked again).
    asked = len(llm_server.requests)
    assert scores() == {"zh-bad": 50.0, "zh-good": 100.0, "en-bad": 80.0, "en-good": 100.0}
    assert state["score"] == 80.0 and len(llm_server.requests) == asked
    rows = {r["question"]: r for r in scorecard_reviews.agreement(guarded, "standard")["questions"]}
    assert rows["resolved"]["counted"] is True and rows["polite"]["counted"] is None
    # A reviewer overturns it on the fourth call: 3 of 4, it stops counting again.
    scorecard_reviews.review_answer(guarded, "zh-bad", "standard", "resolved", "no", by="qa")
    assert scores()["en-bad"] == 60.0
    assert scorecard_reviews.agreement(guarded, "standard")["questions"][2]["counted"] is False


def test_calls_are_scored_from_the_rules_and_the_llm(
    scored: Runtime, llm_server: FakeLLMServer
) -> None:
    assert scorecards.save_scorecards(scored, CARD, by="lead") == {"standard": "added"}
    llm_server.default = Reply.json({"reason": "问题已解决", "answer": "yes", "turns": [3, 99]})
    done = scorecards.score_calls(scored, "standard")
    assert done["scored"] == 4 and len(llm_server.requests) == 4
    # zh-bad: no greeting (0/20), a forbidden phrase (0/30), resolved (50/50): 50.
    [(card, result)] = scorecards.call_scores(scored, "zh-bad")
    data = scorecards.card_dict(card, result)
    assert data["score"] == 50.0 and data["title"] == "标准服务评分表"
    answers = {a["question"]: a for a in data["answers"]}
    assert (answers["polite"]["answer"], answers["polite"]["by"]) == ("no", "rule")
    assert answers["polite"]["evidence"][0]["text"].startswith("不关我的事")
    assert (
        answers["resolved"]["answer"] == "yes"
        and "invalid citations dropped: 99" in (answers["resolved"]["note"])
    )
    # The call's language sets the instructions', whatever the question's (Chinese here).
    english = [
        r for r in llm_server.requests if not has_cjk(r.messages[1]["content"].split("</call>")[0])
    ]
    chinese = [r for r in llm_server.requests if r not in english]
    assert len(english) == len(chinese) == 2
    assert all(r.messages[0]["content"].startswith("你根据质检评分表") for r in chinese)
    assert all(r.messages[0]["content"].startswith("You check one") for r in english)
    assert all("<call>" in r.messages[1]["content"] for r in llm_server.requests)
    # Kept: asking again scores nothing; a changed scorecard scores every call again.
    assert scorecards.score_calls(scored, "standard")["scored"] == 0
    scorecards.save_scorecards(scored, CARD.replace("weight: 50", "weight: 40"), by="lead")
    assert scorecards.score_calls(scored, "standard", use_llm=False)["scored"] == 4
    info = {c.name: c for c in scorecards.list_scorecards(scored)}["standard"]
    assert (info.version, info.questions, info.scored) == (2, 3, 4)


def test_the_report_per_agent_and_week(scored: Runtime, llm_server: FakeLLMServer) -> None:
    scorecards.save_scorecards(scored, CARD, by="lead")
    llm_server.default = Reply.json({"reason": "未解决", "answer": "no", "turns": []})
    scorecards.score_calls(scored, "standard")
    report = scorecards.scorecard_report(scored, "standard", by="agent")
    rows = {r["agent"]: r for r in report["rows"]}
    # Li: zh-good 50/100 (greeted, polite, not resolved), en-bad 30/100 -> 40.
    # Wang: zh-bad 0/100, en-good 50/100 -> 25 (worst first).
    assert [r["agent"] for r in report["rows"]] == ["Wang", "Li"]
    assert (rows["Li"]["calls"], rows["Li"]["mean"], rows["Wang"]["mean"]) == (2, 40.0, 25.0)
    # The four calls are dated 2026-10-01..04: one week, starting Monday 2026-09-28.
    assert rows["Li"]["weeks"] == {"2026-09-28": 40.0} and rows["Wang"]["weeks"] == {
        "2026-09-28": 25.0
    }
    with pytest.raises(InputError, match="use a metadata field"):
        scorecards.scorecard_report(scored, "standard", by="colour")
    with pytest.raises(scorecards.NoSuchScorecard):
        scorecards.scorecard_report(scored, "nope")


def test_insights_show_the_mean_scores_per_week_and_agent(
    scored: Runtime, llm_server: FakeLLMServer
) -> None:
    import io

    from openpyxl import load_workbook

    from app.services.insights import InsightsQuery, insights, insights_dict
    from app.services.insights_xlsx import insights_xlsx
    from ui.insights_tables import groups_table, weeks_table

    scorecards.save_scorecards(scored, CARD, by="lead")
    llm_server.default = Reply.json({"reason": "未解决", "answer": "no", "turns": []})
    scorecards.score_calls(scored, "standard")
    report = insights(scored, InsightsQuery())
    [card] = report.scorecards
    assert (card.current.mean, card.current.calls, card.previous.calls) == (32.5, 4, 0)
    assert card.weeks["2026-09-28"].mean == 32.5
    assert {v: m.mean for v, m in card.groups["agent"].items()} == {"Wang": 25.0, "Li": 40.0}
    assert list(card.groups["agent"]) == ["Wang", "Li"]  # lowest first
    data = insights_dict(report)
    rows, heads, _ = groups_table(data, "agent", "zh-CN")
    assert heads[-1] == "★ 标准服务评分表"
    assert {r[0]: r[-1] for r in rows} == {"Wang": 25.0, "Li": 40.0}
    weeks, heads, _ = weeks_table(data, "en")
    assert heads[-1] == "★ 标准服务评分表" and [w[-1] for w in weeks] == [32.5]
    book = load_workbook(io.BytesIO(insights_xlsx(report, "zh-CN")))
    sheet = list(book["评分表"].values)
    assert sheet[0][:5] == ("评分表", "分组", "数值", "已评分通话", "平均分")
    assert sheet[1][:5] == ("标准服务评分表", "全部通话", None, 4, 32.5)
    assert ("标准服务评分表", "agent", "Wang", 2, 25.0) in {r[:5] for r in sheet[2:]}


def test_a_question_on_an_unknown_rule_is_refused(scored: Runtime) -> None:
    bad = CARD.replace("fails_on: forbidden", "fails_on: rude")
    with pytest.raises(InputError, match="fails_on names no rule: 'rude'"):
        scorecards.save_scorecards(scored, bad, by="lead")
    assert scorecards.list_scorecards(scored) == []
    # A rule a scorecard reads cannot be deleted from under it (every scorecard and Insights
    # would stop reading); another rule can.
    scorecards.save_scorecards(scored, CARD, by="lead")
    with pytest.raises(InputError, match="answers a question of scorecard 'standard'"):
        inspection.delete_rule(scored, "forbidden", by="lead")
    assert "forbidden" in inspection.rule_names(scored)
    assert [c.name for c in scorecards.list_scorecards(scored)] == ["standard"]


def test_a_reviewer_confirms_or_overturns_answers_and_agreement_is_reported(
    scored: Runtime, llm_server: FakeLLMServer
) -> None:
    _scored_resolved(scored, llm_server)
    queue = scorecard_reviews.review_queue(scored, "standard")
    assert queue[0] == {"call_id": "zh-bad", "score": 50.0}  # the lowest score first

    # The reviewer says zh-bad was not resolved (overturns the LLM) and confirms the rule.
    scorecard_reviews.review_answer(scored, "zh-bad", "standard", "resolved", "no",
                             comment="客户仍未收到快递", by="qa1")  # fmt: skip
    state = scorecard_reviews.review_answer(scored, "zh-bad", "standard", "polite", "no", by="qa1")
    assert (state["score"], state["reviewed_score"]) == (50.0, 0.0)
    assert [h["question"] for h in state["history"]] == ["resolved", "polite"]
    assert state["history"][0]["comment"] == "客户仍未收到快递"
    # A second thought on the same answer: the history keeps both, the last one counts.
    again = scorecard_reviews.review_answer(
        scored, "zh-bad", "standard", "resolved", "yes", by="qa2"
    )
    assert again["reviewed_score"] == 50.0 and len(again["history"]) == 3
    assert "zh-bad" not in [
        c["call_id"] for c in scorecard_reviews.review_queue(scored, "standard")
    ]

    report = scorecard_reviews.agreement(scored, "standard")
    rows = {r["question"]: r for r in report["questions"]}
    assert (rows["polite"]["reviewed"], rows["polite"]["agreement"]) == (1, 1.0)
    assert (rows["resolved"]["reviewed"], rows["resolved"]["agreed"]) == (1, 1)  # the last says yes
    assert rows["greeted"]["agreement"] is None and report["agreement"] == 1.0
    with pytest.raises(InputError, match="no question 'tone'"):
        scorecard_reviews.review_answer(scored, "zh-bad", "standard", "tone", "yes", by="qa1")
    with pytest.raises(InputError, match="one of yes, no, not_applicable"):
        scorecard_reviews.review_answer(scored, "zh-bad", "standard", "polite", "maybe", by="qa1")
