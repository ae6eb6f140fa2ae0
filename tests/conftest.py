"""Session-wide real components: the bundled whisper and MiniLM models, loaded once."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# What the `callscope` entry point sets before any model library is imported: the suite runs
# commands in-process (CliRunner), where the tqdm bars would land in their output.
os.environ.setdefault("TQDM_DISABLE", "1")
# One transcription process in tests (each worker process loads whisper: seconds per test);
# the worker pool has its own tests (tests/ingest/test_stream_batch.py, the batch service's).
os.environ.setdefault("WHISPER__WORKERS", "1")
# pytest-xdist workers run with COLUMNS=80, and rich fixes a console's width when it is made (the
# CLI's console, at the first import): the CLI tests read whole table rows, as a wide terminal.
os.environ["COLUMNS"] = "200"
# Three pytest workers share two cores: an embedding or speech model spreading each call over
# every core (OpenMP) makes them wait on each other. One thread per worker process gave 23%
# more e5 embeddings per second across three processes (75 vs 61 texts/s, docs/benchmarks.md
# "Suite time").
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from app.core.config import Settings, load_settings  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from ingest.transcribe import Transcriber  # noqa: E402
from retrieval.index.embedding import Embedder, make_embedder  # noqa: E402

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One assembled whisper model for the whole session (145 MB, assembled once)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default embedder, remembering the vectors of the texts it has embedded.

    The suite embeds the same test calls in many modules (58% of the texts a worker embedded
    were repeats); e5's vectors do not depend on the batch or the thread count (checked in
    tests/retrieval/index/test_embedding.py), so a repeat gets the vector e5 gave the first
    time, bit for bit.
    """
    return remembering(make_embedder(Settings().embedding))


def remembering(embedder: Embedder) -> Embedder:
    """``embedder`` with its ``embed`` remembering each (text, query) vector in this process."""
    embed, seen = embedder.embed, {}

    def remembered(texts, *, query: bool = False):  # type: ignore[no-untyped-def]
        texts = list(texts)
        new = list(dict.fromkeys(t for t in texts if (t, query) not in seen))
        if new:
            for text, vector in zip(new, embed(new, query=query), strict=True):
                seen[(text, query)] = vector
        if not texts:
            return embed(texts, query=query)
        return np.stack([seen[(t, query)] for t in texts])

    embedder.embed = remembered  # type: ignore[method-assign]
    return embedder


@pytest.fixture
def make_settings(tmp_path: Path, models_dir: Path) -> Callable[..., Settings]:
    """Settings with a fresh state dir under tmp_path; keyword overrides by section."""

    def make(**sections: dict) -> Settings:
        paths = {"state_dir": tmp_path / "state", "models_dir": models_dir}
        return load_settings(paths=paths, **sections)

    return make


@pytest.fixture
def runtime(make_settings: Callable[..., Settings], embedder: Embedder):
    with Runtime(make_settings(), embedder=embedder) as rt:
        yield rt


@pytest.fixture(scope="session")
def transcriber(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Transcriber:
    return Transcriber(
        Settings().whisper, models_dir=models_dir, cache_dir=tmp_path_factory.mktemp("tcache")
    )


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster of 2 CPUs for the session (skipped, saying why, when Ray is not
    installed or cannot start here)."""
    ray = pytest.importorskip("ray", reason="Ray is the optional extra callscope[ray]")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # no shared memory, no free ports: say why
        pytest.skip(f"Ray cannot start a local cluster here: {exc}")
    yield ray
    ray.shutdown()
