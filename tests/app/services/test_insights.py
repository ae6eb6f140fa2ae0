"""Insights and counting over the demo corpus, against a count by hand.

The 100 text calls of the bundled demo corpus are indexed through the real pipeline (MiniLM,
Qdrant Edge) with agent/team/queue metadata; its 18 held-back calls come in without labels and
are classified by the real classifier (which writes their predictions onto the call points);
conversation metrics and the speaker source are planted on the call points, as the ingest of
recordings writes them. Every figure is then compared with a count in Python over the corpus file
and the classification results, and every Count's filter must reproduce its number."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from app.core.config import load_settings
from app.core.errors import InputError
from app.core.filters import METRICS, CallFilter, metric_bound
from app.runtime import Runtime
from app.services.classify import classify_calls, classify_text, prediction
from app.services.counting import (
    Count,
    calls_behind,
    check_spec,
    count_calls,
    count_question,
    named_labels,
)
from app.services.insights import BINS, Insights, InsightsQuery, insights, insights_dict
from app.services.insights_xlsx import insights_xlsx
from ingest.labels import load_labeled
from tests.textcalls import text_sources

ROOT = Path(__file__).resolve().parents[3]
START, END = date(2026, 9, 1), date(2026, 11, 15)
AGENTS, TEAMS, QUEUES = ("Li", "Wang", "Ann", "Omar"), ("north", "south"), ("sales", "care")
LOW = 0.8


def _metrics(i: int) -> dict[str, float]:
    return {
        name: float((i * (k + 7) * 13) % 150) if not name.endswith("share") else ((i + k) % 10) / 10
        for k, name in enumerate(METRICS)
    }


class Demo:
    """The corpus as indexed, and what a person would count from it."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        rows = [json.loads(line) for line in (ROOT / "app/demo/calls.jsonl").open()]
        self.rows = {r["id"]: r for r in rows if "audio" not in r}
        sources, errors = load_labeled(ROOT / "app/demo/calls.jsonl")
        assert not errors
        sources = [s for s in sources if s.kind != "audio"]
        self.meta: dict[str, dict[str, str]] = {}
        for i, source in enumerate(sorted(sources, key=lambda s: s.call_id)):
            self.meta[source.call_id] = {
                "agent": AGENTS[i % 4],
                "team": TEAMS[i % 3 % 2],
                "queue": QUEUES[i // 50],
            }
            source.metadata = dict(self.meta[source.call_id])
            if source.split == "test":
                source.labels = []  # held back: only the classifier says what they are
        results = runtime.pipeline().run(sources)
        assert {r.status for r in results} == {"indexed"}, results
        self.test_ids = sorted(s.call_id for s in sources if s.split == "test")
        found = classify_calls(runtime, self.test_ids, source="test")
        self.predicted = {r.call_id: r.classification for r in found}
        assert all(c is not None for c in self.predicted.values())
        self.metrics: dict[str, dict[str, float]] = {}
        self.speaker_source: dict[str, str] = {}
        for i, call_id in enumerate(sorted(self.rows)):
            self.speaker_source[call_id] = "channels" if i % 3 == 0 else "transcript"
            payload: dict[str, Any] = {"speaker_source": self.speaker_source[call_id]}
            if i % 10:  # every tenth call has no metrics (as calls indexed before them)
                self.metrics[call_id] = payload["metrics"] = _metrics(i)
            runtime.calls.set_payload({"call_id": call_id}, payload)

    def label(self, call_id: str, source: str = "both") -> list[str]:
        """What a person reads as the call's labels."""
        given = [] if call_id in self.predicted else self.rows[call_id]["labels"]
        predicted = self.predicted.get(call_id)
        guess = [predicted.label] if predicted else []
        if source == "labels":
            return given
        if source == "predicted":
            return guess
        return given or guess

    def calls(self, start: date, end: date, **meta: str) -> list[str]:
        return sorted(
            c
            for c, r in self.rows.items()
            if start <= date.fromisoformat(r["date"]) <= end
            and all(self.meta[c][k] == v for k, v in meta.items())
        )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder) -> Iterator[Demo]:
    settings = load_settings(
        paths={"state_dir": tmp_path_factory.mktemp("insights"), "models_dir": models_dir},
        classify={"min_confidence": 0.5},
    )
    with Runtime(settings, embedder=embedder) as runtime:
        yield Demo(runtime)


