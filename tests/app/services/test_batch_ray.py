"""The weekly batch with its transcription on a local Ray cluster (2 CPUs, started by the
test) gives the labels and the very transcripts of the local worker processes, and fails a bad
file alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.core.config import load_settings
from app.runtime import Runtime
from app.services import calls
from app.services.batch_run import run_batch
from tests.app.services.test_batch_run import _labeled
from tests.conftest import DATA


def _inbox(folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(DATA / "stereo_diarization.wav", folder / "wizard.wav")
    shutil.copy(DATA / "jfk.flac", folder / "country.flac")
    (folder / "refund.txt").write_text(
        "Agent: Hello.\nCustomer: I returned the shoes and want my money back\n", "utf-8"
    )
    (folder / "broken.mp3").write_bytes(b"\x00\x01 not audio")
    return folder


def _batch(tmp_path: Path, models_dir: Path, embedder, **sections: dict) -> tuple[dict, dict]:
    paths = {"state_dir": tmp_path / "state", "models_dir": models_dir}
    with Runtime(load_settings(paths=paths, **sections), embedder=embedder) as runtime:
        _labeled(runtime)
        sources, errors = calls.discover_inputs([_inbox(tmp_path / "in")])
        summary = run_batch(runtime, sources, errors, folder=tmp_path / "run", source="test")
        rows = {r["call_id"]: r for r in map(json.loads, (tmp_path / "run/results.jsonl").open())}
        heard = {c: runtime.ledger.get(c).transcript for c in ("wizard", "country")}
    return summary, {c: (r.get("label"), r.get("error") is None) for c, r in rows.items()} | {
        f"{c} turns": [(t.speaker, t.text) for t in t_.turns] for c, t_ in heard.items()
    }


# In `make stress`, not `make test`: a local Ray cluster: ~75 s.
@pytest.mark.stress
def test_batch_on_ray_gives_the_local_labels(
    ray_cluster, models_dir: Path, embedder, tmp_path: Path
) -> None:
    # The local path with the same worker shape (2 processes of 1 thread): the same words.
    local, local_rows = _batch(tmp_path / "local", models_dir, embedder, whisper={"workers": 2})
    on_ray, ray_rows = _batch(
        tmp_path / "ray", models_dir, embedder, ray={"address": "auto", "workers": 2}
    )
    assert on_ray["machine"]["transcription"] == "ray"
    assert local["machine"]["transcription"] == "processes"
    # The very transcripts, and the labels of the calls with a clear answer. "wizard" is about
    # none of the labels: its two best labels are a hair apart, and which one wins was seen to
    # change between identical local runs too (noted on issue 24), so only that it was
    # classified is compared.
    assert ray_rows.pop("wizard")[1] and local_rows.pop("wizard")[1]
    assert ray_rows == local_rows
    assert on_ray["classified"] == local["classified"] == 3 and on_ray["failed"] == 1
    assert "broken.mp3" in on_ray["errors"][0]["origin"]
