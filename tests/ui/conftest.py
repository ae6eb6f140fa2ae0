"""Browser-test fixtures: the Debian chromium (installed with apt when missing), and the real
app (real MiniLM, Qdrant Edge, whisper, job queue) served by uvicorn on a free local port over
a small indexed corpus, protected by an API key like a deployment."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from app.core.config import load_settings  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from ingest.sources import discover  # noqa: E402
from tests.textcalls import text_sources  # noqa: E402
from tests.ui.corpus import calls  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
DATA = Path(__file__).parent.parent / "data"
KEY = "ui-test-key-0123456789"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """/usr/bin/chromium, installed from Debian when missing (CI runs as root on a fresh box)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            "browser tests need /usr/bin/chromium: run as root with apt-get, or "
            "`apt-get install chromium` first"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # The suite runs on two workers (pytest-xdist): one installs, the other waits for the lock
    # and then finds chromium there (two apt-get runs at once fight over dpkg's lock).
    with open("/tmp/callscope-chromium-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if CHROMIUM.exists():
            return CHROMIUM
        done = subprocess.run(
            "apt-get update -q && apt-get install -y -q chromium",
            shell=True,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    if done.returncode != 0 or not CHROMIUM.exists():
        pytest.skip(f"could not install chromium with apt-get: {done.stderr[-500:]}")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    base: str
    runtime: Runtime
    app: Any


@pytest.fixture(scope="session")
def served(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder
) -> Iterator[Served]:
    """The app on 127.0.0.1:<free port>, in a uvicorn thread, over the indexed test corpus."""

    audio = recordings(tmp_path_factory, "jfk.flac")
    with fresh_runtime(tmp_path_factory, models_dir, embedder, "ui") as runtime:
        results = list(runtime.pipeline().run([*text_sources(calls()), *audio]))
        assert {r.status for r in results} == {"indexed"}, results
        with served_app(runtime, "ui-test-server") as served:
            yield served


def recordings(tmp_path_factory: pytest.TempPathFactory, *names: str) -> list[Any]:
    """Sources for test recordings (``tests/data`` files, copied to a folder of their own)."""
    folder = tmp_path_factory.mktemp("ui-recordings")
    for name in names:
        shutil.copy(DATA / name, folder / name)
    audio, errors = discover([folder / name for name in names])
    assert not errors
    return audio


def upload(page: Any, *paths: Path) -> None:
    """Give the Classify tab's upload box files, as a user dropping them would: once the tab has
    drawn it (a hidden input set too early uploads nothing), then wait for each name."""
    box = page.locator("#classify-files")
    box.wait_for(state="visible")
    box.locator("input[type=file]").set_input_files([str(p) for p in paths])
    for path in paths:
        box.get_by_text(path.stem).first.wait_for(timeout=120_000)


@contextmanager
def fresh_runtime(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder: Any, name: str
) -> Iterator[Runtime]:
    """A Runtime on a new state dir, its API keyed with ``KEY`` (for a module's own corpus)."""
    root = tmp_path_factory.mktemp(name)
    settings = load_settings(
        paths={"state_dir": root / "state", "models_dir": models_dir}, api={"api_keys": [KEY]}
    )
    with Runtime(settings, embedder=embedder) as runtime:
        yield runtime


@contextmanager
def served_app(runtime: Runtime, name: str) -> Iterator[Served]:
    """The API and UI over ``runtime``, served on a free local port until the block ends."""
    from app.api.app import create_app

    app = create_app(runtime=runtime)
    with serving(app, name) as url:
        yield Served(url, runtime, app)


@contextmanager
def serving(app: Any, name: str) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free local port, until the block ends."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    for _ in range(600):
        if server.started or not thread.is_alive():
            break
        time.sleep(0.1)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="session")
def playwright(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def open_ui(playwright: Any, chromium: Path, served: Served) -> Iterator[Callable[..., Any]]:
    """``open_ui(locale)``: chromium on a fresh user-data-dir, signed in with the API key, on
    the UI; closed after the test."""
    opened: list[tuple[Any, str]] = []

    def open_page(locale: str = "en-US") -> Any:
        profile = tempfile.mkdtemp(prefix="callscope-chromium-")
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(chromium),
            headless=True,
            args=FLAGS,
            locale=locale,
            viewport={"width": 1400, "height": 1000},
        )
        opened.append((context, profile))
        context.set_default_timeout(60_000)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{served.base}/ui/")
        page.locator("input[type=password]").fill(KEY)
        page.locator("input[type=text]").first.fill("staff")
        page.locator("input[type=password]").press("Enter")
        page.locator("#tab-ask-button, button[role=tab]").first.wait_for()
        return page

    yield open_page
    for context, profile in opened:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Any, name: str) -> None:
    """Save ``name.png`` into $CALLSCOPE_SCREENSHOTS when it is set."""
    folder = os.environ.get("CALLSCOPE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def open_tab(page: Any, name: str) -> Any:
    """Click the tab called ``name`` until it is the selected one, and return it.

    A click that lands while the page is still wiring its tabs (a busy machine, seen once in
    CI) can leave the tab unselected; a person clicks again, and so does this."""
    tab = page.get_by_role("tab", name=name)
    for _ in range(3):
        tab.click()
        try:
            expect(tab).to_have_attribute("aria-selected", "true", timeout=10_000)
            return tab
        except AssertionError:
            continue
    expect(tab).to_have_attribute("aria-selected", "true")
    return tab
