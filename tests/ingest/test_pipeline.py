"""The whole ingest spine with real models and the real Qdrant Edge engine."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import CollectionMismatchError
from app.runtime import Runtime
from ingest.sources import discover
from retrieval.index.embedding import Embedder
from tests.conftest import DATA
from tests.killing import kill_9_when

ROOT = Path(__file__).resolve().parents[2]


def _write_calls(folder: Path, n: int, start: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        (folder / f"call-{i:04d}.txt").write_text(
            f"Agent: Thanks for calling, this is call number {i}.\n"
            f"Customer: My order {1000 + i} arrived broken and I want a refund.\n"
        )


def test_folder_with_a_corrupt_file_indexes_the_rest(runtime: Runtime, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _write_calls(inbox, 3)
    shutil.copy(DATA / "stereo_diarization.wav", inbox / "stereo.wav")
    (inbox / "zh.json").write_text(
        json.dumps(
            {
                "turns": [
                    {"speaker": "客户", "text": "我的快递已经三天没有更新了"},
                    {"speaker": "坐席", "text": "我帮您查一下物流"},
                ]
            },
            ensure_ascii=False,
        ),
        "utf-8",
    )
    (inbox / "broken.mp3").write_bytes(b"\xff\xfb\x90\x00" + os.urandom(3000))
    sources, errors = discover([inbox])
    assert errors == []

    results = runtime.pipeline().run(sources)
    status = {r.call_id: r.status for r in results}
    assert status == {
        "call-0000": "indexed",
        "call-0001": "indexed",
        "call-0002": "indexed",
        "stereo": "indexed",
        "zh": "indexed",
        "broken": "failed",
    }
    broken = runtime.ledger.get("broken")
    assert broken.state == "failed" and "broken.mp3" in broken.error
    assert runtime.ledger.counts()["indexed"] == 5

    store = runtime.turns
    # The turn index: one point per turn (two per text call here, one per stereo channel).
    assert store.count() == sum(r.turn_points for r in results) == runtime.calls.count() * 2
    stereo = sorted(store.scroll({"call_id": "stereo"}), key=lambda p: p.payload["turn"])
    assert [p.payload["speakers"] for p in stereo] == [["agent"], ["customer"]]
    assert all(p.payload["source_kind"] == "audio" and p.payload["end"] <= 5.0 for p in stereo)
    assert stereo[0].payload["text"].startswith("Agent: ")
    assert stereo[1].payload["text"].startswith("Customer: ")

    # Chinese keyword search finds the Chinese call through the stored BM25 vectors.
    hits = store.query(sparse=runtime.sparse.encode_query("快递"), limit=1)
    assert hits[0].payload["call_id"] == "zh" and hits[0].payload["language"] == "zh"
    # Dense search finds the refund calls.
    query = runtime.embedder.embed(["customer wants a refund for a broken order"], query=True)[0]
    assert store.query(dense=query, limit=1)[0].payload["call_id"].startswith("call-")


def test_reingest_is_idempotent_and_changes_replace_old_chunks(
    runtime: Runtime, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    _write_calls(inbox, 4)
    pipeline = runtime.pipeline()
    pipeline.run(discover([inbox])[0])
    before = sorted(p.id for p in runtime.turns.scroll())

    again = pipeline.run(discover([inbox])[0])
    assert {r.status for r in again} == {"unchanged"}
    assert sorted(p.id for p in runtime.turns.scroll()) == before

    (inbox / "call-0001.txt").write_text("Customer: Actually I need to change my address.\n")
    changed = {r.call_id: r.status for r in pipeline.run(discover([inbox])[0])}
    assert changed["call-0001"] == "indexed" and changed["call-0000"] == "unchanged"
    points = list(runtime.turns.scroll({"call_id": "call-0001"}))
    assert len(points) == 1 and "address" in points[0].payload["text"]  # its one turn now
    assert runtime.turns.count() == 3 * 2 + 1  # the old turns of call-0001 are gone


def test_relabel_reindexes_without_retranscribing(runtime: Runtime, tmp_path: Path) -> None:
    audio = shutil.copy(DATA / "stereo_diarization.wav", tmp_path / "c.wav")
    pipeline = runtime.pipeline()
    [source] = discover([Path(audio)])[0]
    pipeline.run([source])
    source.labels = ["complaint_escalation"]
    [result] = pipeline.run([source])
    assert result.status == "indexed"
    assert pipeline._transcriber.cache.hits >= 1
    points = list(runtime.turns.scroll({"labels": "complaint_escalation"}))
    assert points and {p.payload["call_id"] for p in points} == {"c"}


class _OtherModel(Embedder):
    model_id = "test/other-model"
    dim = 16

    def embed(self, texts, *, query=False):
        return np.ones((len(texts), self.dim), dtype=np.float32) / 4


def test_opening_a_collection_with_another_model_is_refused(
    make_settings, embedder, tmp_path: Path
) -> None:
    settings = make_settings()
    _write_calls(tmp_path / "in", 1)
    with Runtime(settings, embedder=embedder) as rt:
        rt.pipeline().run(discover([tmp_path / "in"])[0])
    with (
        Runtime(settings, embedder=_OtherModel()) as rt,
        pytest.raises(CollectionMismatchError) as info,
    ):
        rt.turns  # noqa: B018
    message = str(info.value)
    assert "multilingual-e5-small" in message and "other-model" in message
    assert "callscope reindex" in message


# In `make stress`, not `make test`: kill -9 during an import of real recordings: ~42 s.
@pytest.mark.stress
def test_kill_9_mid_batch_then_rerun_loses_and_duplicates_nothing(
    make_settings, embedder, tmp_path: Path
) -> None:
    total = 240
    inbox = tmp_path / "inbox"
    _write_calls(inbox, total)
    settings = make_settings()
    env = {
        **os.environ,
        "PATHS__STATE_DIR": str(settings.paths.state_dir),
        "PATHS__MODELS_DIR": str(settings.paths.models),
        "INGEST__BATCH_CHUNKS": "2",
    }

    def indexed() -> int:
        if not settings.paths.ledger.exists():
            return 0
        with sqlite3.connect(settings.paths.ledger) as db:
            try:
                return db.execute("SELECT COUNT(*) FROM calls WHERE state='indexed'").fetchone()[0]
            except sqlite3.OperationalError:  # the table is not there yet
                return 0

    command = [sys.executable, "-m", "app.cli.main", "ingest", str(inbox)]
    indexed_at_kill = kill_9_when(command, env, indexed, at_least=20)
    assert indexed_at_kill < total

    with Runtime(settings, embedder=embedder) as rt:
        results = rt.pipeline().run(discover([inbox])[0])
        statuses = [r.status for r in results]
        assert statuses.count("unchanged") >= indexed_at_kill
        assert "failed" not in statuses
        points = list(rt.turns.scroll())
        # Two turns per call, each stored once: nothing lost, nothing doubled.
        assert len(points) == 2 * total == rt.turns.count()
        assert len({p.payload["call_id"] for p in points}) == total
        assert len({(p.payload["call_id"], p.payload["turn"]) for p in points}) == 2 * total
        assert rt.ledger.counts()["indexed"] == total


def test_oversize_file_fails_alone(make_settings, embedder, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _write_calls(inbox, 1)
    shutil.copy(DATA / "jfk.flac", inbox / "big.flac")  # ~1 MB, over a 0.5 MB limit
    settings = make_settings(ingest={"max_file_mb": 0.5})
    with Runtime(settings, embedder=embedder) as rt:
        results = {r.call_id: r for r in rt.pipeline().run(discover([inbox])[0])}
    assert results["call-0000"].status == "indexed"
    assert results["big"].status == "failed" and "over the limit" in results["big"].error


def test_demo_corpus_rows_import(runtime: Runtime) -> None:
    """The bundled corpus is part of the product: its rows load, and a recording transcribes
    close to its script."""
    from ingest.labels import load_labeled

    sources, errors = load_labeled(ROOT / "app" / "demo" / "calls.jsonl")
    assert errors == [] and len(sources) == 120
    assert {s.labels[0] for s in sources} >= {"refund", "delivery_delay", "address_change"}
    audio = [s for s in sources if s.kind == "audio"]
    assert len(audio) == 20 and all(s.path.exists() for s in audio)
    chinese = next(s for s in sources if s.transcript and s.transcript.language == "zh")

    [one] = audio[:1]
    results = runtime.pipeline().run([one, chinese])
    assert [r.status for r in results] == ["indexed", "indexed"]
    script = json.loads(
        next(
            line
            for line in (ROOT / "app/demo/calls.jsonl").read_text().splitlines()
            if f'"{one.call_id}"' in line
        )
    )
    said = {w for t in script["turns"] for w in t["text"].lower().split() if len(w) > 4}
    heard = " ".join(
        p.payload["text"].lower() for p in runtime.turns.scroll({"call_id": one.call_id})
    )
    assert sum(w.strip(".,?!") in heard for w in said) / len(said) > 0.6
    # Turns come back in the order they were spoken, each with its channel's speaker.
    turns = [t.to_dict() for t in runtime.ledger.get(one.call_id).transcript.turns]
    assert [t["speaker"] for t in turns] == [t["speaker"] for t in script["turns"]]
    assert all(a["start"] <= b["start"] for a, b in zip(turns, turns[1:], strict=False))
    # Its recording is kept apart from the origin (a table row), so it can be played/deleted;
    # a ledger written before that column gets it on the next (unchanged) import.
    row = runtime.ledger.get(one.call_id)
    assert row.origin.startswith("calls.jsonl:") and row.recording == one.path.resolve()
    runtime.ledger.upsert(one.call_id, audio=None)
    assert runtime.ledger.get(one.call_id).recording is None
    [again] = runtime.pipeline().run([one])
    assert again.status == "unchanged"
    assert runtime.ledger.get(one.call_id).recording == one.path.resolve()


def test_dates_in_export_forms_and_an_unreadable_one(runtime: Runtime) -> None:
    """Each usual form becomes an ISO date payload that filters work on; an unreadable date is
    a warning on that call, which is indexed without it."""
    from app.core.models import CallSource, Transcript, Turn

    forms = {
        "iso": "2023-05-08",
        "slashes": "2023/05/08 13:56",
        "dots": "08.05.2023",
        "words": "8 May 2023",
        "locomo": "1:56 pm on 8 May, 2023",
        "chinese": "2023年5月8日",
        "epoch": "1683553000",
        "bad": "the day after the storm",
    }
    sources = [
        CallSource(
            call_id=cid,
            kind="text",
            origin="test",
            date=raw,
            transcript=Transcript([Turn("customer", f"My parcel {cid} has not arrived.")]),
        )
        for cid, raw in forms.items()
    ]
    results = {r.call_id: r for r in runtime.pipeline().run(sources)}
    assert {r.status for r in results.values()} == {"indexed"}
    assert results["bad"].warnings == [
        "date 'the day after the storm' could not be read: indexed without a date"
    ]
    assert all(not r.warnings for cid, r in results.items() if cid != "bad")
    dated = {p.payload["call_id"]: p.payload.get("date") for p in runtime.calls.scroll()}
    assert dated["bad"] is None
    assert {cid for cid, d in dated.items() if d and d.startswith("2023-05-08")} == set(forms) - {
        "bad"
    }
    may_8 = {"date": {"gte": "2023-05-08", "lte": "2023-05-08"}}
    assert {p.payload["call_id"] for p in runtime.calls.scroll(may_8)} == set(forms) - {"bad"}
    assert runtime.ledger.get("bad").warnings == results["bad"].warnings


def test_calls_carry_how_the_conversation_went(runtime: Runtime, tmp_path: Path) -> None:
    """Metrics and speaker source land on the call point (filterable), and an import's
    agent_speaker swaps the roles of a mono call told apart by voice."""
    timed = tmp_path / "timed.json"
    timed.write_text(
        json.dumps(
            {
                "turns": [
                    {"speaker": "agent", "text": "thanks for calling", "start": 0, "end": 2},
                    {"speaker": "customer", "text": "my refund", "start": 2.5, "end": 4},
                    {"speaker": "agent", "text": "one moment", "start": 70, "end": 71},
                ]
            }
        ),
        "utf-8",
    )
    mono = shutil.copy(DATA / "mono_two_voices.flac", tmp_path / "mono.flac")
    sources, _ = discover([timed, Path(mono)])
    for source in sources:
        source.agent_speaker = "swap" if source.call_id == "mono" else None
    assert {r.status for r in runtime.pipeline().run(sources)} == {"indexed"}

    (timed_point,) = runtime.calls.scroll(filter={"call_id": "timed"})
    assert timed_point.payload["speaker_source"] == "transcript"
    assert timed_point.payload["metrics"]["longest_silence"] == pytest.approx(66.0)
    held = runtime.calls.count({"metrics.longest_silence": {"gte": 60}})
    assert held == 1

    (mono_point,) = runtime.calls.scroll(filter={"call_id": "mono"})
    assert mono_point.payload["speaker_source"] == "voices"
    turns = runtime.ledger.get("mono").transcript.turns
    # Swapped: the voice that greets (the agent by voice) is now called the customer.
    assert turns[0].speaker == "customer" and {t.speaker for t in turns} == {"agent", "customer"}
    assert runtime.turns.count({"call_id": "mono", "speakers": "customer"}) >= 1
