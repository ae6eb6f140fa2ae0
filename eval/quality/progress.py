"""A label-quality run's progress: one percentage that keeps moving through every stage.

The stages take very different times (on the demo's 120 calls the light model's five fold fits
are ~85% of a store run, the leave-one-out vote under 2%), so reporting "stage 3 of 6" leaves
the bar standing still for most of the run. Each stage gets a share of the run measured on the
demo corpus, and the long stages report their own progress (per call, per fold, per report
file) inside that share.
"""

from __future__ import annotations

from collections.abc import Callable

#: The steps of a run, in order (the first only when indexing a file, the LLM review only when
#: an LLM is configured). These exact texts are the progress messages; the UI translates them.
STAGES = (
    "indexing the labeled file",
    "reading the labeled calls",
    "near-duplicates and outliers",
    "leave-one-out neighbour vote",
    "cross-validated light model",
    "LLM review of the top suspects",
    "writing the reports",
)
INDEXING, READING, DUPLICATES, KNN, MODEL, LLM_REVIEW, REPORTS = STAGES

#: Relative time of each stage: measured on the demo corpus (120 calls, store run, 2 cores:
#: light model 9.5 s, reports 0.7 s, the rest 0.2 s); a file's indexing and an LLM review are
#: sized by their usual order of magnitude.
_WEIGHTS = {
    INDEXING: 100.0,
    READING: 2.0,
    DUPLICATES: 1.0,
    KNN: 2.0,
    MODEL: 85.0,
    LLM_REVIEW: 40.0,
    REPORTS: 10.0,
}

#: ``progress(done, total, message)``: ``done`` of ``total`` (100) percent, at stage ``message``.
Progress = Callable[[int, int, str], None]


class Tracker:
    """Turns "stage X is this far" into a percentage of the whole run for ``report``."""

    def __init__(
        self, report: Progress | None = None, *, indexing: bool = False, llm: bool = False
    ) -> None:
        skipped = {INDEXING: not indexing, LLM_REVIEW: not llm}
        self._stages = [s for s in STAGES if not skipped.get(s, False)]
        self._report = report
        self._total = sum(_WEIGHTS[s] for s in self._stages)
        self._last = -1

    def __call__(self, stage: str, fraction: float = 0.0) -> None:
        """``stage`` is ``fraction`` (0..1) done."""
        if self._report is None or stage not in self._stages:
            return
        before = sum(_WEIGHTS[s] for s in self._stages[: self._stages.index(stage)])
        part = _WEIGHTS[stage] * min(max(fraction, 0.0), 1.0)
        percent = min(99, int(100 * (before + part) / self._total))  # 100 only when done
        if percent != self._last or fraction == 0.0:
            self._last = percent
            self._report(percent, 100, stage)

    def finished(self) -> None:
        """The run is over: 100%."""
        if self._report is not None:
            self._report(100, 100, self._stages[-1])

    def part(self, stage: str) -> Callable[[float], None]:
        """A callback for one stage's own progress (``fraction`` done)."""
        return lambda fraction: self(stage, fraction)
