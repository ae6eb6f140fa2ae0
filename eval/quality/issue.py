"""What a label-quality run says about one labeled row."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.relabel import LabelChange

#: Reasons a row can carry, in the order they are listed.
REASONS = (
    "unreadable",  # the row could not be read or indexed: no score
    "other_label_confident",  # another label clears its per-label confidence threshold
    "unsupported_label",  # one of a multi-label call's labels looks like a call without it
    "low_self_confidence",  # the given label is below its own label's average confidence
    "near_duplicate_conflict",  # an almost identical call carries different labels
    "outlier",  # far from every other example of its own label
    "singleton_label",  # the only example of its label: nothing to compare it with
    "small_label",  # too few examples of its label to learn or check it
)


@dataclass
class LabelIssue:
    """One input row: its given labels, what the out-of-sample evidence suggests, and why.

    ``given_label`` is the primary label, ``given_labels`` all of them (a multi-label call is
    judged by its set). The suggestion is a structured change, ``add`` / ``remove`` (both: a
    replace); ``suggested_label`` is the label the evidence prefers. ``score`` is in [0, 1],
    higher = more likely mislabeled; ``flagged`` is the run's decision ("likely mislabeled").
    ``llm_*`` are filled only when an LLM adjudicated the row."""

    row: int
    call_id: str
    given_label: str
    suggested_label: str
    score: float
    reasons: list[str] = field(default_factory=list)
    flagged: bool = False
    self_confidence: float | None = None
    #: Near-duplicate call ids with other labels (for the reason text and the report).
    conflicts: list[str] = field(default_factory=list)
    text: str = ""
    llm_verdict: str | None = None  # "keep" or "relabel"
    llm_label: str | None = None
    llm_reason: str | None = None
    #: Every given label, primary first (empty: just ``given_label``).
    given_labels: list[str] = field(default_factory=list)
    #: The suggested change: labels to add and to remove (both empty: keep the labels).
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """The given labels, primary first."""
        return list(self.given_labels) or ([self.given_label] if self.given_label else [])

    @property
    def change(self) -> LabelChange:
        """The suggestion as a change (``str()`` of it: ``replace refund with delivery``)."""
        return LabelChange(tuple(self.add), tuple(self.remove))

    @property
    def suggested_labels(self) -> list[str]:
        """The labels the call would have with the suggestion accepted."""
        return self.change.apply(self.labels)

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
