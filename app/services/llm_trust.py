"""Whether the configured LLM may decide classifications, measured on the labeled calls
(``retrieval.classify.trust``): made on first need, kept in the state dir, made again when the
labeled calls, the model or the endpoint change. ``callscope llm trust`` shows or refreshes it;
``status`` prints its line; every classification's provenance carries the rule that applied.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.text import call_text
from app.runtime import Runtime
from retrieval.classify.trust import LLMTrust, choose_sample, compare

if TYPE_CHECKING:  # `status` reads the stored measurement without the LLM client (openai)
    from retrieval.classify.refine import LLMRefiner

TRUST_FILE = "llm_trust.json"


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
    on_progress: Callable[[str], None] | None = None,
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
    say = on_progress or (lambda _: None)
    started = time.monotonic()
    truths = dict(labeled)
    rows = {c: runtime.ledger.get(c) for c in sample}
    ids = [c for c in sample if rows[c] is not None and rows[c].transcript is not None]
    texts = [call_text(rows[c].transcript) for c in ids]  # type: ignore[union-attr]
    say(f"classifying {len(ids)} labeled calls with kNN alone (each without itself)")
    knn = runtime.classifier.classify_stored(ids, texts)
    say(f"asking {llm.model} about the same {len(ids)} calls")
    from retrieval.classify.refine import LLMRefiner

    refine = LLMRefiner(llm, runtime.settings, runtime.labels())
    helped = refine(knn, texts)
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


def refiner(runtime: Runtime) -> LLMRefiner | None:
    """The LLM step of a classification as ``llm.trust`` says: measured (the default),
    always, or never (None)."""
    refine = runtime.llm_refiner()
    if refine is None or runtime.settings.llm.trust == "never":
        return None
    if runtime.settings.llm.trust == "measure":
        refine.trust = llm_trust(runtime)
    return refine
