"""The rule book's results, written and read for many calls at once, as one call at a time
would have them."""

from __future__ import annotations

from pathlib import Path

from retrieval.inspection import Evidence, RuleResult, parse_rule
from retrieval.inspection.book import RuleBook


def test_results_of_many_calls_in_one_write(tmp_path: Path) -> None:
    book = RuleBook(tmp_path / "inspection.sqlite")
    book.save([parse_rule({"name": n, "when": {"said": {"any": ["x"]}}}) for n in "ab"], "t")
    said = (Evidence(0, "agent", "x", 0.0, 1.0, "said “x”"),)
    book.store("c0", [(RuleResult("a", True, said), 1)])  # matched before: not new
    new = book.store_many([
        ("c0", [(RuleResult("a", True, said), 1), (RuleResult("b", False), 1)]),
        ("c1", [(RuleResult("a", False), 1), (RuleResult("b", True, said), 1)]),
    ])  # fmt: skip
    assert new == {"c1": ["b"]}
    assert book.checked_many(["c0", "c1", "c9"]) == {"c0": {"a": 1, "b": 1}, "c1": {"a": 1, "b": 1}}
    assert book.checked_many(["c0"])["c0"] == book.checked("c0")
    assert book.matched_many(["c0", "c1", "c9"]) == {"c0": ["a"], "c1": ["b"]}
    (a, _, _), (b, _, _) = book.results("c1")
    assert not a.matched and a.evidence == () and b.evidence == said
    book.close()
