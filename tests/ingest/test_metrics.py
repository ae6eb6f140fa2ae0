"""Conversation metrics: holds, overtalk, interruptions, talk share, pace."""

from __future__ import annotations

import json

import pytest

from app.core.models import Transcript, Turn
from ingest.metrics import METRIC_KEYS, conversation_metrics
from ingest.transcribe import Transcriber
from tests.conftest import DATA


def test_planted_hold_and_overlap_in_a_real_recording(transcriber: Transcriber) -> None:
    spans = json.loads((DATA / "hold_overlap.json").read_text("utf-8"))
    transcript, _ = transcriber.transcribe(DATA / "hold_overlap.flac", "hold-overlap")
    m = conversation_metrics(transcript)
    planted_hold = spans[3][1] - spans[2][2]  # agent's "please hold" -> "thanks for waiting"
    assert m["longest_silence"] == pytest.approx(planted_hold, abs=1.0)
    assert m["longest_silence"] > 9
    assert m["overtalk_seconds"] > 0.3  # the customer starts before the agent stops
    assert m["customer_interruptions"] >= 1 and m["agent_interruptions"] == 0
    assert m["agent_talk_share"] > m["customer_talk_share"]
    assert 100 < m["agent_wpm"] < 260
    assert set(m) <= set(METRIC_KEYS)


def test_metrics_from_timed_turns() -> None:
    call = Transcript(
        turns=[
            Turn("agent", "hello how can I help", 0.0, 2.0),
            Turn("customer", "my parcel is late again today", 2.5, 6.0),
            Turn("agent", "sorry let me check", 5.0, 8.0),  # 1 s over the customer
            Turn("customer", "thanks", 68.0, 69.0),  # after a 60-s hold
        ],
        duration=70.0,
    )
    m = conversation_metrics(call)
    assert m["duration"] == 70.0 and m["turns"] == 4
    assert m["longest_silence"] == pytest.approx(60.0)
    assert m["overtalk_seconds"] == pytest.approx(1.0)
    assert m["agent_interruptions"] == 1 and m["customer_interruptions"] == 0
    assert m["silence_share"] == pytest.approx((70 - 8.5) / 70, abs=1e-3)
    assert m["agent_talk_share"] == pytest.approx(5 / 9.5, abs=1e-3)
    assert m["customer_wpm"] == pytest.approx(7 / (4.5 / 60), abs=0.1)


def test_chinese_pace_counts_characters() -> None:
    call = Transcript(turns=[Turn("agent", "您好请问有什么可以帮", 0.0, 6.0)])
    assert conversation_metrics(call)["agent_wpm"] == pytest.approx(100.0)


def test_untimed_transcript_has_no_metrics() -> None:
    assert conversation_metrics(Transcript(turns=[Turn("agent", "hi")])) == {}
