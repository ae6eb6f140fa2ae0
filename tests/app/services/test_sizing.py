"""Hardware sizing from a measured run (``app.services.sizing``): hand-written summaries whose
numbers come out exact, so every figure of the plan is checked to the last digit."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import ConfigError, InputError
from app.services.sizing import (
    MeasuredRun,
    latest_run,
    predict_wall_seconds,
    rates,
    size,
)


def _summary(**changes: Any) -> dict[str, Any]:
    """40 new calls, 2 h of audio, 1000 s: transcribe 720 s (360 s per audio hour), index 80 s
    (2 s a call), classify 40 s (1 s a call), and 160 s untimed (4 s a call), on 2 cores."""
    summary: dict[str, Any] = {
        "n": 40,
        "new_calls": 40,
        "new_audio_hours": 2.0,
        "seconds": 1000.0,
        "resumed_from": 0,
        "stage_seconds": {"classify": 40.0, "index": 80.0, "transcribe": 720.0},
        "machine": {
            "cores": 2,
            "model": "bundled:base",
            "device": "cpu",
            "compute_type": "int8",
            "transcription": "processes",
            "workers": 2,
            "threads_per_worker": 1,
        },
    }
    summary.update(changes)
    return summary


def _run(summary: dict[str, Any] | None = None) -> MeasuredRun:
    written = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    return MeasuredRun(
        "run-x", Path("/s/batches/run-x/summary.json"), written, summary or _summary()
    )


def _write(batches: Path, run: str, summary: dict[str, Any], mtime: float) -> Path:
    path = batches / run / "summary.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(summary), encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def test_rates_per_audio_hour_and_per_call() -> None:
    measured = rates(_summary())
    assert measured == {"transcribe": 360.0, "index": 2.0, "classify": 1.0, "other": 4.0}
    assert list(measured) == ["transcribe", "index", "classify", "other"]  # pipeline order


def test_predict_wall_seconds_scales_audio_and_calls_apart() -> None:
    # 360 s × 10 audio hours + (2 + 1 + 4) s × 100 calls
    assert predict_wall_seconds(_summary(), calls=100, audio_hours=10.0) == 3600.0 + 700.0
    assert predict_wall_seconds(_summary(), calls=40, audio_hours=2.0) == 1000.0


def test_predict_needs_a_measured_transcription_for_audio() -> None:
    text_only = _summary(stage_seconds={"index": 80.0, "classify": 40.0}, new_audio_hours=0.0)
    assert predict_wall_seconds(text_only, calls=10, audio_hours=0.0) == 10 * (2 + 1 + 22)
    with pytest.raises(InputError, match="transcribed no audio"):
        predict_wall_seconds(text_only, calls=10, audio_hours=1.0)


def test_untimed_rest_rounded_below_zero_counts_as_none() -> None:
    tight = _summary(seconds=839.9)  # the stages sum to 840.0 after rounding
    assert rates(tight)["other"] == 0.0


def test_size_a_week() -> None:
    # 36000 calls × 6 min = 3600 audio h: transcription 360 h wall (720 core-h on 2 cores);
    # the driver 20 + 10 + 40 = 70 h, leaving 50 h of the 120 h window: 720 / 50 = 14.4 cores.
    plan = size(_run(), calls=36000, minutes=6)
    assert plan.audio_hours == 3600.0
    by = {s.name: s for s in plan.stages}
    assert (by["transcribe"].rate, by["transcribe"].per) == (360.0, "audio hour")
    assert (by["transcribe"].wall_hours, by["transcribe"].core_hours) == (360.0, 720.0)
    assert by["transcribe"].scales and not by["index"].scales
    assert (by["index"].wall_hours, by["index"].core_hours) == (20.0, 40.0)
    assert (by["classify"].wall_hours, by["classify"].core_hours) == (10.0, 20.0)
    assert (by["other"].wall_hours, by["other"].core_hours) == (40.0, 80.0)
    assert (plan.wall_hours, plan.driver_hours, plan.window_hours) == (430.0, 70.0, 120.0)
    assert (plan.cores_needed, plan.machines_needed, plan.servers_needed) == (15, 8, 2)
    assert plan.customer_hours == 720.0 / 16 + 70.0  # 115 h: two 8-core servers do it
    assert plan.wall_hours * 3600 == predict_wall_seconds(_summary(), 36000, 3600.0)
    assert any("run-x: 40 calls, 2.0 h of audio" in line for line in plan.assumes)
    assert any("bundled:base, device cpu, compute type int8" in line for line in plan.assumes)
    out = plan.to_dict()
    assert out["customer"] == {"servers": 2, "cores": 16, "wall_hours": 115.0, "fits": True}
    assert out["stages"]["index"]["wall_hours"] == 20.0
    json.dumps(out)


def test_small_week_fits_one_measured_machine() -> None:
    plan = size(_run(), calls=3600, minutes=6, window_hours=60)
    # 36 h of transcription + 7 h driver; 72 core-h in the 53 h left: 2 cores, this machine.
    assert (plan.wall_hours, plan.cores_needed, plan.machines_needed, plan.servers_needed) == (
        43.0,
        2,
        1,
        1,
    )


def test_driver_alone_over_the_window_needs_no_machine_count() -> None:
    plan = size(_run(), calls=72000, minutes=6)  # the driver alone: 140 h > 120 h
    assert plan.driver_hours == 140.0
    assert (plan.cores_needed, plan.machines_needed, plan.servers_needed) == (None, None, None)


@pytest.mark.parametrize(
    ("option", "value", "names"),
    [("device", "cuda", "WHISPER__DEVICE=cuda"), ("model", "large-v3", "WHISPER__MODEL=large-v3")],
)
def test_refuses_a_model_or_device_not_measured(option: str, value: str, names: str) -> None:
    with pytest.raises(ConfigError, match=f"measure a run with it first.*{names}"):
        size(_run(), calls=100, minutes=5, **{option: value})
    # the measured ones are fine
    size(_run(), calls=100, minutes=5, model="bundled:base", device="cpu")


def test_no_summary_says_run_a_sample_first(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="run `callscope batch` on a sample first"):
        latest_run(tmp_path / "batches")
    with pytest.raises(InputError, match="run `callscope batch` on a sample first"):
        MeasuredRun.read(tmp_path / "nope" / "summary.json")


def test_latest_real_run_wins_over_older_and_over_a_resume_with_no_work(tmp_path: Path) -> None:
    batches = tmp_path / "batches"
    _write(batches, "old", _summary(seconds=2000.0), mtime=1_000)
    _write(batches, "real", _summary(), mtime=2_000)
    # Newer, but a rerun that found every call done: nothing measured.
    _write(batches, "resumed", _summary(new_calls=0, stage_seconds={}), mtime=3_000)
    # Newer still, but written before stage times were recorded.
    legacy = {k: v for k, v in _summary().items() if k not in ("stage_seconds", "machine")}
    _write(batches, "legacy", legacy, mtime=4_000)
    (batches / "torn").mkdir()
    (batches / "torn" / "summary.json").write_text('{"n": 4', encoding="utf-8")
    found = latest_run(batches)
    assert found.run == "real" and found.summary["seconds"] == 1000.0


def test_only_unusable_runs_is_the_missing_summary_error(tmp_path: Path) -> None:
    batches = tmp_path / "batches"
    _write(batches, "resumed", _summary(new_calls=0, stage_seconds={}), mtime=3_000)
    with pytest.raises(InputError, match="none of the 1 run summaries there transcribed"):
        latest_run(batches)
    with pytest.raises(InputError, match="processed no new calls"):
        size(MeasuredRun.read(batches / "resumed" / "summary.json"), calls=10, minutes=5)
