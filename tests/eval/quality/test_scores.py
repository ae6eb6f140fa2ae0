"""The scoring arithmetic on hand-made vectors and probabilities (no models needed)."""

from __future__ import annotations

import numpy as np

import eval.quality.scores as scores
from eval.quality.scores import (
    Example,
    near_duplicates,
    nearest_same_label,
    outliers,
    score_examples,
)


def _examples(labels: list[str]) -> list[Example]:
    return [Example(i, f"c{i}", lab, np.ones(2, np.float32), None) for i, lab in enumerate(labels)]


def test_near_duplicates_are_symmetric_and_exclude_self() -> None:
    dense = np.array([[1, 0], [0.999, 0.04], [0, 1], [0.7, 0.7]], dtype=np.float32)
    assert near_duplicates(dense, 0.99) == [[1], [0], [], []]


def test_nearest_same_label_in_blocks_matches_one_block(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(300, 8)).astype(np.float32)
    labels = ["a"] * 200 + ["b"] * 99 + ["alone"]
    whole = nearest_same_label(dense, labels)
    monkeypatch.setattr(scores, "_BLOCK", 64)
    assert np.allclose(whole, nearest_same_label(dense, labels))
    assert whole[-1] == -1.0  # nothing of its own label to be near


def test_outliers_use_each_labels_own_fence() -> None:
    nearest = np.array([0.9, 0.91, 0.92, 0.9, 0.3, 0.5, 0.52, 0.5, 0.51, 0.49])
    labels = ["a"] * 5 + ["b"] * 5
    # 0.3 is far below label a's other calls; label b's 0.49-0.52 are all ordinary for b.
    assert outliers(nearest, labels).tolist() == [False] * 4 + [True] + [False] * 5


def test_flags_follow_per_label_thresholds_not_one_cut_off() -> None:
    labels = ["a", "b"]
    ex = _examples(["a", "a", "a", "b", "b", "b"])
    probs = np.array(
        [[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.45, 0.55], [0.4, 0.6], [0.5, 0.5]]
    )  # label b is never confident: its calls average 0.55, so 0.55 still counts as b
    issues = score_examples(ex, labels, probs, [[] for _ in ex], np.zeros(6, bool))
    assert [i.flagged for i in issues] == [False, False, True, False, False, False]
    assert issues[2].suggested_label == "b" and "other_label_confident" in issues[2].reasons
    assert [i.score for i in issues] == [0.1, 0.2, 0.8, 0.45, 0.4, 0.5]


def test_a_near_duplicate_with_another_label_flags_the_one_the_evidence_doubts() -> None:
    labels = ["a", "b"]
    ex = _examples(["a", "b"])
    probs = np.array([[0.7, 0.3], [0.6, 0.4]])
    issues = score_examples(ex, labels, probs, [[1], [0]], np.zeros(2, bool))
    assert all("near_duplicate_conflict" in i.reasons for i in issues)
    assert issues[0].conflicts == ["c1"] and not issues[0].flagged
    assert issues[1].flagged and issues[1].suggested_label == "a"


def test_a_stray_label_with_one_example_never_claims_other_calls() -> None:
    """One row labelled ``refund_typo``: its own (held-out) probability is ~0, so its
    threshold is ~0 and, unguarded, every call would 'confidently' be a refund_typo."""
    labels = ["a", "b", "refund_typo"]
    ex = _examples(["a", "a", "a", "b", "b", "b", "refund_typo"])
    probs = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.7, 0.2, 0.1],
            [0.75, 0.15, 0.1],
            [0.1, 0.8, 0.1],
            [0.2, 0.7, 0.1],
            [0.15, 0.75, 0.1],
            [0.6, 0.38, 0.02],
        ]
    )
    unguarded = score_examples(ex, labels, probs, [[] for _ in ex], np.zeros(7, bool))
    # The defect: every call below its own label's mean goes to the typo.
    assert [i.suggested_label for i in unguarded if i.flagged][:2] == ["refund_typo"] * 2
    issues = score_examples(ex, labels, probs, [[] for _ in ex], np.zeros(7, bool), 2)
    assert [i.flagged for i in issues[:6]] == [False] * 6
    assert all(i.suggested_label != "refund_typo" for i in issues[:6])
    assert issues[6].flagged and issues[6].suggested_label == "a"
    assert "small_label" in issues[6].reasons


def test_few_examples_of_every_label_are_still_checked_as_a_whole() -> None:
    labels = ["a", "b"]
    ex = _examples(["a", "a", "a", "b", "b", "b"])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.45, 0.55], [0.4, 0.6], [0.5, 0.5]])
    issues = score_examples(ex, labels, probs, [[] for _ in ex], np.zeros(6, bool), 5)
    assert [i.flagged for i in issues] == [False, False, True, False, False, False]
    assert not any("small_label" in i.reasons for i in issues)


def test_a_multi_label_call_is_judged_by_its_set() -> None:
    """Calls labeled a;b. Before, only the primary label a was judged: a call whose evidence
    says b was "a → b" (a label it has), and accepting that dropped a. Now: b is one of its
    labels (no suspect); a label nothing supports is to be removed; a confident label outside
    the set is added, in place of an unsupported one (a replace)."""
    labels = ["a", "b", "c"]
    single = ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    ex = _examples(single) + [
        Example(9 + k, f"m{k}", "a", np.ones(2, np.float32), None, labels=("a", "b"))
        for k in range(1, 5)
    ]
    probs = np.array(
        [[0.8, 0.1, 0.1]] * 3
        + [[0.2, 0.6, 0.2]] * 3
        + [[0.175, 0.175, 0.65]] * 3
        + [
            [0.3, 0.65, 0.05],  # m1: b is confident and one of its labels, a has evidence
            [0.02, 0.9, 0.08],  # m2: nothing supports a
            [0.2, 0.01, 0.79],  # m3: c is confident, nothing supports b
            [0.19, 0.14, 0.67],  # m4: c is confident, a and b have evidence
        ]
    )
    issues = score_examples(ex, labels, probs, [[] for _ in ex], np.zeros(len(ex), bool))
    m1, m2, m3, m4 = issues[9:]
    assert not m1.flagged and not m1.change.kind and m1.labels == ["a", "b"]
    assert m2.flagged and (m2.add, m2.remove) == ([], ["a"]) and str(m2.change) == "remove a"
    assert m2.suggested_labels == ["b"] and m2.reasons == ["unsupported_label"]
    assert m3.flagged and str(m3.change) == "replace b with c"
    assert m3.suggested_labels == ["a", "c"] and "other_label_confident" in m3.reasons
    assert m4.flagged and str(m4.change) == "add c" and m4.suggested_labels == ["a", "b", "c"]
    # A label to remove ranks among the suspects, not below every clean call.
    assert m2.score > 0.5 > m1.score
    # One-label calls are scored exactly as before: the suggestion replaces the label.
    assert [i.flagged for i in issues[:9]] == [False] * 9
    assert all(i.labels == [i.given_label] and not i.change.kind for i in issues[:9])


def test_a_flagged_one_label_call_suggests_a_replace() -> None:
    ex = _examples(["a", "a", "a", "b", "b", "b"])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.45, 0.55], [0.4, 0.6], [0.5, 0.5]])
    issue = score_examples(ex, ["a", "b"], probs, [[] for _ in ex], np.zeros(6, bool))[2]
    assert issue.flagged and (issue.add, issue.remove) == (["b"], ["a"])
    assert str(issue.change) == "replace a with b" and issue.suggested_labels == ["b"]
