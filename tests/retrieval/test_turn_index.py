"""The turn index with the real MiniLM and Qdrant Edge: the right moment of a long call, no
stored text embedded at query time, sessions and dates, metadata filters, and re-indexing a
store of the old schema without transcribing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import CollectionMismatchError, StaleIndexError
from app.core.filters import CallFilter
from app.core.models import CallSource, Transcript, Turn
from app.runtime import Runtime
from app.services import call_views
from app.services import calls as calls_service
from app.services import search as search_service
from app.services.reindex import reindex
from retrieval.index.embedding import Embedder
from retrieval.index.points import INDEX_SCHEMA
from tests.conftest import DATA

FILLER = [
    ("agent", "Let me check that in the system for you, one moment please."),
    ("customer", "Sure, no problem, I can wait."),
    ("agent", "Thank you for waiting, I still see the same status here."),
    ("customer", "Okay. Is there anything else you need from me?"),
]


def _long_call() -> Transcript:
    """300 turns of small talk with one turn that answers the question, deep inside."""
    turns = []
    for i in range(300):
        speaker, text = FILLER[i % len(FILLER)]
        turns.append(Turn(speaker, f"{text} ({i})", i * 6.0, i * 6.0 + 5))
    turns[217] = Turn(
        "customer",
        "The courier left my parcel with the neighbour at number twelve, not at my door.",
        217 * 6.0,
        217 * 6.0 + 5,
    )
    return Transcript(turns)


class CountingEmbedder(Embedder):
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id, self.dim = inner.model_id, inner.dim
        self.calls: list[tuple[int, bool]] = []

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        self.calls.append((len(texts), query))
        return self.inner.embed(texts, query=query)


def test_evidence_turn_of_a_long_call_ranks_first_and_queries_embed_only_the_question(
    make_settings, embedder
) -> None:
    counting = CountingEmbedder(embedder)
    with Runtime(make_settings(), embedder=counting) as rt:
        source = CallSource("long", "text", "test", transcript=_long_call(), labels=["delivery"])
        [result] = rt.pipeline().run([source])
        assert result.status == "indexed" and result.turn_points == 300
        counting.calls.clear()
        found = search_service.search(
            rt, "where did the courier leave the parcel?", filters=CallFilter(call_ids=("long",))
        )
        assert found.passages[0].turn == 217
        top = found.passages[0]
        assert top.start == 217 * 6.0 and top.speakers == ["customer"]
        assert top.text.startswith("Customer: The courier left my parcel")
        # One embedding of the question; nothing stored is embedded again.
        assert counting.calls == [(1, True)]
        counting.calls.clear()
        expanded = search_service.search(
            rt,
            "where did the courier leave the parcel?",
            filters=CallFilter(call_ids=("long",)),
            k=1,
            expand=True,
        )
        assert sorted(expanded.passages[0].context) == [216, 218]
        assert counting.calls == [(1, True)]


def test_an_answer_is_found_by_the_meaning_of_what_it_answers(runtime: Runtime) -> None:
    """Each turn point carries the dense vector of the turn before it (``dense_prev``): the
    agent's reply, which rarely repeats the request, is found by the request's meaning (a
    supervisor asks what the agent *told* the customer)."""
    turns = [
        Turn("customer", "你好，我想去北京欢乐谷玩。"),
        Turn("agent", "好的，请问有什么可以帮您？"),
        Turn("customer", "那个游乐园的联系方式能告诉我吗？"),
        Turn("agent", "010-67389898。"),
        Turn("customer", "好的，谢谢。"),
    ]
    runtime.pipeline().run([CallSource("joy", "text", "test", transcript=Transcript(turns))])
    points = sorted(
        runtime.turns.scroll({"call_id": "joy"}, with_vectors=True), key=lambda p: p.payload["turn"]
    )
    assert np.allclose(points[3].more["dense_prev"], points[2].dense)
    assert np.allclose(points[0].more["dense_prev"], points[0].dense)  # nothing before it
    # No word of the question is in the call: only meaning finds the reply.
    found = search_service.search(
        runtime, "客服报给客户的电话是多少？", filters=CallFilter(call_ids=("joy",))
    )
    # The reply ranks first (without dense_prev the request did, the reply second).
    assert [p.turn for p in found.passages[:2]] == [3, 2], [p.text for p in found.passages]


def test_sessions_with_their_own_dates(runtime: Runtime) -> None:
    transcript = Transcript(
        [
            Turn("Caroline", "I went to a support group yesterday.", date="1:56 pm on 8 May, 2023"),
            Turn("Melanie", "That is great, how was it?", date="1:56 pm on 8 May, 2023"),
            Turn("Caroline", "I painted a sunrise last week.", date="2023年6月9日"),
            Turn("Melanie", "Show me!", date="2023年6月9日"),
        ]
    )
    runtime.pipeline().run([CallSource("conv", "text", "test", transcript=transcript)])
    points = sorted(runtime.turns.scroll({"call_id": "conv"}), key=lambda p: p.payload["turn"])
    assert [p.payload["session"] for p in points] == [0, 0, 1, 1]
    assert [p.payload["date"][:10] for p in points] == ["2023-05-08"] * 2 + ["2023-06-09"] * 2
    june = CallFilter(call_ids=("conv",), date_from=_day("2023-06-01"), date_to=_day("2023-06-30"))
    found = search_service.search(runtime, "painting", filters=june)
    assert {p.turn for p in found.passages} == {2, 3}


def _day(iso: str):
    from datetime import date

    return date.fromisoformat(iso)


def test_metadata_columns_become_filters(runtime: Runtime, tmp_path: Path) -> None:
    table = tmp_path / "calls.csv"
    table.write_text(
        "id,text,label,agent,team,tags,colour\n"
        "m1,Customer: my refund never arrived,refund,Li,north,vip;repeat,red\n"
        "m2,Customer: my refund is late,refund,Wang,south,,blue\n",
        encoding="utf-8",
    )
    sources, errors = calls_service.read_labeled(runtime.settings, table)
    assert errors == []
    assert sources[0].metadata == {"agent": "Li", "team": "north", "tags": ["vip", "repeat"]}
    calls_service.ingest_sources(runtime, sources)
    by_li = CallFilter.parse(["agent=Li"], runtime.settings.ingest.metadata_fields)
    assert {
        p.call_id for p in search_service.search(runtime, "refund", filters=by_li).passages
    } == {"m1"}
    vip = CallFilter.parse(["tags=vip"], runtime.settings.ingest.metadata_fields)
    assert [c.call_id for c in call_views.list_calls(runtime, vip).calls] == ["m1"]
    [point] = runtime.calls.scroll({"call_id": "m2"})
    assert point.payload["agent"] == "Wang" and "colour" not in point.payload  # undeclared


@pytest.mark.parametrize("old", [1, 2])
def test_a_store_of_the_old_schema_refuses_and_reindex_restores_it_without_transcribing(
    old: int,
    make_settings,
    embedder,
    transcriber,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    settings = make_settings()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(DATA / "stereo_diarization.wav", inbox / "stereo.wav")
    (inbox / "text.txt").write_text("Agent: Hello.\nCustomer: My card was charged twice.\n")
    with Runtime(settings, embedder=embedder) as rt:
        rt._transcriber = transcriber
        sources, _ = calls_service.discover_inputs([inbox], ["billing"])
        sources[1].date = "2026-10-02"
        assert {r.status for r in calls_service.ingest_sources(rt, sources)} == {"indexed"}
    # What an older CallScope left: the same shards, their metadata with its schema (none in 1).
    for meta in settings.paths.shards.glob("*.json"):
        data = json.loads(meta.read_text())
        if old == 1:
            del data["schema"]
        else:
            data["schema"] = old
        meta.write_text(json.dumps(data))
    with Runtime(settings, embedder=embedder) as rt, pytest.raises(StaleIndexError) as refused:
        rt.turns  # noqa: B018 - opening is what refuses
    assert "callscope reindex" in str(refused.value) and "older CallScope" in str(refused.value)

    def no_transcribing(*args, **kwargs):
        raise AssertionError("re-indexing must not transcribe")

    monkeypatch.setattr("ingest.transcribe.Transcriber.transcribe", no_transcribing)
    with Runtime(settings, embedder=embedder) as rt:
        report = reindex(rt)
        assert report.old_schema == old and report.counts == {"indexed": 2}
        assert rt.turns.info.schema == INDEX_SCHEMA
        found = search_service.search(rt, "charged twice", filters=CallFilter(labels=("billing",)))
        assert found.passages[0].call_id == "text"
        [text_call] = rt.calls.scroll({"call_id": "text"})
        assert text_call.payload["date"] == "2026-10-02"  # carried over from the old points
        assert {r.state for r in rt.ledger.rows()} == {"indexed"}


class _PreviousModel(Embedder):
    """Stands for the model an index was built with before the switch (MiniLM, a bge)."""

    model_id = "sentence-transformers/previous-model"
    dim = 8

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        return np.full((len(texts), self.dim), 8**-0.5, dtype=np.float32)


def test_switching_the_embedder_is_one_reindex_away_without_transcribing(
    make_settings, embedder, transcriber, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An index records its embedder; opened with another it refuses and says what to do;
    ``reindex`` re-embeds every call from the ledger's transcripts with the new one."""
    settings = make_settings()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(DATA / "stereo_diarization.wav", inbox / "stereo.wav")
    (inbox / "zh.txt").write_text("坐席：您好。\n客户：我买的耳机有杂音，我想退款。\n")
    with Runtime(settings, embedder=_PreviousModel()) as rt:
        rt._transcriber = transcriber
        sources, _ = calls_service.discover_inputs([inbox], ["refund"])
        sources[1].date = "2026-10-02"
        assert {r.status for r in calls_service.ingest_sources(rt, sources)} == {"indexed"}
    with Runtime(settings, embedder=embedder) as rt, pytest.raises(CollectionMismatchError) as no:
        rt.turns  # noqa: B018 - opening is what refuses
    said = str(no.value)
    assert "previous-model" in said and "multilingual-e5-small" in said, said
    assert "callscope reindex" in said and "EMBEDDING__MODEL" in said, said

    def no_transcribing(*args, **kwargs):
        raise AssertionError("re-indexing must not transcribe")

    monkeypatch.setattr("ingest.transcribe.Transcriber.transcribe", no_transcribing)
    with Runtime(settings, embedder=embedder) as rt:
        report = reindex(rt)
        assert report.counts == {"indexed": 2}
        assert report.old_model == "sentence-transformers/previous-model"
        assert rt.turns.info.model_id == rt.calls.info.model_id == embedder.model_id
        found = search_service.search(rt, "客户为什么要退款？")
        assert found.passages[0].call_id == "zh"
        [zh] = rt.calls.scroll({"call_id": "zh"})
        assert zh.payload["date"] == "2026-10-02"  # carried over from the old points


def test_a_question_that_names_a_time_searches_those_days(runtime: Runtime) -> None:
    from datetime import date, timedelta

    today = date.today()
    last_week = today - timedelta(days=today.weekday() + 4)  # a day of the previous week
    older = today - timedelta(days=120)
    calls = [
        CallSource(
            cid,
            "text",
            "test",
            date=day.isoformat(),
            transcript=Transcript([Turn("customer", "My refund has not arrived yet.")]),
        )
        for cid, day in (("recent", last_week), ("old", older))
    ]
    runtime.pipeline().run(calls)
    found = search_service.search(runtime, "refund calls from last week")
    assert [p.call_id for p in found.passages] == ["recent", "old"]  # last week's first
    assert found.dates is not None and found.dates.words == "last week"
    assert found.dates.start <= last_week <= found.dates.end
    runtime.settings = runtime.settings.with_changes(search={"dates_from_question": "filter"})
    found = search_service.search(runtime, "refund calls from last week")
    assert [p.call_id for p in found.passages] == ["recent"]
    # No time named: no dates.
    assert search_service.search(runtime, "refund calls").dates is None