def _counts(report: Insights) -> Iterator[Count]:
    yield from (report.calls, report.previous_calls, report.undated, report.unassigned)
    yield from (report.classified, report.unknown, report.low_confidence)
    for c in report.labels:
        yield from (c.current, c.previous)
    for w in report.weeks:
        yield from (w.calls, w.unassigned, w.classified, w.unknown, w.low_confidence)
        yield from w.labels.values()
    for rows in report.groups.values():
        for r in rows:
            yield from (r.calls, r.classified, r.unknown, r.low_confidence, *r.labels.values())
    for bins in report.metrics.values():
        yield from (b.calls for b in bins)
    yield from report.speaker_sources.values()
    yield report.timed
    yield from report.dated_by.values()


def _period(start: date, end: date) -> CallFilter:
    return CallFilter(date_from=start, date_to=end)


def test_insights_counts_against_a_hand_count_on_the_demo_corpus(demo: Demo) -> None:
    report = insights(demo.runtime, InsightsQuery(filters=_period(START, END), low_confidence=LOW))
    calls = demo.calls(START, END)
    assert report.calls.value == len(calls) == 100
    assert report.previous_calls.value == 0 and report.undated.value == 0
    hand = Counter(label for c in calls for label in demo.label(c))
    assert {c.label: c.current.value for c in report.labels} == dict(hand)
    # The label mix of every week (Monday to Sunday; the first week starts on a Tuesday).
    assert report.weeks[0].start == START and report.weeks[0].end == date(2026, 9, 6)
    assert report.weeks[-1].end == END and len(report.weeks) == 11
    for week in report.weeks:
        in_week = demo.calls(week.start, week.end)
        assert week.calls.value == len(in_week), week.start
        mix = Counter(label for c in in_week for label in demo.label(c))
        assert {k: v.value for k, v in week.labels.items()} == dict(mix), week.start
    assert sum(w.calls.value for w in report.weeks) == 100
    # Predictions: answered unknown, below the confidence, classified at all.
    found = demo.predicted.values()
    assert report.classified.value == 18
    assert report.unknown.value == sum(c.label == "unknown" for c in found)
    low = sum(c.label != "unknown" and c.confidence < LOW for c in found)
    assert report.low_confidence.value == low
    assert report.unknown.value + low > 0, "the test needs some unsure answers"
    assert report.unassigned.value == 0
    # Per agent: calls, and the label mix of each.
    agents = {r.value: r for r in report.groups["agent"]}
    for agent in AGENTS:
        mine = demo.calls(START, END, agent=agent)
        assert agents[agent].calls.value == len(mine)
        mix = Counter(label for c in mine for label in demo.label(c))
        got = {k: v.value for k, v in agents[agent].labels.items() if v.value}
        assert got == {k: v for k, v in mix.items() if k in agents[agent].labels}
        unknown = sum(demo.predicted[c].label == "unknown" for c in mine if c in demo.predicted)
        assert agents[agent].unknown.value == unknown
    assert {r.value: r.calls.value for r in report.groups["queue"]} == {"sales": 50, "care": 50}
    assert report.groups["direction"] == [] and report.groups["tags"] == []
    # The distributions of the metrics: every bin as counted by hand.
    for name in ("duration", "longest_silence", "agent_talk_share", "interruptions"):
        edges = (*BINS[name], float("inf"))
        for i, b in enumerate(report.metrics[name]):
            assert (b.low, b.high if b.high is not None else float("inf")) == edges[i : i + 2]
            hand_bin = sum(b.low <= m[name] < edges[i + 1] for m in demo.metrics.values())
            assert b.calls.value == hand_bin, (name, b.low)
        assert sum(b.calls.value for b in report.metrics[name]) == 90  # 10 calls have none
    # ... and that is said: 90 of the 100 calls have timings (the histograms' calls).
    assert report.timed.value == 90
    # Every call came with its own date; no metadata table is empty but direction and tags.
    assert report.dated_by == {} and report.undated.value == 0
    assert report.missing_metadata == ["direction", "tags"]
    sources = Counter(demo.speaker_source.values())
    assert {k: v.value for k, v in report.speaker_sources.items()} == dict(sources)
    # Every number carries the filter that reproduces it, in the engine.
    counted = list(_counts(report))
    assert len(counted) > 300
    for count in counted:
        assert demo.runtime.calls.count(count.filter) == count.value, count.filter
    assert report.engine_calls >= 200


