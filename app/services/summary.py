"""The summary of one stored call by the LLM: why the customer called, how it ended, what was
promised, each point citing turn, time and speaker (``retrieval.llm.summary``).

The one use case behind ``callscope summary``, ``GET /api/calls/{id}/summary`` and the Calls
tab's Summarize button. The transcript is the ledger's; the request goes through the runtime's
one LLM client, so it is cached by prompt hash (asking again for an unchanged call costs
nothing), retried, and PII-redacted when the endpoint is external. Without an LLM, or for a call
with no words yet, the result says it was skipped and why: that is an answer, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.errors import NoSuchCall
from app.core.models import FollowUp, SummaryPoint
from app.runtime import Runtime
from retrieval.llm.summary import MAX_OUTPUT_TOKENS as SUMMARY_OUTPUT_TOKENS
from retrieval.llm.summary import CallSummary, summarize_turns
from retrieval.llm.turn_lines import omission_note

NO_LLM = "no LLM is configured: set LLM__BASE_URL and LLM__MODEL (any OpenAI-compatible endpoint)"


@dataclass(frozen=True)
class SummaryResult:
    call_id: str
    #: None when the summary was skipped; ``skipped`` then says why.
    summary: CallSummary | None = None
    skipped: str | None = None
    model: str | None = None
    #: Which part of a long call the model was not shown, for the reader; None when all was.
    note: str | None = None


def summarize_call(runtime: Runtime, call_id: str) -> SummaryResult:
    """Summarize a stored call with the LLM (from the response cache when asked before).

    Raises ``NoSuchCall`` for an unknown id and ``LLMError`` when the endpoint fails or gives
    no usable answer after a corrective retry.
    """
    row = runtime.ledger.get(call_id)
    if row is None:
        raise NoSuchCall(f"no call {call_id!r}")
    turns = row.transcript.turns if row.transcript else []
    if not any(turn.text.strip() for turn in turns):
        why = f"call {call_id!r} has no words to summarize (state: {row.state})"
        return SummaryResult(call_id, skipped=why)
    llm = runtime.llm
    if llm is None:
        return SummaryResult(call_id, skipped=NO_LLM)
    settings = runtime.settings
    summary = summarize_turns(
        llm,
        turns,
        budget_tokens=settings.llm.prompt_budget(SUMMARY_OUTPUT_TOKENS),
        encoding_name=settings.tokenizer.encoding,
    )
    note = omission_note(summary.window, turns)
    return SummaryResult(call_id, summary, model=llm.model, note=note)


def summary_dict(result: SummaryResult) -> dict[str, Any]:
    """The result as plain JSON-able data (``--json`` and the API)."""
    s = result.summary
    return {
        "call_id": result.call_id,
        "status": "skipped" if s is None else "summarized",
        "skipped_reason": result.skipped,
        "model": result.model,
        "reason": _point(s.reason) if s else None,
        "outcome": _point(s.outcome) if s else None,
        "follow_ups": [_point(f) for f in s.follow_ups] if s else [],
        "omitted_turns": list(s.window.omitted) if s and s.window.omitted else None,
        "shortened_turns": list(s.window.shortened) if s else [],
        "note": result.note,
        "flags": list(s.flags) if s else [],
        "cached": s.cached if s else False,
        "prompt_hash": s.prompt_hash if s else None,
        "redactions": dict(s.redactions) if s else {},
    }


def _point(point: SummaryPoint) -> dict[str, Any]:
    out: dict[str, Any] = {
        "text": point.text,
        "citations": [
            {"turn": c.turn, "start": c.start, "end": c.end, "speaker": c.speaker, "text": c.text}
            for c in point.citations
        ],
        "invalid_citations": list(point.invalid),
    }
    if isinstance(point, FollowUp):
        out.update(by=point.by, due=point.due)
    return out
