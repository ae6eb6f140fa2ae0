"""Whether the configured LLM may decide classifications, measured on the labeled calls
(``retrieval.classify.trust``): made on first need, kept in the state dir, made again when the
labeled calls, the model or the endpoint change. ``callscope llm trust`` shows or refreshes it;
``status`` prints its line; every classification's provenance carries the rule that applied.

A command-line run measures when it first needs to (and waits: `callscope batch` then uses the
LLM where it helps for the whole run). A long-lived server (``Runtime.long_lived``) never makes
a request wait for it: with a small local model the measurement takes half an hour. It runs in
a background thread (one per state dir) while classifications use the last measurement of the
same model and endpoint (made on earlier labels) or, with none, kNN alone; its progress is in
:func:`measuring`, which ``status``, the Status tab and ``GET /api/llm/trust`` show.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.errors import CallScopeError
from app.core.text import call_text
from app.runtime import Runtime
from retrieval.classify.trust import LLMTrust, choose_sample, compare

if TYPE_CHECKING:  # `status` reads the stored measurement without the LLM client (openai)
    from retrieval.classify.refine import LLMRefiner

log = logging.getLogger(__name__)

TRUST_FILE = "llm_trust.json"
#: Labeled calls asked about per step of a measurement (a progress report after each).
STEP = 4


def trust_path(runtime: Runtime) -> Path:
    return runtime.settings.paths.state_dir / TRUST_FILE


def stored_trust(runtime: Runtime) -> LLMTrust | None:
    """The last measurement, whatever it was made with (None when there is none)."""
    try:
        return LLMTrust.from_dict(json.loads(trust_path(runtime).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def llm_trust(
    runtime: Runtime,
    *,
    refresh: bool = False,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> LLMTrust | None:
    """The measurement for the current LLM and labeled calls, measuring when there is none
    (or ``refresh``). None without an LLM, with ``llm.trust`` other than ``measure``, or with
    no labeled calls to measure on."""
    settings = runtime.settings.llm
    llm = runtime.llm
    if llm is None or settings.trust != "measure":
        return None
    fingerprint, labeled = runtime.classifier.labeled_calls()
    key = (llm.model, str(settings.base_url), fingerprint)
    kept = stored_trust(runtime)
    if kept is not None and kept.key() == key and not refresh:
        return kept
    sample = choose_sample(labeled, settings.trust_sample)
    if not sample:
        return None
    say = on_progress or (lambda done, total, line: None)
    started = time.monotonic()
    truths = dict(labeled)
    rows = {c: runtime.ledger.get(c) for c in sample}
    ids = [c for c in sample if rows[c] is not None and rows[c].transcript is not None]
    texts = [call_text(rows[c].transcript) for c in ids]  # type: ignore[union-attr]
    say(0, len(ids), f"classifying {len(ids)} labeled calls with kNN alone (each without itself)")
    knn = runtime.classifier.classify_stored(ids, texts)
    from retrieval.classify.refine import LLMRefiner

    refine = LLMRefiner(llm, runtime.settings, runtime.labels())
    helped: list = []
    for i in range(0, len(ids), STEP):
        say(i, len(ids), f"{llm.model}: labeled calls {i + 1}-{min(i + STEP, len(ids))}")
        helped += refine(knn[i : i + STEP], texts[i : i + STEP])
    trust = LLMTrust(
        model=llm.model,
        endpoint=str(settings.base_url),
        labels_fingerprint=fingerprint,
        bands=compare(knn, helped, [truths[c] for c in ids]),
        seconds=round(time.monotonic() - started, 1),
        sample=tuple(ids),
    )
    path = trust_path(runtime)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(trust.to_dict(), ensure_ascii=False, indent=1))
    partial.replace(path)
    return trust


@dataclass(frozen=True)
class Measuring:
    """A measurement running in the background (or failed): since when, how far."""

    model: str
    started: float
    #: Labeled calls the LLM has been asked about, of ``total`` (0 of 0: starting).
    done: int = 0
    total: int = 0
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.error is None


_measuring: dict[Path, Measuring] = {}
_measuring_lock = threading.Lock()


def measuring(runtime: Runtime) -> Measuring | None:
    """The background measurement of this state dir, running or failed (None: none since the
    process started, or the last one finished)."""
    with _measuring_lock:
        return _measuring.get(runtime.settings.paths.state_dir)


def measure_in_background(runtime: Runtime) -> Measuring:
    """Start measuring in a background thread unless one is running for this state dir."""
    key = runtime.settings.paths.state_dir
    model = str(runtime.settings.llm.model)
    with _measuring_lock:
        found = _measuring.get(key)
        if found is not None and found.running:
            return found
        started = Measuring(model, time.time())
        _measuring[key] = started

    def report(done: int, total: int, line: str) -> None:
        with _measuring_lock:
            _measuring[key] = replace(_measuring[key], done=done, total=total)

    def work() -> None:
        try:
            llm_trust(runtime, on_progress=report)
        except CallScopeError as exc:  # shown by status; the next classification tries again
            log.warning("measuring the LLM failed: %s", exc)
            with _measuring_lock:
                _measuring[key] = replace(_measuring[key], error=str(exc))
            return
        with _measuring_lock:
            _measuring.pop(key, None)

    threading.Thread(target=work, name="callscope-llm-trust", daemon=True).start()
    return started


@dataclass(frozen=True)
class TrustState:
    """What the faces show: the last measurement of the configured model and endpoint (None:
    none), whether it predates the labeled calls as they are now, and a background one."""

    measured: LLMTrust | None
    stale: bool
    measuring: Measuring | None


def trust_state(runtime: Runtime) -> TrustState:
    """The measurement as it stands, never measuring (status, the Status tab, the API)."""
    s = runtime.settings.llm
    kept = stored_trust(runtime)
    if kept is not None and kept.key()[:2] != (s.model, str(s.base_url)):
        kept = None  # another model's or endpoint's
    stale = False
    if kept is not None:
        try:
            fingerprint, _ = runtime.classifier.labeled_calls()
        except CallScopeError:  # the store is not open: status says why elsewhere
            fingerprint = kept.labels_fingerprint
        stale = kept.labels_fingerprint != fingerprint
    return TrustState(kept, stale, measuring(runtime))


def trust_line(state: TrustState) -> str | None:
    """The state in one line for ``callscope status`` (None: nothing measured or measuring)."""
    parts = []
    if state.measured is not None:
        parts.append(state.measured.summary())
        if state.stale:
            parts.append("(made before the labeled calls last changed)")
    running = state.measuring
    if running is not None and running.running:
        parts.append(
            f"measuring in the background: {running.done}/{running.total} labeled calls asked"
        )
    elif running is not None:
        parts.append(f"the last measurement failed: {running.error}")
    return " ".join(parts) or None


def refiner(runtime: Runtime) -> LLMRefiner | None:
    """The LLM step of a classification as ``llm.trust`` says: measured (the default),
    always, or never (None)."""
    refine = runtime.llm_refiner()
    if refine is None or runtime.settings.llm.trust == "never":
        return None
    if runtime.settings.llm.trust == "measure":
        refine.trust = _trust_for_now(runtime) if runtime.long_lived else llm_trust(runtime)
    return refine


#: The rule while a server has no measurement of its model yet: kNN decides everywhere.
NOT_MEASURED = "the LLM is being measured on the labeled calls: kNN decides until then"


def _trust_for_now(runtime: Runtime) -> LLMTrust:
    """A server's rule without waiting: the current measurement; else (measuring started in
    the background) the last one of this model and endpoint, or none (kNN decides)."""
    s = runtime.settings.llm
    fingerprint, _ = runtime.classifier.labeled_calls()
    kept = stored_trust(runtime)
    if kept is not None and kept.key() == (s.model, str(s.base_url), fingerprint):
        return kept
    measure_in_background(runtime)
    if kept is not None and kept.key()[:2] == (s.model, str(s.base_url)):
        return kept  # made on earlier labels: the best evidence there is until the new one
    return LLMTrust.unmeasured(str(s.model), str(s.base_url), NOT_MEASURED)