def test_label_sources_count_only_labels_or_only_predictions(demo: Demo) -> None:
    for source in ("labels", "predicted"):
        report = insights(demo.runtime, InsightsQuery(filters=_period(START, END), source=source))
        hand = Counter(label for c in demo.calls(START, END) for label in demo.label(c, source))
        assert {c.label: c.current.value for c in report.labels} == dict(hand)
        assert report.unassigned.value == (18 if source == "labels" else 82)
        for count in _counts(report):
            assert demo.runtime.calls.count(count.filter) == count.value


def test_rising_and_falling_against_the_previous_period(demo: Demo) -> None:
    start, end = date(2026, 10, 1), date(2026, 10, 31)
    report = insights(demo.runtime, InsightsQuery(filters=_period(start, end), top=3))
    assert (report.previous_from, report.previous_to) == (date(2026, 8, 31), date(2026, 9, 30))
    now = Counter(label for c in demo.calls(start, end) for label in demo.label(c))
    before = Counter(
        label
        for c in demo.calls(report.previous_from, end=report.previous_to)
        for label in demo.label(c)
    )
    change = {k: now[k] - before[k] for k in now | before}
    rising = sorted(
        (k for k, v in change.items() if v > 0 and before[k]),
        key=lambda k: (-change[k], -now[k], k),
    )
    falling = sorted((k for k, v in change.items() if v < 0), key=lambda k: (change[k], -now[k], k))
    assert [c.label for c in report.rising] == rising[:3]
    assert [c.label for c in report.falling] == falling[:3]
    assert all(c.change == change[c.label] for c in report.labels)
    assert report.rising and report.falling
    new = [k for k in now if not before[k]]
    assert sorted(c.label for c in report.new) == sorted(new)[:3]


def test_labels_of_a_period_after_none_are_new_not_rising(demo: Demo) -> None:
    """The weeks before the first call hold nothing: every label is new, none "rising +N"."""
    report = insights(demo.runtime, InsightsQuery(filters=_period(START, END), top=50))
    assert report.previous_calls.value == 0
    assert report.rising == [] and report.falling == []
    assert [c.label for c in report.new] == [c.label for c in report.labels if c.current.value]
    data = insights_dict(report)
    assert data["rising"] == [] and data["new"] and all(c["new"] for c in data["new"])


def test_metadata_and_metric_filters_narrow_the_calls(demo: Demo) -> None:
    filters = CallFilter(date_from=START, date_to=END, metadata=(("agent", ("Li", "Ann")),))
    bounds = (metric_bound("longest_silence>=60"), metric_bound("metrics.duration<120"))
    query = InsightsQuery(filters=replace(filters, metrics=bounds))
    report = insights(demo.runtime, query)
    keep = [
        c
        for c in demo.calls(START, END)
        if demo.meta[c]["agent"] in ("Li", "Ann")
        and c in demo.metrics
        and demo.metrics[c]["longest_silence"] >= 60
        and demo.metrics[c]["duration"] < 120
    ]
    assert 0 < report.calls.value == len(keep) < 50
    assert {r.value for r in report.groups["agent"]} <= {"Li", "Ann"}
    for count in _counts(report):
        assert demo.runtime.calls.count(count.filter) == count.value
    only = insights(
        demo.runtime, InsightsQuery(filters=_period(START, END), speaker_source="channels")
    )
    assert only.calls.value == sum(v == "channels" for v in demo.speaker_source.values())


