"""Whether the LLM may decide: measured on the labeled calls, never assumed.

A small model on a CPU can make classification worse than the neighbour vote alone (the 0.5B
took the demo's held-back calls from 0.80 to 0.40). So before the LLM decides anything, a
sample of labeled calls is classified out of sample twice, by kNN alone and by kNN + LLM, and
the answers are compared with the calls' labels in bands of kNN confidence. The LLM then
decides only in the bands where it got more answers right than kNN did, by a margin a sign test
says is not luck; elsewhere kNN's answer stands, and every answer's provenance says which
rule applied and on what evidence.

The measurement is kept with the fingerprint of the labeled calls, the model and the endpoint
it was made with, and made again when any of them changes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only a type here: `status` reads a measurement without the classifier stack
    from retrieval.classify.answer import Classification

#: kNN confidence bands: (name, lowest confidence, highest). Few enough that a sample of a few
#: dozen calls puts several in each; split where the calibrated confidence changes meaning
#: (below 0.5 kNN is more often wrong than right).
BANDS: tuple[tuple[str, float, float], ...] = (
    ("low", 0.0, 0.5),
    ("mid", 0.5, 0.8),
    ("high", 0.8, 1.0),
)


def band_of(confidence: float) -> str:
    for name, low, high in BANDS:
        if low <= confidence < high or (high == 1.0 and confidence >= low):
            return name
    return BANDS[0][0]


#: How sure the measurement must be that the LLM helps in a band before it decides there: the
#: chance of its margin arising by luck if it were no better (a one-sided sign test on the
#: calls where exactly one way was right). "More right" alone let the 0.5B decide crosswoz's
#: high band on a 16/16 vs 15/16 sample and cost 1 in 30 calls (docs/benchmarks.md).
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class BandResult:
    """One band of the measurement: how many sampled calls fell in it, how many each way got
    right, and on how many only one way was right."""

    band: str
    calls: int
    knn_right: int
    llm_right: int
    #: Calls only the LLM got right, and only kNN (a measurement kept before these were
    #: counted has 0 and 0: the LLM decides nowhere until it is made again).
    llm_only: int = 0
    knn_only: int = 0

    @property
    def trusted(self) -> bool:
        # More right, and not by luck: with 16 calls a 1-call margin is noise. A tie keeps kNN,
        # which is cheaper and deterministic.
        return self.llm_only > self.knn_only and self.luck() < SIGNIFICANCE

    def luck(self) -> float:
        """The chance of the LLM winning at least ``llm_only`` of the disagreements if each
        were a coin toss (one-sided exact sign test)."""
        n = self.llm_only + self.knn_only
        if n == 0:
            return 1.0
        return sum(math.comb(n, k) for k in range(self.llm_only, n + 1)) / 2**n

    def line(self) -> str:
        verdict = "LLM decides" if self.trusted else "kNN decides"
        return (
            f"{self.band} kNN confidence: {verdict} (kNN {self.knn_right}/{self.calls}, "
            f"kNN + LLM {self.llm_right}/{self.calls}; only the LLM right on {self.llm_only}, "
            f"only kNN on {self.knn_only})"
        )


@dataclass(frozen=True)
class LLMTrust:
    """The measured comparison, and the rule that follows from it."""

    model: str
    endpoint: str
    #: Of the labeled calls it was measured on (changes when a label or a call changes).
    labels_fingerprint: str
    bands: tuple[BandResult, ...]
    seconds: float
    sample: tuple[str, ...] = field(default=())
    #: Why nothing was measured (:meth:`unmeasured`); empty for a measurement.
    note: str = ""

    @classmethod
    def unmeasured(cls, model: str, endpoint: str, note: str) -> LLMTrust:
        """No measurement (yet): the LLM decides nothing, and every answer says ``note``."""
        return cls(model, endpoint, "", (), 0.0, note=note)

    def key(self) -> tuple[str, str, str]:
        return (self.model, self.endpoint, self.labels_fingerprint)

    def band(self, confidence: float) -> BandResult | None:
        name = band_of(confidence)
        return next((b for b in self.bands if b.band == name), None)

    def decides(self, confidence: float) -> tuple[bool, str]:
        """Whether the LLM decides a call of this kNN confidence, and the reason in words."""
        if self.note:
            return False, self.note
        found = self.band(confidence)
        if found is None or found.calls == 0:
            return False, f"{band_of(confidence)} kNN confidence: not measured, kNN decides"
        return found.trusted, found.line()

    @property
    def knn_right(self) -> int:
        return sum(b.knn_right for b in self.bands)

    @property
    def llm_right(self) -> int:
        return sum(b.llm_right for b in self.bands)

    @property
    def calls(self) -> int:
        return sum(b.calls for b in self.bands)

    @property
    def with_rule_right(self) -> int:
        """Right answers on the sample with the rule: each band by the way it trusts."""
        return sum(b.llm_right if b.trusted else b.knn_right for b in self.bands)

    def summary(self) -> str:
        """One line for ``status`` and the CLI."""
        trusted = [b.band for b in self.bands if b.trusted]
        where = f"decides in the {', '.join(trusted)} band(s)" if trusted else "decides nothing"
        return (
            f"LLM {self.model} {where}: measured on {self.calls} labeled calls, kNN "
            f"{self.knn_right}/{self.calls}, kNN + LLM {self.llm_right}/{self.calls}, with the "
            f"rule {self.with_rule_right}/{self.calls} ({self.seconds:.0f} s)"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LLMTrust:
        bands = tuple(BandResult(**b) for b in data["bands"])
        return cls(
            model=data["model"],
            endpoint=data["endpoint"],
            labels_fingerprint=data["labels_fingerprint"],
            bands=bands,
            seconds=float(data["seconds"]),
            sample=tuple(data.get("sample", ())),
            note=str(data.get("note", "")),
        )


def choose_sample(
    labeled: Sequence[tuple[str, Sequence[str]]], size: int, seed: int = 0
) -> list[str]:
    """Up to ``size`` labeled call ids, taken from each label in turn (seeded), so a rare
    label is in the sample as well as the common ones."""
    by_label: dict[str, list[str]] = {}
    for call_id, labels in sorted(labeled):
        if labels:
            by_label.setdefault(labels[0], []).append(call_id)
    rng = random.Random(seed)
    for ids in by_label.values():
        rng.shuffle(ids)
    chosen: list[str] = []
    while len(chosen) < size and any(by_label.values()):
        for label in sorted(by_label):
            if by_label[label] and len(chosen) < size:
                chosen.append(by_label[label].pop())
    return chosen


def right(answer: Classification, truth: Sequence[str]) -> bool:
    """An answer is right when its label is one of the call's labels."""
    return answer.label in truth


def compare(
    knn: Sequence[Classification],
    with_llm: Sequence[Classification],
    truths: Sequence[Sequence[str]],
) -> tuple[BandResult, ...]:
    """Per band of kNN confidence: the calls, and the right answers of each way."""
    counts = {name: [0, 0, 0, 0, 0] for name, _, _ in BANDS}
    for alone, helped, truth in zip(knn, with_llm, truths, strict=True):
        row = counts[band_of(alone.confidence)]
        knn_ok, llm_ok = right(alone, truth), right(helped, truth)
        row[0] += 1
        row[1] += knn_ok
        row[2] += llm_ok
        row[3] += llm_ok and not knn_ok
        row[4] += knn_ok and not llm_ok
    return tuple(BandResult(name, *counts[name]) for name, _, _ in BANDS)
