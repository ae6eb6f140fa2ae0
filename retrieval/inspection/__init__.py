"""Quality inspection (质检): rules a supervisor writes (``rules``), checked on a call's turns,
metrics and labels (``evaluate``), and the starter pack (``starter``)."""

from retrieval.inspection.evaluate import (
    CallView,
    Evidence,
    RuleResult,
    TurnView,
    evaluate,
)
from retrieval.inspection.page import TurnVectors, evaluate_page
from retrieval.inspection.rules import SEVERITIES, Rule, has_meaning, parse_rule, parse_rules

__all__ = [
    "SEVERITIES",
    "CallView",
    "Evidence",
    "Rule",
    "RuleResult",
    "TurnVectors",
    "TurnView",
    "evaluate",
    "evaluate_page",
    "has_meaning",
    "parse_rule",
    "parse_rules",
]