def test_the_default_period_is_twelve_weeks_up_to_the_latest_call(demo: Demo) -> None:
    """At most twelve whole weeks, from the week of the first call: not a week without calls."""
    report = insights(demo.runtime, InsightsQuery())
    latest = max(date.fromisoformat(r["date"]) for r in demo.rows.values())
    first = min(date.fromisoformat(r["date"]) for r in demo.rows.values())
    assert report.date_to == latest
    assert report.date_from == first - timedelta(days=first.weekday())  # its Monday
    assert latest - timedelta(days=latest.weekday()) - timedelta(weeks=11) < report.date_from
    assert len(report.weeks) == 11 and report.weeks[0].calls.value > 0
    assert report.calls.value == 100
    until = insights(demo.runtime, InsightsQuery(filters=CallFilter(date_to=date(2026, 10, 4))))
    assert (until.date_from, until.date_to) == (report.date_from, date(2026, 10, 4))
    later = insights(demo.runtime, InsightsQuery(filters=CallFilter(date_from=date(2026, 10, 1))))
    assert (later.date_from, later.date_to) == (date(2026, 10, 1), latest)


def test_counting_questions_are_answered_from_engine_counts(demo: Demo) -> None:
    october = demo.calls(date(2026, 10, 1), date(2026, 10, 31))
    refund = [c for c in october if "refund" in demo.label(c)]
    answer = count_question(demo.runtime, "How many refund calls did we get in October 2026?")
    assert answer.labels == ["refund"] and answer.words == "October 2026"
    assert answer.count.value == len(refund) > 0
    assert demo.runtime.calls.count(answer.count.filter) == len(refund)
    # Chinese dates, two labels ("delivery delay" written with a space), a metadata filter.
    li = CallFilter(metadata=(("agent", ("Li",)),))
    both = count_question(
        demo.runtime, "2026年10月有多少 refund 和 delivery delay 的电话？", filters=li
    )
    assert both.labels == ["refund", "delivery_delay"]
    hand = [
        c
        for c in october
        if demo.meta[c]["agent"] == "Li" and {"refund", "delivery_delay"} & set(demo.label(c))
    ]
    assert both.count.value == len(hand)
    assert sum(c.value for c in both.per_label.values()) == len(hand)  # one label per call
    # A week that names no label: every call of those days.
    week = count_question(demo.runtime, "how many calls last week?", today=date(2026, 10, 14))
    assert week.labels == [] and week.count.value == len(
        demo.calls(date(2026, 10, 5), date(2026, 10, 11))
    )
    direct = count_calls(demo.runtime, ["refund"], filters=_period(START, END), source="labels")
    assert direct.count.value == sum("refund" in demo.label(c, "labels") for c in demo.rows)


def test_named_labels_match_words_not_parts_of_words() -> None:
    labels = ["refund", "delivery_delay", "account_access", "退款", "delay"]
    assert named_labels("refunds for a delivery-delay?", labels) == ["refund", "delivery_delay"]
    assert named_labels("上周的退款电话", labels) == ["退款"]
    assert named_labels("nonrefundable accountant", labels) == []


def test_the_calls_behind_a_number_are_listed_like_the_calls_tab(demo: Demo) -> None:
    report = insights(demo.runtime, InsightsQuery(filters=_period(START, END)))
    week = report.weeks[3]
    label, count = next(iter(week.labels.items()))
    behind = calls_behind(demo.runtime, count.filter)
    expected = [c for c in demo.calls(week.start, week.end) if label in demo.label(c)]
    assert behind.count == count.value == len(expected)
    assert sorted(r.call_id for r in behind.calls) == expected  # in the Calls tab's order
    assert all(r.opening for r in behind.calls)
    unknown = calls_behind(demo.runtime, report.unknown.filter)
    assert {r.call_id for r in unknown.calls} == {
        c for c, p in demo.predicted.items() if p.label == "unknown"
    }
    assert all(unknown.predictions[r.call_id][0] == "unknown" for r in unknown.calls)
    few = calls_behind(demo.runtime, report.calls.filter, limit=7)
    assert few.count == 100 and len(few.calls) == 7


