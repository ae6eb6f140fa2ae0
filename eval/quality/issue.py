"""What a label-quality run says about one labeled row."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Reasons a row can carry, in the order they are listed.
REASONS = (
    "unreadable",  # the row could not be read or indexed: no score
    "other_label_confident",  # another label clears its per-label confidence threshold
    "low_self_confidence",  # the given label is below its own label's average confidence
    "near_duplicate_conflict",  # an almost identical call carries a different label
    "outlier",  # far from every other example of its own label
    "singleton_label",  # the only example of its label: nothing to compare it with
)


@dataclass
class LabelIssue:
    """One input row: its given label, what the out-of-sample evidence suggests, and why.

    ``score`` is in [0, 1], higher = more likely mislabeled; ``flagged`` is the run's decision
    ("likely mislabeled"). ``llm_*`` are filled only when an LLM adjudicated the row."""

    row: int
    call_id: str
    given_label: str
    suggested_label: str
    score: float
    reasons: list[str] = field(default_factory=list)
    flagged: bool = False
    self_confidence: float | None = None
    #: Near-duplicate call ids with another label (for the reason text and the report).
    conflicts: list[str] = field(default_factory=list)
    text: str = ""
    llm_verdict: str | None = None  # "keep" or "relabel"
    llm_label: str | None = None
    llm_reason: str | None = None

    @property
    def scored(self) -> bool:
        """False for a row that could not be read or indexed (it has no score)."""
        return not any(r.startswith("unreadable") for r in self.reasons)

    @property
    def reason_text(self) -> str:
        parts = []
        for reason in self.reasons:
            if reason == "near_duplicate_conflict" and self.conflicts:
                parts.append(f"{reason} ({', '.join(self.conflicts[:3])})")
            else:
                parts.append(reason)
        return "; ".join(parts)