def test_a_classification_is_written_onto_its_call_point(demo: Demo) -> None:
    call_id = demo.test_ids[0]
    (point,) = demo.runtime.calls.scroll({"call_id": call_id})
    c = demo.predicted[call_id]
    assert point.payload["predicted"] == c.label
    assert point.payload["confidence"] == pytest.approx(c.confidence)
    assert point.payload["decided_by"] == c.decided_by
    at = datetime.fromisoformat(point.payload["classified_at"].replace("Z", "+00:00"))
    assert abs((datetime.now(at.tzinfo) - at).total_seconds()) < 3600
    # Writing predictions never makes the classifier re-read the calls.
    writes = demo.runtime.calls.writes
    again = classify_text(demo.runtime, "Customer: I want my money back", call_id=call_id)
    assert demo.runtime.calls.writes == writes
    (point,) = demo.runtime.calls.scroll({"call_id": call_id})
    assert point.payload["predicted"] == again.label
    # A file classified without being indexed leaves nothing in the store.
    classify_text(demo.runtime, "Customer: where is my parcel", call_id="not-indexed")
    assert demo.runtime.calls.count({"call_id": "not-indexed"}) == 0
    # Put the module's prediction back for the tests after this one.
    demo.runtime.calls.set_payload({"call_id": call_id}, prediction(c), annotation=True)


def test_abstained_answers_are_stored_as_unknown(make_settings: Any, embedder: Any) -> None:
    """With a confidence nothing reaches, every answer is ``unknown`` and so is the payload."""
    calls = {
        f"{label}-{i}": ([label], f"2026-10-0{i + 1}", [("customer", f"{text} number {i}")])
        for label, text in (("refund", "I want my money back"), ("parcel", "Where is my parcel"))
        for i in range(3)
    }
    settings = make_settings(classify={"min_confidence": 1.0})
    with Runtime(settings, embedder=embedder) as runtime:
        runtime.pipeline().run(text_sources(calls))
        [result] = classify_calls(runtime, ["refund-0"], source="test")
        assert result.classification.label == "unknown"
        assert result.classification.decided_by == "abstain"
        assert runtime.calls.count({"call_id": "refund-0", "predicted": "unknown"}) == 1
        assert runtime.calls.count({"decided_by": "abstain"}) == 1
        assert runtime.calls.count({"predicted": {"is_empty": False}}) == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: InsightsQuery(source="guess"), "source 'guess'"),
        (lambda: InsightsQuery(low_confidence=1.5), "low confidence"),
        (lambda: InsightsQuery(low_confidence=float("nan")), "low confidence"),
        (lambda: InsightsQuery(top=0), "top"),
        (lambda: InsightsQuery(filters=CallFilter(labels=("refund",))), "counted by label"),
        (lambda: InsightsQuery(filters=CallFilter(speakers=("agent",))), "speaker filters"),
        (lambda: InsightsQuery(speaker_source=" "), "empty value"),
        (lambda: metric_bound("loudness>=3"), "unknown metric"),
        (lambda: metric_bound("duration=>3"), "name>=number"),
        (lambda: metric_bound("duration>=1e999"), "name>=number"),
        (lambda: metric_bound("duration>='; DROP"), "name>=number"),
        (lambda: CallFilter(metrics=(("duration", "gte", float("nan")),)), "finite"),
        (lambda: CallFilter(metrics=(("duration", "above", 1.0),)), "one of gte"),
        (
            lambda: CallFilter(metrics=(("duration", "gte", 1), ("duration", "gte", 2))).spec(),
            "two gte",
        ),
        (lambda: check_spec([1], ["agent"]), "must be an object"),
        (lambda: check_spec({"text": "x"}, ["agent"]), "not a field of calls"),
        (lambda: check_spec({"$or": [{"origin": "x"}]}, ["agent"]), "not a field of calls"),
        (lambda: check_spec({"labels": {"$where": 1}}, ["agent"]), "ranges apply"),
        (lambda: check_spec({"metrics.duration": {"gte": "1; rm"}}, []), "must be numbers"),
        (lambda: check_spec({"agent": "Li"}, []), "not a field of calls"),
    ],
)
def test_bad_queries_are_refused_with_a_clear_error(make: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        make()


def test_bad_periods_and_fields_are_refused(demo: Demo) -> None:
    rt = demo.runtime
    with pytest.raises(InputError, match="spans 157 weeks"):
        insights(rt, InsightsQuery(filters=_period(date(2024, 1, 1), date(2026, 12, 31))))
    with pytest.raises(InputError, match="not declared"):
        insights(rt, InsightsQuery(filters=CallFilter(metadata=(("region", ("eu",)),))))
    with pytest.raises(InputError, match="no previous period"):
        insights(rt, InsightsQuery(filters=_period(date(1, 1, 1), date(1, 1, 7))))
    with pytest.raises(InputError, match="after date to"):
        insights(rt, InsightsQuery(filters=_period(date(2026, 10, 9), date(2026, 10, 1))))
    for limit in (0, 10**6, True):
        with pytest.raises(InputError, match="limit"):
            calls_behind(rt, {}, limit=limit)
    with pytest.raises(InputError, match="give a question"):
        count_question(rt, "   ")
    with pytest.raises(InputError, match="label"):
        count_calls(rt, [""])


def test_the_workbook_holds_every_table_and_no_formula(runtime: Runtime, tmp_path: Path) -> None:
    """Labels and metadata are user data: one that looks like a formula stays text."""
    hostile = '=HYPERLINK("http://evil","x")'
    calls = {
        "a": ([hostile], "2026-10-05", [("customer", "I want a refund for the kettle")]),
        "b": (["refund"], "2026-10-06", [("customer", "Refund my order please")]),
    }
    sources = text_sources(calls)
    sources[0].metadata = {"agent": "@SUM(1+1)"}
    runtime.pipeline().run(sources)
    report = insights(runtime, InsightsQuery(filters=_period(date(2026, 10, 5), date(2026, 10, 6))))
    path = tmp_path / "insights.xlsx"
    path.write_bytes(insights_xlsx(report))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:3] == ["summary", "labels", "weeks"]
    assert {"by agent", "metrics"} <= set(book.sheetnames)
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    assert any(c.value == hostile for c in cells) and any(c.value == "@SUM(1+1)" for c in cells)
    for cell in cells:
        if isinstance(cell.value, str) and cell.value[:1] in "=@+-":
            assert cell.data_type == "s", (cell.coordinate, cell.value)
    labels = {r[0].value: r[1].value for r in book["labels"].iter_rows(min_row=2)}
    assert labels == {hostile: 1, "refund": 1}
    # No call came before: both labels are new. No call has a team: the sheet says how to
    # give calls one instead of being empty.
    assert [r[4].value for r in book["labels"].iter_rows(min_row=2)] == ["new", "new"]
    note = book["by team"]["A2"].value
    assert "No call of this period has 'team'" in note and "import-labels" in note
    summary = {r[0].value: r[1].value for r in book["summary"].iter_rows(min_row=2)}
    assert summary["with timings (recordings): in the metrics sheet"] == 2  # timed turns

    # The same workbook for a Chinese page: sheet names, headers, measures and notes in Chinese.
    zh = openpyxl.load_workbook(io.BytesIO(insights_xlsx(report, "zh-CN")))
    assert zh.sheetnames[:3] == ["概览", "标签", "每周"] and {"按agent", "通话指标"} <= set(
        zh.sheetnames
    )
    assert [r[4].value for r in zh["标签"].iter_rows(min_row=2)] == ["新出现", "新出现"]
    assert "本周期没有通话带有 'team'" in zh["按team"]["A2"].value
    summary_zh = {r[0].value: r[1].value for r in zh["概览"].iter_rows(min_row=2)}
    assert summary_zh["有时间信息（录音）：见通话指标表"] == 2 and summary_zh["通话数"] == 2
